"""`python -m gradient_check`: exit codes, --module on good and bad student files, --json, --only, --plot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

from _gradcheck.grader.cli import JSON_SCHEMA, main  # noqa: E402

from tests._product import subprocess_env

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[1] / "data"
GOOD, BAD = str(DATA / "student_good.py"), str(DATA / "student_bad.py")


def run_main(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow  # a subprocess running the whole default suite: ~1-3 s, more on a loaded machine
def test_real_entry_point_runs_every_layer_and_exits_zero():
    env = subprocess_env()
    proc = subprocess.run([sys.executable, "-m", "gradient_check"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1].split() == ["layer", "input", "max", "rel", "err", "worst", "index", "status", "time"]
    for name in ("conv_forward_naive", "conv_forward_strides", "max_pool_forward_fast", "batchnorm_forward",
                 "softmax_loss", "dropout_forward", "conv_bn_relu_forward"):
        assert any(line.startswith(name) for line in lines), name
    assert lines[-1].startswith("OK: ") and " 0 failed, 0 errors" in lines[-1]


def test_help_describes_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for opt in ("--only", "--dtype", "--seed", "--mode", "--json", "--plot", "--module", "exit status"):
        assert opt in text


def test_only_filters_by_substring(capsys):
    code, out, _ = run_main(capsys, "--only", "pool_forward_fast")
    assert code == 0
    rows = [ln for ln in out.splitlines()[3:] if ln and not ln.startswith(("OK", "FAILED", "*", "warning"))]
    assert rows and all("pool_forward_fast" in ln for ln in rows)


def test_only_matching_nothing_is_a_usage_error(capsys):
    code, _, err = run_main(capsys, "--only", "no_such_layer")
    assert code == 2 and "matches no registered layer" in err


@pytest.mark.parametrize("dtype,mode", [("float32", "full"), ("float64", "directional"), ("float32", "auto")])
def test_dtype_and_mode_options(capsys, dtype, mode):
    code, out, _ = run_main(capsys, "--only", "conv_forward_fast", "--dtype", dtype, "--mode", mode, "--seed", "3")
    assert code == 0, out
    assert f"dtype {dtype}, mode {mode}, seed 3" in out.splitlines()[0]


def test_good_student_module_passes_and_compares_forward(capsys):
    code, out, _ = run_main(capsys, "--module", GOOD)
    assert code == 0, out
    assert "(forward)" in out and "conv_forward_naive" in out and "max_pool_forward_naive" in out


def test_bad_student_module_fails_with_diagnoses(capsys, tmp_path):
    report = tmp_path / "grades.json"
    code, out, _ = run_main(capsys, "--module", BAD, "--json", str(report))
    assert code == 1
    # rows name the function to blame and the layout that showed it
    assert "FAIL: conv_backward_naive dw [x 3x2x4x4, w 4x2x3x3, stride 1, pad 1]: analytic = numeric x 1/3 (1/N" in out
    assert "FAIL: softmax_loss dx [x 4x5, y 4]: analytic = numeric x 4 (N = batch size)" in out
    assert "FAIL: relu_backward (purity) [x 3x4]: backward mutated dout" in out
    assert "FAIL: max_pool_backward_naive dx [x 3x2x4x6, pool 2x2, stride 2]: the right values at the wrong" in out
    assert "FAIL: affine_forward (forward) [x 3x2x4, w 8x5]: forward output differs" in out
    assert "not checkable: dropout_forward" in out
    assert "ERROR: batchnorm_forward (layer) [x 6x3, mode train]: forward returned None" in out
    assert out.splitlines()[-1].startswith("FAILED: ")

    doc = json.loads(report.read_text())
    assert doc["schema"] == JSON_SCHEMA and doc["module"].endswith("student_bad.py")
    assert {"dtype", "mode", "seed", "rules", "summary", "results", "argv"} <= doc.keys()
    s = doc["summary"]
    assert s["ok"] is False and s["checks"] == len(doc["results"])
    assert s["passed"] + s["failed"] + s["errors"] + s["not_checkable"] == s["checks"]
    for r in doc["results"]:
        assert {"layer", "input", "kind", "status", "max_rel_error", "worst_index", "diagnosis", "time_s"} <= r.keys()
        assert r["status"] in {"pass", "fail", "error", "not_checkable"}
        # layer checks, then the assignment's items (issue 20): update rules, kNN, state across calls, models
        assert r["kind"] in {"gradient", "forward", "purity", "determinism", "update", "knn", "state", "model", "item"}
    conv_w = next(r for r in doc["results"] if r["layer"] == "conv_forward_naive" and r["input"] == "w")
    assert conv_w["function"] == "conv_backward_naive" and conv_w["layout"] == "x 3x2x4x4, w 4x2x3x3, stride 1, pad 1"
    assert conv_w["status"] == "fail" and len(conv_w["worst_index"]) == 4 and "1/N" in conv_w["diagnosis"]
    assert conv_w["analytic"] == pytest.approx(conv_w["numeric"] / 3, rel=1e-6)


def test_json_of_the_toolkit_run_is_all_pass(capsys, tmp_path):
    report = tmp_path / "r.json"
    code, _, _ = run_main(capsys, "--only", "norm", "--json", str(report))
    doc = json.loads(report.read_text())
    assert code == 0 and doc["summary"]["ok"] is True and doc["module"] is None
    assert doc["summary"]["failed"] == 0 and all(r["status"] == "pass" for r in doc["results"])
    assert doc["summary"]["max_rel_error"] < 1e-6


def test_plot_writes_a_png_per_failing_check(capsys, tmp_path):
    code, _, _ = run_main(capsys, "--module", BAD, "--plot", str(tmp_path / "plots"))
    assert code == 1
    pngs = sorted(p.name for p in (tmp_path / "plots").glob("*.png"))
    assert any(p.startswith("conv_backward_naive__x_3x2x4x4") for p in pngs)
    assert any(p.startswith("max_pool_backward_naive__x_") for p in pngs)
    assert not any(p.startswith("dropout_forward") for p in pngs)  # not checkable is not a failure
    assert all((tmp_path / "plots" / p).read_bytes()[:4] == b"\x89PNG" for p in pngs)


def test_module_path_errors_are_usage_errors_and_import_errors_are_error_rows(capsys, tmp_path):
    code, _, err = run_main(capsys, "--module", str(tmp_path / "missing.py"))
    assert code == 2 and "no such file" in err
    empty = tmp_path / "unrelated.py"
    empty.write_text("def helper():\n    return 1\n")
    code, _, err = run_main(capsys, "--module", str(empty))
    assert code == 2 and "no function with a toolkit name" in err
    broken = tmp_path / "syntax_error.py"
    broken.write_text("def f(:\n")
    code, out, _ = run_main(capsys, "--module", str(broken))
    assert code == 1 and "ERROR: (import) (module): importing" in out and "SyntaxError" in out


def test_module_by_import_name(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(DATA))
    code, out, _ = run_main(capsys, "--module", "student_good", "--only", "affine")
    assert code == 0 and "affine_forward" in out


def test_bad_option_exits_two(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--dtype", "float128"])
    assert exc.value.code == 2


def test_progress_falls_back_to_a_plain_counter_without_tqdm(capsys, monkeypatch):
    from _gradcheck.grader import cli

    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `from tqdm import tqdm` raise ImportError
    assert list(cli._progress(["a", "b", "c"], True)) == ["a", "b", "c"]
    err = capsys.readouterr().err
    assert "[1/3]" in err and "[3/3]" in err
    assert list(cli._progress(["a"], False)) == ["a"] and capsys.readouterr().err == ""
