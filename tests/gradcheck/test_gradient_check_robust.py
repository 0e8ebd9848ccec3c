"""check_layer never passes broken code and never crashes on it: malformed returns, exit(), noise,
bad arguments, low-precision inputs, and the one tolerance table it shares with the tests."""

from __future__ import annotations

import numpy as np
import pytest

import layers
from _rules.tolerances import TOLERANCES, tolerance
from gradient_check import check_layer
from tests.conftest import tol


def affine_inputs(rng, N=3, D=4, M=2, dtype=np.float64):
    return [rng.standard_normal((N, D)).astype(dtype), rng.standard_normal((D, M)).astype(dtype),
            rng.standard_normal(M).astype(dtype)]


# ---------------------------------------------------------------------------------------------
# One tolerance table

@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_checker_and_tests_read_the_same_tolerance_row(rng, dtype):
    row = tolerance(dtype)
    assert tol(dtype) == {"rtol": row.rtol, "atol": row.atol}
    x = rng.standard_normal((3, 4)).astype(dtype)
    chk = check_layer(layers.relu_forward, layers.relu_backward, [x])
    assert chk.dtype == np.dtype(dtype).name and chk.rtol == row.grad_rtol


def test_tolerance_rows_tighten_with_precision_and_refuse_non_floats():
    rows = [TOLERANCES[np.dtype(t)] for t in (np.float16, np.float32, np.float64)]
    for loose, tight in zip(rows, rows[1:]):
        assert tight.rtol < loose.rtol and tight.atol < loose.atol and tight.grad_rtol < loose.grad_rtol
    assert tolerance(np.dtype(">f8")) is TOLERANCES[np.dtype(np.float64)]
    assert tolerance(np.longdouble).dtype == np.float64
    with pytest.raises(TypeError, match="no tolerance for dtype int64"):
        tolerance(np.int64)


# ---------------------------------------------------------------------------------------------
# Low precision: float16 is judged by its own rule

def test_correct_float16_conv_passes_by_the_float16_rule(rng):
    x = rng.standard_normal((2, 2, 5, 5)).astype(np.float16)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float16)
    b = rng.standard_normal(3).astype(np.float16)
    chk = check_layer(layers.conv_forward_naive, layers.conv_backward_naive, [x, w, b], [{"stride": 1, "pad": 1}])
    assert chk.passed, chk.report()
    assert chk.dtype == "float16" and chk.rtol == tolerance(np.float16).grad_rtol
    assert not chk.warnings  # the toolkit computes float16 in float32: documented, not worth a warning


def test_float16_rule_still_catches_a_wrong_gradient(rng):
    def backward_db_doubled(dout, cache):
        dx, dw, db = layers.conv_backward_naive(dout, cache)
        return dx, dw, 2 * db

    x = rng.standard_normal((2, 2, 5, 5)).astype(np.float16)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float16)
    b = rng.standard_normal(3).astype(np.float16)
    chk = check_layer(layers.conv_forward_naive, backward_db_doubled, [x, w, b], [{"stride": 1, "pad": 1}])
    assert chk["x"].passed and chk["w"].passed and not chk["b"].passed
    assert "factor 2 too many" in chk["b"].diagnosis


# ---------------------------------------------------------------------------------------------
# Argument messages (issue 14): each names the bad value and what was expected

@pytest.mark.parametrize("kw,match", [
    ({"rtol": float("nan")}, r"rtol must be a finite number > 0, got nan"),
    ({"rtol": 0.0}, r"rtol must be a finite number > 0, got 0.0"),
    ({"rtol": float("inf")}, r"rtol must be a finite number > 0, got inf"),
    ({"atol": -1e-9}, r"atol must be a finite number >= 0, got -1e-09"),
    ({"atol": float("nan")}, r"atol must be a finite number >= 0, got nan"),
    ({"h": 0.0}, r"h must be a finite number > 0, got 0.0"),
    ({"h": "1e-5"}, r"h must be a finite number > 0, got '1e-5'"),
])
def test_bad_tolerances_are_refused_before_anything_runs(rng, kw, match):
    with pytest.raises(ValueError, match=match):
        check_layer(layers.affine_forward, layers.affine_backward, affine_inputs(rng), **kw)


def test_nan_rtol_cannot_pass_an_all_zero_backward(rng):
    def zero_backward(dout, cache):
        x, w, b = cache
        return np.zeros_like(x), np.zeros_like(w), np.zeros_like(b)

    with pytest.raises(ValueError, match="rtol"):
        check_layer(layers.affine_forward, zero_backward, affine_inputs(rng), rtol=float("nan"))
    assert not check_layer(layers.affine_forward, zero_backward, affine_inputs(rng)).passed


def test_empty_batch_gets_a_message_naming_the_input(rng):
    x, w, b = affine_inputs(rng)
    with pytest.raises(ValueError, match=r"input 'x' is empty \(shape \(0, 4\)\).*N = 0"):
        check_layer(layers.affine_forward, layers.affine_backward, [x[:0], w, b])


@pytest.mark.parametrize("wrt,match", [
    (["q"], r"wrt entry 'q' is not an input name; the inputs are \['x', 'w', 'b'\]"),
    ([5], r"wrt entry 5 is not an input position; the inputs are \['x', 'w', 'b'\] \(positions 0..2\)"),
    ([None], r"wrt entries must be input names or positions, got None"),
])
def test_wrt_names_the_bad_entry_and_the_valid_ones(rng, wrt, match):
    with pytest.raises((ValueError, TypeError), match=match):
        check_layer(layers.affine_forward, layers.affine_backward, affine_inputs(rng), wrt=wrt)


# ---------------------------------------------------------------------------------------------
# Anything layer code does becomes an ERROR (or a FAIL), never a crash or a pass

def _exits_in_forward(x, w, b):
    exit()


def _exits_in_backward(dout, cache):
    raise SystemExit(0)


def _ragged_forward(x, w, b):
    return [[1.0, 2.0], [3.0]], None


def _string_backward(dout, cache):
    x, w, b = cache
    return np.full(x.shape, "1.0"), np.zeros_like(w), np.zeros_like(b)


def _list_grads_backward(dout, cache):
    dx, dw, db = layers.affine_backward(dout, cache)
    return [dx.tolist(), dw, db]


def _shape_changing_forward(x, w, b):
    out, cache = layers.affine_forward(x, w, b)
    return (out if x.flat[0] == _shape_changing_forward.first else out[:1]), cache


@pytest.mark.parametrize("forward,backward,expected", [
    (_exits_in_forward, layers.affine_backward, "forward called exit() / sys.exit(None)"),
    (layers.affine_forward, _exits_in_backward, "backward called exit() / sys.exit(0)"),
    (_ragged_forward, layers.affine_backward, "forward output is not an array (list that numpy cannot convert"),
    (layers.affine_forward, _string_backward, "backward's dx must be a floating array, got dtype <U3"),
    (lambda x, w, b: (np.array(["a"]), None), layers.affine_backward, "forward output must be a floating array"),
    (_shape_changing_forward, layers.affine_backward, "forward output changed shape from (3, 2) to (1, 2)"),
    (layers.affine_forward, _list_grads_backward, "backward returned list for dx, expected an ndarray"),
])
def test_malformed_layers_are_errors(rng, forward, backward, expected):
    inputs = affine_inputs(rng)
    _shape_changing_forward.first = inputs[0].flat[0]
    chk = check_layer(forward, backward, inputs, names=["x", "w", "b"])
    assert chk.status == "ERROR", chk.report()
    assert expected in chk.error, chk.error
    assert not chk


def test_keyboard_interrupt_still_stops_the_check(rng):
    def interrupted(x, w, b):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        check_layer(interrupted, layers.affine_backward, affine_inputs(rng))


def test_noisy_forward_of_a_deterministic_layer_fails(rng):
    def affine_forward_noisy(x, w, b):
        out, cache = layers.affine_forward(x, w, b)
        return out + 1e-9 * np.random.standard_normal(out.shape), cache

    def zero_backward(dout, cache):
        return tuple(np.zeros_like(a) for a in cache[:3])

    unknown = check_layer(affine_forward_noisy, zero_backward, affine_inputs(rng))
    assert unknown.status == "not checkable"
    known = check_layer(affine_forward_noisy, zero_backward, affine_inputs(rng), deterministic=True)
    assert known.status == "FAIL" and not known
    assert any("non-deterministic forward" in p and "draws no random numbers" in p for p in known.problems)


def test_forward_mutation_is_reported_even_when_backward_then_raises(rng):
    def relu_forward_in_place(x):
        np.maximum(x, 0, out=x)
        return x, x  # and a cache relu_backward refuses

    chk = check_layer(relu_forward_in_place, layers.relu_backward, [rng.standard_normal((4, 5))])
    assert chk.status == "ERROR" and "cache" in chk.error
    assert any(p.startswith("forward mutated input 'x'") for p in chk.problems)
