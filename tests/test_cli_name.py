"""The checker's usage and error lines name the command the user typed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests._product import subprocess_env


def _run(tmp_path, entry, *args):
    env = subprocess_env()
    return subprocess.run([sys.executable, *entry, *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)


def _console_script(tmp_path):
    """What pip's launcher for the cnnkit-check entry point does, under the same file name."""
    launcher = tmp_path / "bin" / "cnnkit-check"
    launcher.parent.mkdir(exist_ok=True)
    launcher.write_text("import sys\nfrom _gradcheck.grader.cli import main\nsys.exit(main())\n")
    return (str(launcher),)


@pytest.mark.parametrize("how", ["console", "module"])
def test_help_and_errors_name_the_command_that_was_typed(tmp_path, how):
    entry, name = {"console": (_console_script(tmp_path), "cnnkit-check"),
                   "module": (("-m", "gradient_check"), "python -m gradient_check")}[how]
    helped = _run(tmp_path, entry, "--help")
    assert helped.returncode == 0 and helped.stdout.startswith(f"usage: {name} "), helped.stdout[:200]
    assert f"  {name} --module my_layers.py" in helped.stdout
    bad = _run(tmp_path, entry, "--dtype", "int8")
    assert bad.returncode == 2 and bad.stderr.startswith(f"{name.split()[-1]}: error: "), bad.stderr


def test_starter_tells_how_to_check_it_with_the_same_command(tmp_path):
    proc = _run(tmp_path, _console_script(tmp_path), "--starter", "mine.py", "--only", "relu")
    assert proc.returncode == 0, proc.stderr
    assert "check it with: cnnkit-check --module mine.py" in proc.stdout


def test_no_timing_gives_the_same_output_twice(tmp_path):
    runs = [_run(tmp_path, ("-m", "gradient_check"), "--only", "relu_forward", "--no-progress", "--no-timing")
            for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    assert runs[0].stdout == runs[1].stdout
    header = runs[0].stdout.splitlines()[1]
    assert header.split() == ["layer", "input", "max", "rel", "err", "worst", "index", "status"]
    assert not runs[0].stdout.rstrip().endswith(" s")
