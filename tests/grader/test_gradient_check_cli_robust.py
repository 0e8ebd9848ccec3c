"""The real command line, in subprocesses, on student code that misbehaves and on misuse.

Every case runs ``python -m gradient_check`` (or the console-script entry point) in a fresh
process from a folder of its own, as a student or a grader would: no false pass (exit 0 only when
everything passed), no crash (ERROR rows, the other layers still checked, --json still written),
usage errors in one line with exit status 2 before anything is checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests._product import subprocess_env


AFFINE_OK = '''
def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)
'''

AFFINE_NO_BIAS = '''
def affine_forward(x, w, b):  # BUG: no bias, and a backward consistent with it
    return x.reshape(x.shape[0], -1) @ w, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, 0 * b
'''

RELU_OK = '''
def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * (cache > 0)
'''


def student(folder: Path, name: str, *parts: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("import numpy as np\n" + "\n".join(textwrap.dedent(p) for p in parts), encoding="utf-8")
    return path


def cli(cwd: Path, *args: str, entry=("-m", "gradient_check"), timeout=240):
    env = subprocess_env()
    proc = subprocess.run([sys.executable, *entry, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    return proc


def report(path: Path) -> dict:
    assert path.exists(), "no --json report written"
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["summary"]["checks"] == len(doc["results"])
    return doc


def statuses(doc, layer_prefix: str) -> set:
    return {r["status"] for r in doc["results"] if r["layer"].startswith(layer_prefix)}


def explain(proc) -> str:
    return f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-3000:]}"


# ---------------------------------------------------------------------------------------------
# No false pass, no crash

RELU_EXITS = '''
def relu_forward(x):
    exit()


def relu_backward(dout, cache):
    return dout
'''

RELU_RAGGED = '''
def relu_forward(x):
    return [list(r[r > 0]) for r in x.reshape(x.shape[0], -1)], x


def relu_backward(dout, cache):
    return dout * (cache > 0)
'''

RELU_STRINGS = '''
def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return np.array([f"{v:.3f}" for v in (dout * (cache > 0)).ravel()]).reshape(dout.shape)
'''

RELU_LOOPS_FOREVER = '''
def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    while True:
        try:
            pass
        except BaseException:  # even a layer that swallows the first alarm is stopped
            pass
'''

RELU_SYSEXIT_IN_BACKWARD = '''
import sys


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    sys.exit(0)
'''


RELU_HARD_EXIT = '''
import os


def relu_forward(x):
    os._exit(0)


def relu_backward(dout, cache):
    return dout
'''


@pytest.mark.parametrize("relu,expected", [
    (RELU_EXITS, "forward called exit() / sys.exit(None)"),
    (RELU_HARD_EXIT, "forward called exit() / sys.exit(0)"),
    (RELU_SYSEXIT_IN_BACKWARD, "backward called exit() / sys.exit(0)"),
    (RELU_RAGGED, "forward output is not an array"),
    (RELU_STRINGS, "backward's dx must be a floating array"),
    (RELU_LOOPS_FOREVER, "did not finish within the time limit of 3 s"),
], ids=["exit-in-forward", "os-exit-in-forward", "sys-exit-in-backward", "ragged-list", "string-array", "endless-loop"])
def test_misbehaving_layer_is_an_error_row_and_the_others_are_still_checked(tmp_path, relu, expected):
    path = student(tmp_path, "mine.py", AFFINE_OK, relu)
    proc = cli(tmp_path, "--module", str(path), "--json", "out.json", "--no-progress", "--time-limit", "3")
    assert proc.returncode == 1, explain(proc)
    assert "Traceback" not in proc.stderr, explain(proc)
    doc = report(tmp_path / "out.json")
    assert "error" in statuses(doc, "relu_forward") and "fail" not in statuses(doc, "relu_forward"), explain(proc)
    assert statuses(doc, "affine_forward") == {"pass"}, explain(proc)
    assert any(expected in r["diagnosis"] for r in doc["results"] if r["status"] == "error"), explain(proc)
    assert proc.stdout.splitlines()[-1].startswith("FAILED")


def test_sys_exit_at_import_is_an_error_row_with_a_report(tmp_path):
    path = student(tmp_path, "mine.py", RELU_OK, "import sys\nsys.exit(0)\n")
    proc = cli(tmp_path, "--module", str(path), "--json", "out.json", "--no-progress")
    assert proc.returncode == 1, explain(proc)
    doc = report(tmp_path / "out.json")
    (row,) = doc["results"]
    assert row["layer"] == "(import)" and row["status"] == "error"
    assert "importing" in row["diagnosis"] and "sys.exit(0)" in row["diagnosis"]


def test_endless_loop_at_import_is_stopped_by_the_time_limit(tmp_path):
    path = student(tmp_path, "mine.py", RELU_OK, "while True:\n    pass\n")
    proc = cli(tmp_path, "--module", str(path), "--json", "out.json", "--no-progress", "--time-limit", "2")
    assert proc.returncode == 1, explain(proc)
    (row,) = report(tmp_path / "out.json")["results"]
    assert row["status"] == "error" and "time limit of 2 s" in row["diagnosis"]


def test_noisy_forward_of_a_deterministic_layer_fails(tmp_path):
    noisy = '''
    def affine_forward(x, w, b):
        out = x.reshape(x.shape[0], -1) @ w + b
        return out + 1e-9 * np.random.standard_normal(out.shape), (x, w, b)


    def affine_backward(dout, cache):
        x, w, b = cache
        return np.zeros_like(x), np.zeros_like(w), np.zeros_like(b)
    '''
    path = student(tmp_path, "mine.py", noisy)
    proc = cli(tmp_path, "--module", str(path), "--json", "out.json", "--no-progress")
    assert proc.returncode == 1, explain(proc)
    doc = report(tmp_path / "out.json")
    assert "fail" in statuses(doc, "affine_forward") and "not_checkable" not in statuses(doc, "affine_forward")
    assert "non-deterministic forward" in proc.stdout


def test_untouched_starter_reports_every_layer_not_implemented(tmp_path):
    proc = cli(tmp_path, "--starter", "mine.py", "--only", "affine_forward,relu,conv")
    assert proc.returncode == 0, explain(proc)
    text = (tmp_path / "mine.py").read_text(encoding="utf-8")
    for name in ("affine_forward", "affine_backward", "relu_forward", "relu_backward", "conv_forward_naive",
                 "conv_backward_naive"):
        assert f"def {name}(" in text
    assert "python -m gradient_check --module mine.py" in text and "raise NotImplementedError" in text
    assert "cache" in text and "shape (N, C, H, W)" in text  # the toolkit's docstrings: shapes, cache
    proc = cli(tmp_path, "--module", "mine.py", "--json", "out.json", "--no-progress")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, explain(proc)
    doc = report(tmp_path / "out.json")
    assert doc["results"] and all(r["status"] == "error" and "not implemented yet" in r["diagnosis"]
                                  for r in doc["results"]), explain(proc)
    assert {r["layer"] for r in doc["results"]} >= {"affine_forward", "relu_forward", "conv_forward_naive"}


def test_starter_with_one_layer_written_passes_it(tmp_path):
    proc = cli(tmp_path, "--starter", "mine.py", "--only", "relu")
    assert proc.returncode == 0, explain(proc)
    path = tmp_path / "mine.py"
    text = path.read_text(encoding="utf-8")
    written = text.replace("    raise NotImplementedError\n", "    return np.maximum(0, x), x\n", 1)
    path.write_text(written.replace("    raise NotImplementedError\n", "    return dout * (cache > 0)\n", 1))
    proc = cli(tmp_path, "--module", "mine.py", "--no-progress")
    assert proc.returncode == 0 and "relu_forward" in proc.stdout, explain(proc)


# ---------------------------------------------------------------------------------------------
# The references are always the toolkit's own

def test_student_file_named_layers_next_to_it_does_not_become_the_reference(tmp_path):
    student(tmp_path, "layers.py", AFFINE_NO_BIAS, RELU_OK)
    proc = cli(tmp_path, "--module", "layers.py", "--json", "out.json", "--no-progress")
    assert proc.returncode == 1, explain(proc)
    doc = report(tmp_path / "out.json")
    forward = [r for r in doc["results"] if r["layer"] == "affine_forward" and r["kind"] == "forward"]
    assert forward and forward[0]["status"] == "fail", explain(proc)
    assert statuses(doc, "relu_forward") == {"pass"}
    assert "note:" not in proc.stdout, explain(proc)  # a file named like the toolkit's changes no verdict


def test_module_replacing_the_toolkit_reference_at_import_is_still_compared_with_the_original(tmp_path):
    path = student(tmp_path, "mine.py", "import layers\n", AFFINE_NO_BIAS, "layers.affine_forward = affine_forward\n")
    proc = cli(tmp_path, "--module", str(path), "--json", "out.json", "--no-progress")
    assert proc.returncode == 1, explain(proc)
    doc = report(tmp_path / "out.json")
    forward = [r for r in doc["results"] if r["kind"] == "forward"]
    assert forward and forward[0]["status"] == "fail", explain(proc)
    assert "replaced the toolkit's layers.affine_forward" in proc.stdout and "never runs it" in proc.stdout


def test_console_entry_inside_a_folder_with_its_own_gradient_check(tmp_path):
    folder = tmp_path / "cs231n"
    student(folder, "gradient_check.py", "def rel_error(x, y):\n    return 0.0\n")
    student(folder, "layers.py", AFFINE_NO_BIAS, RELU_OK)
    # What pip's console-script launcher does: import the entry point with its own folder first on sys.path.
    launcher = tmp_path / "bin" / "cnnkit-check"
    launcher.parent.mkdir()
    launcher.write_text("import sys\nfrom _gradcheck.grader.cli import main\nsys.exit(main())\n")
    proc = cli(folder, "--module", "layers.py", "--json", "out.json", "--no-progress", entry=(str(launcher),))
    assert proc.returncode == 1, explain(proc)
    doc = report(folder / "out.json")
    assert any(r["kind"] == "forward" and r["status"] == "fail" for r in doc["results"]), explain(proc)
    assert "note:" not in proc.stdout, explain(proc)  # a file named like the toolkit's changes no verdict
    proc = cli(folder, "--module", "layers.py", "--no-progress", entry=("-m", "_gradcheck"))
    assert proc.returncode == 1 and "affine_forward" in proc.stdout, explain(proc)


def test_functions_imported_from_the_toolkit_are_not_graded_as_the_students(tmp_path):
    path = student(tmp_path, "mine.py", "from layers import affine_forward, affine_backward\n", RELU_OK)
    proc = cli(tmp_path, "--module", str(path), "--json", "out.json", "--no-progress")
    assert proc.returncode == 0, explain(proc)
    doc = report(tmp_path / "out.json")
    assert not statuses(doc, "affine_forward")
    assert any("toolkit's own, imported" in a for a in doc["not_present"])


# ---------------------------------------------------------------------------------------------
# --module accepts a file, a package folder or an importable name

def test_module_as_a_package_folder_and_as_an_import_name(tmp_path):
    student(tmp_path / "pkg", "my_layers/__init__.py", "from .dense import *\nfrom .relu import *\n")
    student(tmp_path / "pkg", "my_layers/dense.py", AFFINE_OK)
    student(tmp_path / "pkg", "my_layers/relu.py", RELU_OK)
    proc = cli(tmp_path / "pkg", "--module", "my_layers", "--no-progress")
    assert proc.returncode == 0 and "relu_forward" in proc.stdout and "affine_forward" in proc.stdout, explain(proc)
    proc = cli(tmp_path, "--module", "pkg/my_layers", "--no-progress")
    assert proc.returncode == 0, explain(proc)
    proc = cli(tmp_path / "pkg", "--module", "my_layers.dense", "--no-progress")
    assert proc.returncode == 0 and "affine_forward" in proc.stdout, explain(proc)


# ---------------------------------------------------------------------------------------------
# Usage errors: exit 2, one line, nothing checked

@pytest.mark.parametrize("args,message", [
    (["--json", "."], "--json '.' is a folder; give a file name"),
    (["--json", "no_such_dir/r.json"], "does not exist"),
    (["--plot", "a_file.txt"], "--plot 'a_file.txt' is an existing file; give a folder"),
    (["--seed", "-1"], "--seed must be an integer >= 0, got -1"),
    (["--seed", "x"], "argument --seed: invalid int value: 'x'"),
    (["--dtype", "float128"], "argument --dtype: invalid choice: 'float128'"),
    (["--time-limit", "-1"], "--time-limit must be a number of seconds >= 0"),
    (["--only", "no_such_layer"], "--only 'no_such_layer' matches no registered layer"),
    (["--module", "missing.py"], "--module: no such file 'missing.py'"),
    (["--module", "empty_dir"], "is a folder without __init__.py"),
    (["--module", "layers"], "--module 'layers' names the toolkit's own module"),
    (["--starter", "a_file.txt"], "--starter 'a_file.txt' already exists"),
    (["--starter", "new.py", "--module", "x.py"], "give one of them"),
    (["--starter", "new.py", "--only", "zzz"], "matches no layer"),
], ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_usage_errors_exit_two_with_one_line_before_any_check(tmp_path, args, message):
    (tmp_path / "a_file.txt").write_text("keep me")
    (tmp_path / "empty_dir").mkdir()
    proc = cli(tmp_path, *args, "--no-progress")
    assert proc.returncode == 2, explain(proc)
    assert proc.stdout == "", "a check ran before the usage error\n" + explain(proc)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradient_check: error: ") and message in lines[0], explain(proc)
    assert (tmp_path / "a_file.txt").read_text() == "keep me"
    assert not (tmp_path / "new.py").exists()


# ---------------------------------------------------------------------------------------------
# The guards themselves

def test_reference_guard_refuses_to_compare_a_layer_with_itself():
    import layers
    from _gradcheck.grader import student as stu

    toolkit = stu.Toolkit.load()

    def affine_forward(x, w, b):
        return x @ w + b, None

    with pytest.raises(stu.ReferenceCollision, match="with itself"):
        stu.assert_not_same(affine_forward, affine_forward, "affine_forward", toolkit)
    with pytest.raises(stu.ReferenceCollision, match="not from the toolkit's files"):
        stu.assert_not_same(affine_forward, layers.affine_forward, "affine_forward", toolkit)
    stu.assert_not_same(layers.affine_forward, affine_forward, "affine_forward", toolkit)  # the normal case


def test_a_shadow_imported_before_the_checker_is_replaced_by_the_toolkits_own(tmp_path):
    fake = tmp_path / "shadow" / "layers.py"
    student(fake.parent, "layers.py", "affine_forward = None\n")
    script = ("import sys; sys.path.insert(0, sys.argv[1]); import layers; assert layers.affine_forward is None; "
              "from _gradcheck.grader.cli import main; sys.exit(main(['--only', 'affine_forward', '--no-progress']))")
    proc = cli(tmp_path, str(fake.parent), entry=("-c", script))
    assert proc.returncode == 0, explain(proc)
    assert "had been imported before the checker; the toolkit's own" in proc.stdout


def test_float16_inputs_are_judged_by_the_float16_rule(tmp_path):
    path = student(tmp_path, "mine.py", AFFINE_OK, RELU_OK)
    proc = cli(tmp_path, "--module", str(path), "--dtype", "float16", "--json", "out.json", "--no-progress")
    assert proc.returncode == 0, explain(proc)
    doc = report(tmp_path / "out.json")
    assert doc["dtype"] == "float16" and doc["rules"]["float16"]["rtol"] == 1e-2
    path = student(tmp_path, "bad.py", AFFINE_NO_BIAS)
    proc = cli(tmp_path, "--module", str(path), "--dtype", "float16", "--no-progress")
    assert proc.returncode == 1 and "affine_forward" in proc.stdout, explain(proc)
