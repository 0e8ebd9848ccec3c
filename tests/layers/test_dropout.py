"""Tests for layers/dropout.py: inverted dropout."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_check import eval_numerical_gradient_array, rel_error
from layers.dropout import dropout_backward, dropout_forward
from tests.conftest import assert_unchanged, snapshot


@pytest.mark.parametrize("p", [0.25, 0.5, 0.9])
def test_dropout_keep_rate_and_scaling(p):
    x = np.ones((200, 500))
    out, _ = dropout_forward(x, {"p": p, "mode": "train", "seed": 1})
    kept = out != 0
    # 100000 Bernoulli(p) draws: the standard error of the mean is <= 0.0016, so 0.01 is > 6 sigma.
    assert abs(kept.mean() - p) < 0.01
    # Inverted dropout: kept units are scaled by exactly 1/p, so the mean stays ~1.
    np.testing.assert_allclose(out[kept], 1.0 / p)
    assert abs(out.mean() - 1.0) < 0.01 / p


def test_dropout_p_one_keeps_everything():
    x = np.arange(6.0).reshape(2, 3)
    out, cache = dropout_forward(x, {"p": 1.0, "mode": "train"})
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(dropout_backward(np.ones((2, 3)), cache), np.ones((2, 3)))


def test_dropout_seed_reproducible_and_global_state_untouched():
    x = np.ones((10, 10))
    np.random.seed(0)
    state = np.random.get_state()
    a, _ = dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 123})
    b, _ = dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 123})
    c, _ = dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 124})
    after = np.random.get_state()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2:] == after[2:]
    # The seeded mask is the one np.random.seed(123); np.random.rand(...) < p gives (CS231n's).
    np.random.seed(123)
    np.testing.assert_array_equal(a, (np.random.rand(10, 10) < 0.5) / 0.5)


def test_dropout_without_seed_draws_from_the_global_generator():
    x = np.ones((6, 7))
    np.random.seed(231)
    a, cache = dropout_forward(x, {"p": 0.3, "mode": "train"})
    np.random.seed(231)
    b, _ = dropout_forward(x, {"p": 0.3, "mode": "train"})
    np.testing.assert_array_equal(a, b)
    np.random.seed(231)
    expected_mask = (np.random.rand(6, 7) < 0.3) / 0.3
    np.testing.assert_array_equal(cache[1], expected_mask)
    np.testing.assert_array_equal(a, expected_mask)


def test_dropout_cache_is_the_cs231n_pair_and_does_not_follow_the_callers_dict():
    x = np.arange(12.0).reshape(3, 4)
    param = {"p": 0.5, "mode": "train", "seed": 1}
    out, cache = dropout_forward(x, param)
    assert isinstance(cache, tuple) and len(cache) == 2
    dropout_param, mask = cache
    assert dropout_param == param and dropout_param is not param
    np.testing.assert_array_equal(out, x * mask)
    param["mode"] = "test"  # a later change of the caller's dict...
    np.testing.assert_array_equal(dropout_backward(np.ones((3, 4)), cache), mask)  # ...changes nothing
    _, test_cache = dropout_forward(x, param)
    assert test_cache[1] is None and test_cache[0]["mode"] == "test"


def test_dropout_backward_reads_a_hand_made_cs231n_cache():
    mask = np.array([[2.0, 0.0], [0.0, 2.0]])
    dx = dropout_backward(np.ones((2, 2)), ({"p": 0.5, "mode": "train"}, mask))
    np.testing.assert_array_equal(dx, mask)
    dout = np.arange(4.0).reshape(2, 2)
    np.testing.assert_array_equal(dropout_backward(dout, ({"p": 0.5, "mode": "test"}, None)), dout)


def test_dropout_without_seed_differs_between_calls():
    x = np.ones((20, 20))
    a, _ = dropout_forward(x, {"p": 0.5, "mode": "train"})
    b, _ = dropout_forward(x, {"p": 0.5, "mode": "train"})
    # Two independent 400-unit masks agree with probability 2**-400.
    assert not np.array_equal(a, b)


def test_dropout_test_mode_is_identity(rng):
    x = rng.standard_normal((3, 4, 2))
    out, cache = dropout_forward(x, {"p": 0.3, "mode": "test", "seed": 0})
    np.testing.assert_array_equal(out, x)
    assert out is not x
    dout = rng.standard_normal(x.shape)
    dx = dropout_backward(dout, cache)
    np.testing.assert_array_equal(dx, dout)
    assert dx is not dout


def test_dropout_backward_matches_numeric_gradient(rng):
    x = rng.standard_normal((4, 5))
    param = {"p": 0.6, "mode": "train", "seed": 7}
    dout = rng.standard_normal(x.shape)
    _, cache = dropout_forward(x, param)
    dx = dropout_backward(dout, cache)
    # The seed fixes the mask, so the forward is a fixed linear map of x.
    num = eval_numerical_gradient_array(lambda v: dropout_forward(v, param)[0], x, dout)
    assert rel_error(dx, num) < 1e-9


def test_dropout_backward_uses_the_forward_mask():
    x = np.ones((4, 4))
    out, cache = dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 3})
    dx = dropout_backward(np.full((4, 4), 3.0), cache)
    np.testing.assert_array_equal(dx, 3.0 * out)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["train", "test"])
def test_dropout_dtype_and_no_mutation(rng, dtype, mode):
    x = rng.standard_normal((3, 5)).astype(dtype)
    param = {"p": 0.5, "mode": mode, "seed": 0}
    before = snapshot((x, param))
    out, cache = dropout_forward(x, param)
    assert_unchanged(before, (x, param))
    dout = rng.standard_normal((3, 5))
    before = snapshot((dout, cache))
    dx = dropout_backward(dout, cache)
    assert_unchanged(before, (dout, cache))
    assert out.dtype == dtype and dx.dtype == dtype


@pytest.mark.parametrize(
    "param, exc, match",
    [
        ({"p": 0.0, "mode": "train"}, ValueError, r"KEEPING a unit and must lie in \(0, 1\], got 0.0"),
        ({"p": 1.5, "mode": "train"}, ValueError, r"got 1.5"),
        ({"p": -0.2, "mode": "test"}, ValueError, r"got -0.2"),
        ({"p": "0.5", "mode": "train"}, TypeError, r"must be a real number, got '0.5'"),
        ({"p": 0.5, "mode": "eval"}, ValueError, r"'train' or 'test', got 'eval'"),
        ({"p": 0.5}, ValueError, r"missing required key\(s\) \['mode'\]"),
        ({"p": 0.5, "mode": "train", "seed": -1}, ValueError, r"seed'\] must be None or an int in \[0, 2\*\*32\), got -1"),
    ],
)
def test_dropout_rejects_bad_param(param, exc, match):
    with pytest.raises(exc, match=match):
        dropout_forward(np.zeros((2, 2)), param)


def test_dropout_backward_rejects_bad_dout_and_cache():
    _, cache = dropout_forward(np.zeros((2, 3)), {"p": 0.5, "mode": "train"})
    with pytest.raises(ValueError, match=r"dout has shape \(3, 2\)"):
        dropout_backward(np.zeros((3, 2)), cache)
    with pytest.raises(TypeError, match=r"2-tuple \(dropout_param, mask\)"):
        dropout_backward(np.zeros((2, 3)), cache[1:])
    _, test_cache = dropout_forward(np.zeros((2, 3)), {"p": 0.5, "mode": "test"})
    with pytest.raises(ValueError, match=r"dout has shape \(3, 2\)"):
        dropout_backward(np.zeros((3, 2)), test_cache)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [0.5, 0.3, 0.99])
def test_dropout_mask_is_cs231ns_draw_bit_for_bit_and_moves_the_generator_the_same(dtype, p):
    x = np.linspace(-3, 3, 60, dtype=dtype).reshape(5, 12)
    np.random.seed(7)
    out, (_, mask) = dropout_forward(x, {"p": p, "mode": "train"})
    after = np.random.rand()
    np.random.seed(7)
    expected_mask = ((np.random.rand(5, 12) < p).astype(dtype) / dtype(p)).astype(dtype)
    assert np.random.rand() == after  # the same number of draws from the global stream
    assert mask.dtype == dtype and out.dtype == dtype
    assert mask.tobytes() == expected_mask.tobytes()
    assert out.tobytes() == (x * expected_mask).tobytes()
