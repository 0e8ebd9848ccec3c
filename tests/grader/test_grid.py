"""The geometry grid, dropout's mask-free check and the named diagnoses (``_gradcheck/grader/grid.py``).

Student modules come from the corpus (``tests/data/students``) or are written here as small
variations of a correct layer; each is checked in process with ``grid.jobs`` / ``grid.check_job``
exactly as ``python -m gradient_check --module`` does (the corpus test runs the real command line).
"""

from __future__ import annotations

import importlib.util
import math
import re
import types
from pathlib import Path

import numpy as np
import pytest

from _gradcheck.grader import grid
from _gradcheck.grader import specs
from _gradcheck.grader.cli import main

STUDENTS = Path(__file__).resolve().parents[1] / "data" / "students"


def _load(rel):
    path = STUDENTS / rel
    spec = importlib.util.spec_from_file_location("student_" + path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _module(**functions):
    return types.SimpleNamespace(**functions)


def _rows(module, only=None, extended=False):
    jobs, _ = grid.jobs(module, only, extended=extended)
    assert jobs, "no layer of the module was picked up"
    rows = []
    for job in jobs:
        rows += grid.check_job(job)[0]
    return rows


def _failing(rows, function, input_=None):
    bad = [r for r in rows if r.status != "pass" and r.function == function
           and (input_ is None or r.input == input_)]
    assert bad, f"no failing row for {function} {input_}: " + "; ".join(
        f"{r.function} {r.input} {r.status} {r.full_diagnosis}" for r in rows if r.status != "pass")
    return bad[0]


# --- the grid ------------------------------------------------------------------------------------

def test_a_correct_cs231n_style_file_passes_every_layout():
    rows = _rows(_load("correct/scalar_loops.py"))
    assert rows and all(r.status == "pass" for r in rows), [r for r in rows if r.status != "pass"]
    conv = [r for r in rows if r.layer == "conv_forward_naive" and r.kind == "gradient"]
    assert conv and all(r.layouts_checked == len(specs.spec("conv_forward_naive").grid()) for r in conv)


def test_stride_ignored_in_the_backward_is_caught_on_a_strided_layout_and_named():
    rows = _rows(_load("buggy/conv_backward_ignores_stride.py"))
    row = _failing(rows, "conv_backward_naive", "x")
    assert "stride 2" in row.layout and row.layer == "conv_forward_naive"
    assert "the stride is ignored in the backward" in row.full_diagnosis
    forward = [r for r in rows if r.kind == "forward"]
    assert forward and all(r.status == "pass" for r in forward)  # the forward is right: not blamed
    assert not any(r.status != "pass" and r.function == "conv_forward_naive" for r in rows)
    # stride 1 layouts pass: the failure is reported with how many layouts showed it
    assert re.search(r"fails on \d of 5 layouts", row.full_diagnosis) and len(row.layouts_failed) < 5


def test_unpadded_x_in_dw():
    rows = _rows(_load("buggy/conv_backward_dw_unpadded_x.py"))
    row = _failing(rows, "conv_backward_naive", "w")
    assert "unpadded x" in row.full_diagnosis and "pad 1" in row.layout
    assert not any(r.status != "pass" and r.input == "x" for r in rows)


# (corpus file, function to blame, input, words the diagnosis must hold)
NAMED = [
    ("buggy/conv_backward_flipped_kernel.py", "conv_backward_naive", "x", "rotated 180 degrees"),
    ("buggy/conv_backward_dx_assigned.py", "conv_backward_naive", "x", "'=' used where '+=' is needed"),
    ("buggy/maxpool_backward_steps_by_pool_size.py", "max_pool_backward_naive", "x", "pool size instead of the stride"),
    ("buggy/svm_dx_missing_count.py", "svm_loss", "x", "count of classes with a positive margin"),
    ("buggy/spatial_batchnorm_no_transpose_back.py", "spatial_batchnorm_forward", "(forward)",
     "without transposing back"),
    ("buggy/dropout_not_inverted.py", "dropout_forward", "(train mode)", "not divided by p"),
    ("buggy/dropout_test_mode_drops.py", "dropout_forward", "(test mode)", "test mode must return x unchanged"),
    ("buggy/dropout_backward_ignores_mask.py", "dropout_backward", "x", "mask"),
]


@pytest.mark.parametrize("rel, function, input_, words", NAMED, ids=[c[0].split("/")[1] for c in NAMED])
def test_known_mistakes_are_named(rel, function, input_, words):
    row = _failing(_rows(_load(rel)), function, input_)
    assert words in row.full_diagnosis and row.layout, row.full_diagnosis


def test_max_pool_assign_on_overlapping_windows_is_not_called_a_padding_bug():
    rows = _rows(_load("buggy/maxpool_backward_assign_overlap.py"))
    row = _failing(rows, "max_pool_backward_naive", "x")
    assert "'=' used where '+=' is needed" in row.full_diagnosis and "padding handling" not in row.full_diagnosis
    assert "pool 3x3, stride 2" in row.layout  # the tiling 2x2/2 layout passes, the overlapping one fails


def _max_pool_pair():
    import layers

    return layers.max_pool_forward_naive, layers.max_pool_backward_naive


def test_max_pool_element_assignment_is_named_too():
    fwd, _ = _max_pool_pair()

    def backward(dout, cache):  # '=' at the argmax only, raster order over windows
        x, pp = cache
        ph, pw, s = pp["pool_height"], pp["pool_width"], pp["stride"]
        dx = np.zeros_like(x)
        for n in range(x.shape[0]):
            for c in range(x.shape[1]):
                for i in range(dout.shape[2]):
                    for j in range(dout.shape[3]):
                        win = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
                        a, b = np.unravel_index(np.argmax(win), win.shape)
                        dx[n, c, i * s + a, j * s + b] = dout[n, c, i, j]
        return dx

    row = _failing(_rows(_module(max_pool_forward_naive=fwd, max_pool_backward_naive=backward)),
                   "max_pool_backward_naive", "x")
    assert "'+='" in row.full_diagnosis


def test_border_errors_of_a_pool_are_not_called_padding_bugs():
    fwd, bwd = _max_pool_pair()

    def backward(dout, cache):  # drops the gradient on the outer ring of x
        dx = bwd(dout, cache).copy()
        dx[:, :, [0, -1], :] = 0
        dx[:, :, :, [0, -1]] = 0
        return dx

    rows = _rows(_module(max_pool_forward_naive=fwd, max_pool_backward_naive=backward))
    row = _failing(rows, "max_pool_backward_naive", "x")
    assert "errors only on the border" in row.full_diagnosis and "no padding" in row.full_diagnosis, row.full_diagnosis
    assert "padding handling" not in row.full_diagnosis


def test_border_errors_of_a_padded_conv_are_padding_bugs():
    from _gradcheck.diagnose.patterns import border_message, diagnose

    n = np.random.default_rng(0).standard_normal((2, 3, 6, 6))
    a = n.copy()
    a[..., 0, :] = 0
    bad = a != n
    assert diagnose(a, n, bad) == border_message(1) and "padding handling" in border_message(1)
    assert "padding handling" not in diagnose(a, n, bad, pads=False)


def test_softmax_dx_right_only_for_one_sample():
    row = _failing(_rows(_load("buggy/softmax_dx_only_right_for_one_sample.py")), "softmax_loss", "x")
    # the named mistake says it is right for N = 1 only, once: the generic layout note is not added to it
    assert row.full_diagnosis.count("right only for N = 1") == 1 and "dx[:, y] -= 1" in row.full_diagnosis
    assert "right on every N = 1 layout" not in row.full_diagnosis and row.diagnosis_kind == "known_bug"
    assert "[fails on" in row.layouts_note


def test_spatial_batchnorm_backward_alone_reshaped_without_transposing_back():
    import layers

    def backward(dout, cache):
        dx, dgamma, dbeta = layers.spatial_batchnorm_backward(dout, cache)
        N, C, H, W = dx.shape
        return dx.transpose(0, 2, 3, 1).reshape(N, C, H, W), dgamma, dbeta

    rows = _rows(_module(spatial_batchnorm_forward=layers.spatial_batchnorm_forward,
                         spatial_batchnorm_backward=backward))
    row = _failing(rows, "spatial_batchnorm_backward", "x")
    assert "without transposing back" in row.full_diagnosis
    assert all(r.status == "pass" for r in rows if r.kind == "forward")


def test_a_wrong_forward_with_a_right_backward_blames_the_forward():
    rows = _rows(_load("buggy/conv_forward_missing_bias.py"))
    row = _failing(rows, "conv_forward_naive", "b")
    assert "so the forward is what is wrong" in row.full_diagnosis
    assert not any(r.status != "pass" and r.function == "conv_backward_naive" for r in rows)


def test_extended_layouts_only_with_the_flag():
    mod = _load("correct/scalar_loops.py")
    basic, _ = grid.jobs(mod, "conv_forward_naive")
    ext, _ = grid.jobs(mod, "conv_forward_naive", extended=True)
    assert len(ext[0].layouts) > len(basic[0].layouts)
    assert all(not lay.extended for lay in basic[0].layouts) and any(lay.extended for lay in ext[0].layouts)
    toolkit, _ = grid.jobs(None, "conv_forward_naive")
    assert len(toolkit[0].layouts) == len(specs.spec("conv_forward_naive").layouts)


def test_the_cli_names_the_failing_layout(capsys):
    path = STUDENTS / "buggy" / "conv_backward_ignores_stride.py"
    assert main(["--module", str(path), "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"FAIL: conv_backward_naive dx \[x [0-9x]+, w [0-9x]+, stride 2, pad 1\]: dx places window", out)


# --- dropout -------------------------------------------------------------------------------------

def test_kept_fraction_bound_is_hoeffdings():
    assert grid.kept_fraction_bound(2000, 1e-6) == pytest.approx(math.sqrt(math.log(2e6) / 4000))
    assert grid.kept_fraction_bound(2000) < 0.07


def test_dropout_layouts_tell_p_from_one_minus_p():
    telling = set()
    for lay in specs.spec("dropout_forward").layouts:
        x, d = lay.make(np.random.default_rng(0), np.float64)
        if d["mode"] == "train" and abs(d["p"] - (1 - d["p"])) > 2 * grid.kept_fraction_bound(x.size):
            telling.add(d["p"])
    assert len(telling) >= 2, telling  # p > 1/2 and p < 1/2 both, each on enough units


def test_the_bound_holds_for_a_correct_mask():
    # 300 independent masks of 2000 units with p = 0.7: each leaves the bound with probability <= 1e-6
    rng = np.random.default_rng(5)
    t = grid.kept_fraction_bound(2000)
    fracs = (rng.random((300, 2000)) < 0.7).mean(axis=1)
    assert np.all(np.abs(fracs - 0.7) <= t)


def _dropout_rows(mod):
    return [r for r in _rows(mod) if r.layer == "dropout_forward"]


def test_cs231n_dropout_on_the_global_generator_passes_and_leaves_the_global_state_alone():
    mod = _load("correct/dropout_cs231n_style.py")
    np.random.seed(42)
    before = np.random.get_state()[1].copy()
    rows = _dropout_rows(mod)
    assert np.array_equal(np.random.get_state()[1], before)
    assert rows and all(r.status == "pass" for r in rows), [r for r in rows if r.status != "pass"]
    assert {r.input for r in rows} >= {"(train mode)", "(test mode)", "x"}


def test_dropout_treating_p_as_the_drop_probability_fails():
    row = _failing(_dropout_rows(_load("buggy/dropout_p_as_drop_probability.py")), "dropout_forward")
    assert "DROP probability" in row.full_diagnosis and "Hoeffding" in row.full_diagnosis


def test_the_toolkit_dropout_passes_its_own_grid():
    rows = [r for r in _rows(None, "dropout")]
    assert rows and all(r.status == "pass" for r in rows)
