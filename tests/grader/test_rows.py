"""Report rows and findings are data: code decides by their fields and kinds, never by their words.

``_gradcheck/grader/rows.py`` (Row, NotPresent), ``_gradcheck/core/findings.py`` (Finding kinds) and the
code that reads them: the grid's merge, the report's warning lines, the batch summary, the accounting of
names nothing graded. Each test rewords or fakes the text so that a reader of words would decide wrongly.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from _gradcheck.core.findings import DIAGNOSIS_KINDS, PROBLEM_KINDS, Finding, kind_of
from _gradcheck.core.result import ERROR, FAIL, PASS
from _gradcheck.grader import batch, grid, reports
from _gradcheck.grader.assignment import grade as grade_assignment
from _gradcheck.grader.assignment.common import AssignmentJob
from _gradcheck.grader.report_warnings import warning_lines
from _gradcheck.grader.rows import NotPresent, Row


def _row(**kw):
    base = dict(layer="affine_forward", function="affine_backward", input="x", kind="gradient")
    return Row(**{**base, **kw})


# --- Row ------------------------------------------------------------------------------------------

def test_a_row_refuses_a_field_it_does_not_have():
    r = _row()
    with pytest.raises(TypeError, match=r"no field\(s\) \['diagnosys'\]"):
        r.update(diagnosys="typo")
    with pytest.raises(TypeError):
        Row(layer="a", function="a", input="x", kind="gradient", stauts=PASS)


def test_a_rows_diagnosis_brings_its_kind_and_a_plain_one_clears_it():
    r = _row(status=FAIL, diagnosis=Finding("dx is off by the batch size", "batch_factor", ratio=4.0))
    assert r.diagnosis_kind == "batch_factor"
    r.update(diagnosis="something else")
    assert r.diagnosis_kind is None
    r.update(diagnosis="named", diagnosis_kind="known_bug")
    assert r.diagnosis_kind == "known_bug"


def test_to_json_is_plain_json_with_lower_case_statuses_and_the_finding_apart():
    r = _row(status=ERROR, max_rel_error=np.float64(np.inf), analytic=np.float32(1.5), worst_index=(np.int64(2), 1),
             diagnosis=Finding("dx has the wrong sign", "sign"), layouts_note=" [fails on 2 of 5 layouts]",
             layouts_checked=5, layouts_failed=["x 2x3"], shape=(2, 3), h=np.float64(1e-5), time_s=0.123456)
    doc = json.loads(json.dumps(r.to_json()))
    assert doc["status"] == "error" and doc["max_rel_error"] is None and doc["analytic"] == 1.5
    assert doc["worst_index"] == [2, 1] and doc["shape"] == [2, 3] and doc["h"] == 1e-5 and doc["time_s"] == 0.1235
    assert doc["diagnosis"] == "dx has the wrong sign [fails on 2 of 5 layouts]"
    assert doc["finding"] == "dx has the wrong sign" and doc["diagnosis_kind"] == "sign"
    assert doc["layouts_checked"] == 5 and doc["layouts_failed"] == ["x 2x3"]
    assert "batch" not in doc and "settings" not in doc  # merging state, not report


def test_take_verdict_copies_the_verdict_only():
    r = _row(layer="sgd", function="sgd", input="next_w", kind="update", time_s=1.0)
    trial = _row(status=FAIL, max_rel_error=0.5, worst_index=[1], analytic=1.0, numeric=2.0,
                 diagnosis=Finding("x2", "factor", ratio=2.0), time_s=9.0, layer="other")
    r.take_verdict(trial)
    assert (r.status, r.max_rel_error, r.worst_index, r.analytic, r.numeric) == (FAIL, 0.5, [1], 1.0, 2.0)
    assert r.diagnosis_kind == "factor" and r.layer == "sgd" and r.time_s == 1.0


# --- Finding kinds --------------------------------------------------------------------------------

def test_a_finding_of_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown finding kind 'batchfactor'"):
        Finding("text", "batchfactor")
    assert set(PROBLEM_KINDS).isdisjoint(DIAGNOSIS_KINDS)
    assert kind_of("a plain message") is None and kind_of(Finding("t", "sign")) == "sign"


# --- readers decide by kind and fields ------------------------------------------------------------

def _dtype_warning(text, output, have="float32", want="float64"):
    return Finding(text, "dtype", "backward", output=output, have=have, want=want)


def test_dtype_warnings_are_gathered_by_kind_whatever_their_words():
    rows = [_row(input="x", warnings=[_dtype_warning("anything at all", "dx")]),
            _row(input="w", warnings=[_dtype_warning("reworded completely", "dw"),
                                      "d is for dtype, but this is a plain note"]),
            _row(input="b", warnings=[Finding("forward says so", "dtype", "forward", output="forward",
                                              have="float32", want="float64")])]
    lines = warning_lines(rows)
    assert lines[0] == ("warning: affine_forward: computes in float32 for float64 inputs (its forward output, "
                        "dx, dw): compared at the float32 tolerance, the numeric gradient taken in float32 "
                        "(larger step, less accurate)")
    # a plain warning whose words look like a dtype warning is printed as it is, not gathered
    assert lines[1:] == ["warning: affine_forward w: d is for dtype, but this is a plain note"]
    plain = warning_lines([_row(warnings=["dx has dtype float32 but the layer computes in float64"])])
    assert plain == ["warning: affine_forward x: dx has dtype float32 but the layer computes in float64"]


def test_the_merge_says_right_for_n_1_only_from_the_layouts_fields():
    def r(layout, batch, status, settings=frozenset({"stride 1"})):
        return _row(layout=layout, batch=batch, settings=settings, status=status,
                    diagnosis="" if status == PASS else "dx wrong")

    merged = grid._merge([r("x 1x3", 1, PASS), r("x 4x3", 4, FAIL), r("x 1x5", 1, PASS)])
    (m,) = merged
    assert "right on every N = 1 layout, wrong for N > 1" in m.layouts_note
    assert m.diagnosis == "dx wrong" and m.layouts_failed == ["x 4x3"] and m.layouts_checked == 3
    # same shapes, but the failing layout differs in a setting too: no claim about the batch
    (m,) = grid._merge([r("x 1x3", 1, PASS), r("x 4x3, stride 2", 4, FAIL, frozenset({"stride 2"}))])
    assert "N = 1" not in m.full_diagnosis and "[fails on 1 of 2 layouts]" in m.full_diagnosis


def test_the_class_summary_groups_by_kind_or_finding_never_by_the_layout_notes():
    def report(*rows):
        return {"results": [r.to_json() for r in rows], "summary": {"ok": False}}

    notes = [" [fails on 1 of 5 layouts]", " [fails on 3 of 5 layouts]", "; right on every N = 1 layout [fails on 2 of 4 layouts]"]
    graded = [batch.Graded(f"s{k}", 1, report(_row(status=FAIL, diagnosis="dx: the loop skips the last column",
                                                    layouts_note=note)))
              for k, note in enumerate(notes)]
    graded.append(batch.Graded("t", 1, report(_row(status=FAIL, diagnosis=Finding("x 1/N", "batch_factor", ratio=0.25),
                                                   layouts_note=" [fails on 5 of 5 layouts]"))))
    assert batch.common_failures(graded) == [(3, "affine_forward", "dx: the loop skips the last column"),
                                             (1, "affine_forward", "batch_factor")]


def test_names_are_accounted_for_by_what_was_graded_not_by_what_a_message_mentions():
    manifest = {"affine_forward": {}, "affine_backward": {}, "relu_backward": {}, "sgd": {}, "Solver": {}}
    jobs, absent = grid.jobs(_Module(affine_forward=_f, affine_backward=_f, relu_backward=_f))
    assert [j.names for j in jobs] == [("affine_forward", "affine_backward")] and absent == []
    sgd = AssignmentJob("sgd", lambda: [], {"sgd"})
    # relu_backward is named in a row's words: it is still a backward without its forward
    rows = [_row(diagnosis="relu_backward would be graded with relu_forward")]
    assert rows  # what a reader of words would take as accounting for relu_backward
    out = grade_assignment.unaccounted({k: v for k, v in manifest.items() if k != "Solver"}, jobs, [sgd], absent)
    assert [(r.layer, r.status, r.input) for r in out] == [("relu_backward", ERROR, "(not graded)")]
    # a layer listed as not present accounts for its forward, and its backward with it
    listed = [NotPresent("relu_forward", "in layer_utils.py: not graded", frozenset({"relu_forward"}))]
    assert grade_assignment.unaccounted({"relu_backward": {}}, [], [], listed) == []


def test_adjust_absent_uses_the_missing_function_not_the_label_words():
    a = NotPresent("batchnorm_forward", "no batchnorm_backward in the module", frozenset({"batchnorm_forward"}),
                   "batchnorm_backward")
    b = NotPresent("layernorm_forward", "(no) reworded, nothing missing", frozenset({"layernorm_forward"}))
    state = [AssignmentJob("batchnorm_forward (state)", lambda: [], {"x"}, names={"batchnorm_forward"}),
             AssignmentJob("layernorm_forward (state)", lambda: [], {"x"}, names={"layernorm_forward"})]
    got = [str(x) for x in grade_assignment.adjust_absent([a, b], state)]
    assert got == ["batchnorm_forward (no batchnorm_backward in the module; only its state across calls was graded)",
                   "layernorm_forward ((no) reworded, nothing missing)"]


def test_reports_are_written_from_rows():
    rows = [_row(status=PASS), _row(input="w", status=FAIL, diagnosis="dw wrong", layouts_note=" [fails on 1 of 2 layouts]")]
    doc = reports.gradescope(rows, {"ok": False, "checks": 2, "seconds": 1.0})
    assert doc["tests"][0]["status"] == "failed" and "dw wrong [fails on 1 of 2 layouts]" in doc["tests"][0]["output"]
    xml = reports.junit_xml(rows, {"seconds": 1.0})
    assert 'failures="1"' in xml and "dw wrong [fails on 1 of 2 layouts]" in xml


class _Module:
    def __init__(self, **fns):
        self.__dict__.update(fns)


def _f(*args):
    raise NotImplementedError
