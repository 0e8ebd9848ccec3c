"""Hostile and dishonest student modules through the real command line: the grade stays the grader's.

Each file in tests/data/students/hostile says in its docstring what must happen:

``HOSTILE: exit=K [error=NAME] [fail=NAME] [pass=NAME] [message=REGEX]``
    the exit status; an ERROR / FAIL row for NAME's layer, passing rows for another layer; REGEX
    found in the printed report (case-insensitive).

Every run must also end within the per-layer time limit times the number of layers plus a margin,
with the JSON report written by the grader (never the module's) and no traceback. Then a check
that the grading process itself never imports the student's module.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests._product import subprocess_env

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = Path(__file__).resolve().parents[1] / "data" / "students" / "hostile"
TIME_LIMIT = 5          # seconds per layer given to --time-limit
MARGIN = 60             # seconds for interpreter starts, imports and the checks themselves on a loaded machine


def _expectation(path: Path) -> dict:
    import ast

    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    line = next(ln for ln in doc.splitlines() if ln.startswith("HOSTILE:"))
    out: dict = {}
    for tok in shlex.split(line[len("HOSTILE:"):]):
        key, _, value = tok.partition("=")
        out.setdefault(key, []).append(value)
    return out


CASES = sorted(HOSTILE.glob("*.py"))


def _family(name: str) -> set:
    names = {name}
    if "_backward" in name:
        names.add(re.sub(r"_backward(_alt)?", "_forward", name))
    if "_forward" in name:
        names.add(name.replace("_forward", "_backward"))
    return names


def _names(row, name) -> bool:
    text = " ".join(str(row.get(k) or "") for k in ("layer", "function", "input", "diagnosis"))
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", text) for n in _family(name))


def _cli(cwd: Path, *args: str, timeout: float = 300):
    env = subprocess_env()
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "gradient_check", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    return proc, time.monotonic() - t0


def _explain(proc) -> str:
    return f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-2000:]}"


@pytest.mark.slow
@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_hostile_module_gets_the_graders_verdict_in_bounded_time(tmp_path, path):
    want = _expectation(path)
    module = tmp_path / path.name
    module.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    proc, seconds = _cli(tmp_path, "--module", str(module), "--json", "report.json", "--no-progress",
                         "--time-limit", str(TIME_LIMIT))
    assert proc.returncode == int(want["exit"][0]), _explain(proc)
    assert "Traceback" not in proc.stderr, _explain(proc)
    doc = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    rows = doc["results"]
    layers = doc["summary"]["layers"]
    assert doc["summary"]["ok"] is False and doc["summary"]["checks"] == len(rows) > 0, _explain(proc)
    assert seconds <= TIME_LIMIT * max(layers, 1) + MARGIN, f"took {seconds:.1f} s\n" + _explain(proc)
    for name in want.get("error", []):
        assert any(r["status"] == "error" and _names(r, name) for r in rows), f"no ERROR row for {name}\n" + _explain(proc)
    for name in want.get("fail", []):
        assert any(r["status"] == "fail" and _names(r, name) for r in rows), f"no FAIL row for {name}\n" + _explain(proc)
    for name in want.get("pass", []):
        mine = [r for r in rows if _names(r, name)]
        assert mine and all(r["status"] == "pass" for r in mine), f"{name} not passing\n" + _explain(proc)
    for pattern in want.get("message", []):
        assert re.search(pattern, proc.stdout, re.IGNORECASE), f"no {pattern!r} in the report\n" + _explain(proc)
    assert proc.stdout.rstrip().splitlines()[-1].startswith("FAILED"), _explain(proc)


@pytest.mark.slow
def test_the_grading_process_never_imports_the_student_module(tmp_path):
    marker = tmp_path / "imported_by.txt"
    module = tmp_path / "mine.py"
    module.write_text(textwrap.dedent(f'''
        import os
        import numpy as np

        with open({str(marker)!r}, "a") as fh:
            fh.write(f"{{os.getpid()}}\\n")


        def relu_forward(x):
            return np.maximum(0, x), x


        def relu_backward(dout, cache):
            return dout * (cache > 0)
        '''), encoding="utf-8")
    script = textwrap.dedent(f'''
        import json, os, sys
        from _gradcheck.grader.cli import main
        code = main(["--module", {str(module)!r}, "--no-progress"])
        mine = [n for n, m in list(sys.modules.items()) if getattr(m, "__file__", None) == {str(module)!r}]
        print(json.dumps({{"pid": os.getpid(), "code": code, "mine": mine}}))
        ''')
    env = subprocess_env()
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, _explain(proc)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == 0 and result["mine"] == [], result
    pids = marker.read_text().split()
    assert pids and str(result["pid"]) not in pids, (pids, result["pid"])


@pytest.mark.slow
def test_borrowed_code_is_named_even_when_the_grader_runs_inside_the_toolkits_folder(tmp_path):
    """From the checkout itself the toolkit's files sit in the current folder: still not the student's."""
    module = tmp_path / "mine.py"
    module.write_text((HOSTILE / "borrows_layers_in_a_def.py").read_text(encoding="utf-8"), encoding="utf-8")
    proc, _ = _cli(ROOT, "--module", str(module), "--json", str(tmp_path / "report.json"), "--no-progress")
    assert proc.returncode == 1, _explain(proc)
    rows = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["results"]
    assert rows and all(r["status"] == "error" for r in rows), _explain(proc)
    assert "toolkit's own implementation layers.affine_forward" in proc.stdout, _explain(proc)
