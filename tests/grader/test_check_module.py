"""``check_module(path, isolated=True)``: the Python door to what ``--module`` does, worker included."""

from __future__ import annotations

import sys
import textwrap

import pytest

from gradient_check import check_module

RELU = '''
import numpy as np


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * (cache > 0)
'''


def _module(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_isolated_check_passes_a_correct_module_without_importing_it_here(tmp_path):
    path = _module(tmp_path, "iso_relu_ok.py", RELU)
    rep = check_module(path)
    assert rep.ok and rep.isolated and {r.layer for r in rep.rows} == {"relu_forward"}
    assert all(r.passed and r.to_json()["status"] == "pass" for r in rep.rows)
    assert not any(getattr(m, "__file__", None) == str(path) for m in list(sys.modules.values()))


def test_a_module_that_ends_its_process_is_an_error_row_and_the_caller_lives_on(tmp_path):
    path = _module(tmp_path, "iso_exits.py", RELU.replace("return np.maximum(0, x), x",
                                                           "import posix\n    posix._exit(0)"))
    rep = check_module(path, time_limit=20)
    assert not rep.ok
    (row,) = [r for r in rep.rows if r.to_json()["status"] == "error"]
    assert "exit status 0" in row.diagnosis


def test_in_process_mode_imports_the_module_here(tmp_path):
    path = _module(tmp_path, "inproc_relu_ok.py", RELU)
    rep = check_module(path, isolated=False)
    assert rep.ok and not rep.isolated
    assert any(getattr(m, "__file__", None) == str(path) for m in list(sys.modules.values()))


def test_refused_module_and_bad_path(tmp_path):
    for refused in ("json", "torch"):  # loaded in the worker already, or not installed at all
        path = _module(tmp_path, f"iso_uses_{refused}.py", f"import {refused}\n" + RELU)
        rep = check_module(path, refuse=[refused, "tensorflow"])
        assert not rep.ok and f"importing {refused!r} is not allowed" in rep.rows[0].diagnosis, rep.rows
    with pytest.raises(ValueError, match="no such file"):
        check_module(tmp_path / "missing.py")


def test_a_sandwich_on_the_toolkits_layers_is_checked_and_the_report_says_so(tmp_path):
    path = _module(tmp_path, "iso_sandwich.py", '''
        from layers import affine_backward, affine_forward, relu_backward, relu_forward


        def affine_relu_forward(x, w, b):
            a, fc_cache = affine_forward(x, w, b)
            out, relu_cache = relu_forward(a)
            return out, (fc_cache, relu_cache)


        def affine_relu_backward(dout, cache):
            fc_cache, relu_cache = cache
            return affine_backward(relu_backward(dout, relu_cache), fc_cache)
        ''')
    rep = check_module(path)
    assert rep.ok and {r.layer for r in rep.rows} == {"affine_relu_forward"}, rep.rows
    assert any("affine_relu_forward: the student's code ran the toolkit's layers.affine_backward, "
               "layers.affine_forward, layers.relu_backward, layers.relu_forward" in n for n in rep.notes), rep.notes
    assert any("toolkit's own, imported: not checked" in a for a in rep.not_present)


def test_a_students_object_stays_in_the_worker_and_answers_method_calls(tmp_path):
    """What grading models builds on: a class instantiated in the worker, used through its handle."""
    import numpy as np

    from _gradcheck.grader import isolate
    from _gradcheck.grader import wire
    from _gradcheck.grader.cli import build_parser, open_session

    path = _module(tmp_path, "iso_model.py", '''
        import numpy as np


        class TwoLayerNet:
            def __init__(self, D, H):
                self.params = {"W1": np.ones((D, H)), "b1": np.zeros(H)}

            def loss(self, X):
                return X @ self.params["W1"] + self.params["b1"]
        ''')
    session, _ = open_session(build_parser().parse_args(["--module", str(path)]))
    try:
        manifest = session.open(30)
        assert set(manifest) == {"TwoLayerNet"}  # a model name the assignment grader asks for; no layer
        session.begin_job(set(), set(), 30)
        model = session.call("TwoLayerNet", (3, 2), None)
        assert isinstance(model, wire.Handle) and model.type == "TwoLayerNet"
        scores = session.call("loss", (np.arange(6.0).reshape(2, 3),), None, of=model)
        np.testing.assert_array_equal(scores, [[3.0, 3.0], [12.0, 12.0]])
        params = session.getattr(model, "params")
        assert set(params) == {"W1", "b1"} and params["W1"].shape == (3, 2)
        with pytest.raises(isolate.StudentException, match="AttributeError|no attribute"):
            session.getattr(model, "nothing")
    finally:
        session.close()
