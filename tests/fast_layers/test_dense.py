"""fast_layers/dense.py: the branch-free ReLU backward gives the reference's np.where bits."""

from __future__ import annotations

import numpy as np
import pytest

from fast_layers import relu_backward_fast, relu_forward_fast
from layers import relu_backward, relu_forward
from tests.conftest import assert_same_bits, assert_unchanged, snapshot


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_fast_equals_the_reference_bit_for_bit_on_special_values(dtype):
    # Every pair (x, dout) of special values: dout's exact bits where x > 0, +0.0 elsewhere
    # (x NaN included), never dout * (x > 0), which gives -0.0 and NaN there.
    x, dout = np.meshgrid(*2 * [np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-40, -1e-40, 1.0, -2.5, 3e38],
                                         dtype)], indexing="ij")
    _, cache = relu_forward_fast(x)
    before = snapshot((dout, cache))
    dx = relu_backward_fast(dout, cache)
    assert_same_bits(dx, relu_backward(dout, relu_forward(x)[1]))
    assert_same_bits(dx, np.where(x > 0, dout, dtype(0)))
    assert_unchanged(before, (dout, cache))


@pytest.mark.parametrize("x_dtype, dout_dtype", [(np.float32, np.float64), (np.int64, np.float32),
                                                 (np.float64, np.float32)])
def test_relu_backward_fast_returns_the_layer_dtype_like_the_reference(x_dtype, dout_dtype):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((5, 4)) * 3).astype(x_dtype)
    dout = rng.standard_normal((5, 4)).astype(dout_dtype)
    assert_same_bits(relu_backward_fast(dout, (x,)), relu_backward(dout, (x,)))


def test_relu_backward_fast_takes_non_contiguous_dout_and_0d_arrays(rng):
    x = rng.standard_normal((4, 6))
    dout = rng.standard_normal((6, 4)).T  # Fortran-ordered view
    np.testing.assert_array_equal(relu_backward_fast(dout, (x,)), np.where(x > 0, dout, 0.0))
    for value in (-1.0, 2.0):
        dx0 = relu_backward_fast(np.array(5.0), relu_forward_fast(np.array(value))[1])
        assert isinstance(dx0, np.ndarray) and dx0.shape == () and dx0 == (5.0 if value > 0 else 0.0)


def test_relu_backward_fast_refuses_a_wrong_dout_naming_its_forward():
    with pytest.raises(ValueError, match="relu_forward_fast"):
        relu_backward_fast(np.zeros((2, 3)), (np.zeros((3, 2)),))
