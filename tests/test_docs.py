"""What README.md shows works: its Python blocks run, and its sample outputs are what the code prints."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests._product import SOURCE_ROOT, subprocess_env

README = SOURCE_ROOT / "README.md"


def _env():
    return subprocess_env(MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1")


def test_readme_python_blocks_run_in_order(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```\n", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 3, "README lost its Python examples"
    script = "\n".join(blocks) + "\nassert not bool(check) and check['w'].status == 'FAIL'\n"
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=_env(), capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert list(tmp_path.iterdir()) == [], "README's examples left files behind"


def test_readme_links_point_at_files_that_exist():
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#]+)\)", text)
    assert targets
    missing = [t for t in targets if not (SOURCE_ROOT / t).exists()]
    assert not missing, f"README links to files that do not exist: {missing}"


@pytest.mark.slow
def test_sample_outputs_in_the_docs_are_current(tmp_path):
    proc = subprocess.run([sys.executable, str(SOURCE_ROOT / "docs" / "samples.py"), "--check"], cwd=tmp_path,
                          env=_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:] + "\n(run `python docs/samples.py` to refresh them)"
