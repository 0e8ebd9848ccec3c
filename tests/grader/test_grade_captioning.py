"""CaptioningRNN graded through the real command line (``--module``), for cell_type 'rnn' and 'lstm'.

Each student file under tests/data/students/assignment/captioning runs once, in a subprocess from a
temporary folder (two at a time). The expectations are written here, per file: which rows pass,
which fail, and what the diagnosis of the first failing loss row says. Marked ``slow`` like the
other CLI grading tests.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import pytest

from tests._product import subprocess_env

STUDENTS = Path(__file__).resolve().parents[1] / "data" / "students" / "assignment" / "captioning"
TIMEOUT_S = int(os.environ.get("CORPUS_TIMEOUT", "300"))
CELLS = ("rnn", "lstm")
GRADS = ("dW_embed", "dW_proj", "db_proj", "dWx", "dWh", "db", "dW_vocab", "db_vocab")
FILES = ("correct_course_way", "mask_ignored", "captions_not_shifted", "h0_not_projected",
         "own_softmax_ignores_mask", "delegates_to_toolkit", "starter_not_implemented", "package",
         "package_bptt_bug", "sample_feeds_start", "returns_junk")


@lru_cache(maxsize=None)
def _runs():
    with ThreadPoolExecutor(2) as pool:
        return dict(zip(FILES, pool.map(_run, FILES)))


def _run(name):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        env = subprocess_env()
        folder = STUDENTS / name   # a course-shaped folder runs from itself, as a student runs it
        module = "cs231n" if folder.is_dir() else str(STUDENTS / f"{name}.py")
        argv = [sys.executable, "-m", "gradient_check", "--module", module, "--json", str(out), "--no-progress"]
        proc = subprocess.run(argv, cwd=folder if folder.is_dir() else tmp, env=env, capture_output=True,
                              text=True, timeout=TIMEOUT_S)
        doc = json.loads(out.read_text()) if out.exists() else None
    return {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "json": doc}


def _model_rows(name):
    run = _runs()[name]
    explain = f"\n--- stdout\n{run['stdout']}\n--- stderr\n{run['stderr'][-3000:]}"
    assert run["json"] is not None and "Traceback" not in run["stderr"], explain
    rows = {r["input"]: r for r in run["json"]["results"] if r["layer"] == "CaptioningRNN"}
    return run, rows, explain


def _expected_labels():
    return {f"{c}: {what}" for c in CELLS for what in ("(params)", "loss", *GRADS, "sample")}


@pytest.mark.slow
def test_correct_model_passes_every_row_for_both_cells_on_the_toolkits_layers():
    run, rows, explain = _model_rows("correct_course_way")
    assert run["rc"] == 0, explain
    assert set(rows) == _expected_labels(), explain
    assert all(r["status"] == "pass" for r in rows.values()), explain
    assert all(r["max_rel_error"] < 1e-8 for k, r in rows.items() if "loss" in k or ": d" in k), explain
    assert "CaptioningRNN is graded on the toolkit's layers" in run["stdout"], explain


@pytest.mark.slow
@pytest.mark.parametrize("name, diagnosis", [
    ("mask_ignored", r"<NULL> padding is scored.*mask"),
    ("captions_not_shifted", r"not shifted.*captions\[:, :-1\].*captions\[:, 1:\]"),
    ("h0_not_projected", r"projected image features are not the initial hidden state"),
])
def test_loss_bug_fails_loss_and_grads_with_its_diagnosis(name, diagnosis):
    run, rows, explain = _model_rows(name)
    assert run["rc"] == 1, explain
    assert set(rows) == _expected_labels(), explain
    for cell in CELLS:
        assert rows[f"{cell}: (params)"]["status"] == "pass", explain
        loss = rows[f"{cell}: loss"]
        assert loss["status"] == "fail" and re.search(diagnosis, loss["diagnosis"]), explain
        for g in GRADS:
            assert rows[f"{cell}: {g}"]["status"] == "fail", f"{cell}: {g}" + explain


@pytest.mark.slow
def test_gradient_consistent_with_a_wrong_loss_is_told_apart_from_one_that_is_not():
    _, rows, explain = _model_rows("h0_not_projected")
    for cell in CELLS:
        # h0 = 0 makes W_proj irrelevant to the loss, yet the file back-propagates into it.
        assert "not the gradient of the model's own loss" in rows[f"{cell}: dW_proj"]["diagnosis"], explain
        assert "matches the numeric gradient of the model's own loss" in rows[f"{cell}: dWh"]["diagnosis"], explain
        assert "starts from h0 = 0" in rows[f"{cell}: sample"]["diagnosis"], explain
    _, rows, explain = _model_rows("mask_ignored")
    for cell in CELLS:
        assert "matches the numeric gradient of the model's own loss" in rows[f"{cell}: dWx"]["diagnosis"], explain


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mask_ignored", "captions_not_shifted"])
def test_sample_is_graded_on_its_own(name):
    _, rows, explain = _model_rows(name)
    assert all(rows[f"{c}: sample"]["status"] == "pass" for c in CELLS), explain


@pytest.mark.slow
def test_model_runs_on_the_files_own_recurrent_layer():
    run, rows, explain = _model_rows("own_softmax_ignores_mask")
    assert run["rc"] == 1, explain
    assert "graded on the student's own temporal_softmax_loss" in run["stdout"], explain
    for cell in CELLS:
        assert re.search(r"<NULL> padding is scored", rows[f"{cell}: loss"]["diagnosis"]), explain
        assert rows[f"{cell}: sample"]["status"] == "pass", explain


@pytest.mark.slow
def test_wrapping_the_toolkits_model_is_an_error_not_a_pass():
    run, rows, explain = _model_rows("delegates_to_toolkit")
    assert run["rc"] == 1, explain
    assert set(rows) == {f"{c}: (init)" for c in CELLS}, explain
    assert all(r["status"] == "error" and "toolkit's own implementation" in r["diagnosis"]
               for r in rows.values()), explain


@pytest.mark.slow
def test_course_starter_is_not_implemented_yet_and_nothing_of_loss_or_sample_passes():
    run, rows, explain = _model_rows("starter_not_implemented")
    assert run["rc"] == 1, explain
    assert set(rows) == {f"{c}: {w}" for c in CELLS for w in ("(params)", "loss", "sample")}, explain
    for cell in CELLS:
        assert rows[f"{cell}: (params)"]["status"] == "pass", explain   # the course hands __init__ out done
        for what in ("loss", "sample"):
            r = rows[f"{cell}: {what}"]
            assert r["status"] == "error" and "not implemented yet" in r["diagnosis"], explain


@pytest.mark.slow
def test_course_package_model_is_graded_on_its_own_recurrent_layers():
    run, rows, explain = _model_rows("package")
    assert run["rc"] == 0, explain
    assert set(rows) == _expected_labels(), explain
    assert all(r["status"] == "pass" for r in run["json"]["results"]), explain
    assert "CaptioningRNN is graded on the student's own layers" in run["stdout"], explain
    graded = {r["layer"] for r in run["json"]["results"]}
    assert {"rnn_forward", "lstm_forward", "temporal_softmax_loss"} <= graded, explain


@pytest.mark.slow
def test_package_with_a_broken_rnn_backward_fails_the_rnn_models_gradients_only():
    run, rows, explain = _model_rows("package_bptt_bug")
    assert run["rc"] == 1, explain
    assert any(r["layer"] == "rnn_forward" and r["status"] == "fail" for r in run["json"]["results"]), explain
    assert rows["rnn: loss"]["status"] == "pass" and rows["rnn: sample"]["status"] == "pass", explain
    for g in ("dW_embed", "dW_proj", "db_proj", "dWx", "dWh", "db"):
        r = rows[f"rnn: {g}"]
        assert r["status"] == "fail" and "not the gradient of the model's own loss" in r["diagnosis"], g + explain
    assert all(r["status"] == "pass" for k, r in rows.items() if k.startswith("lstm")), explain


@pytest.mark.slow
def test_sampler_that_never_feeds_its_words_back_fails_sample_only():
    run, rows, explain = _model_rows("sample_feeds_start")
    assert run["rc"] == 1, explain
    for cell in CELLS:
        r = rows[f"{cell}: sample"]
        assert r["status"] == "fail" and "reads the <START> word at every step" in r["diagnosis"], explain
    assert all(r["status"] == "pass" for k, r in rows.items() if not k.endswith("sample")), explain


@pytest.mark.slow
def test_values_that_are_not_numbers_fail_their_rows_without_crashing_the_grader():
    run, rows, explain = _model_rows("returns_junk")
    assert run["rc"] == 1, explain
    assert set(rows) == _expected_labels(), explain
    for cell in CELLS:
        assert rows[f"{cell}: loss"]["status"] == "fail", explain
        assert "must be a numeric array" in rows[f"{cell}: dWh"]["diagnosis"], explain
        assert "must be a numeric array" in rows[f"{cell}: db"]["diagnosis"], explain
        assert "no entry 'W_vocab'" in rows[f"{cell}: dW_vocab"]["diagnosis"], explain
        assert "array of word indices" in rows[f"{cell}: sample"]["diagnosis"], explain
    assert not any(r["status"] == "pass" for k, r in rows.items() if not k.endswith("(params)")), explain
