"""Tests for fast_layers/rnn.py: every fast recurrent layer agrees with its reference in layers/rnn.py.

Over grids of N, T, D, H, V (N = 1 and T = 1 included), both dtypes, non-contiguous inputs, caches
exchanged between the twins, and any shape hypothesis draws.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fast_layers as F
import layers as L
from tests.conftest import assert_close, max_examples

DTYPES = [np.float32, np.float64]
SHAPES = [(2, 3, 4, 5), (1, 4, 2, 3), (3, 1, 3, 2), (4, 7, 5, 6)]   # (N, T, D, H)


def _sequence_args(rng, N, T, D, H, gates, dtype, strided=False):
    G = gates * H
    x = rng.standard_normal((N, T, 2 * D) if strided else (N, T, D))
    x = x[..., ::2] if strided else x                                  # a non-contiguous view
    return [x.astype(dtype, copy=False), rng.standard_normal((N, H)).astype(dtype),
            (rng.standard_normal((D, G)) / np.sqrt(D)).astype(dtype),
            (rng.standard_normal((H, G)) / np.sqrt(H)).astype(dtype), (0.3 * rng.standard_normal(G)).astype(dtype)]


def _agree(naive, fast, dtype, what):
    naive = naive if isinstance(naive, tuple) else (naive,)
    fast = fast if isinstance(fast, tuple) else (fast,)
    assert len(naive) == len(fast), what
    for k, (a, b) in enumerate(zip(fast, naive)):
        assert a.dtype == b.dtype == dtype, f"{what} output {k}"
        assert_close(a, b, dtype=dtype, scale=10, err_msg=f"{what} output {k}")


@pytest.mark.parametrize("cell, gates", [("rnn", 1), ("lstm", 4)])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strided", [False, True])
def test_fast_sequence_layer_matches_naive_and_caches_are_interchangeable(cell, gates, shape, dtype, strided):
    rng = np.random.default_rng(0)
    args = _sequence_args(rng, *shape, gates, dtype, strided)
    fwd, bwd = getattr(L, f"{cell}_forward"), getattr(L, f"{cell}_backward")
    ffwd, fbwd = getattr(F, f"{cell}_forward_fast"), getattr(F, f"{cell}_backward_fast")
    h, cache = fwd(*args)
    fh, fcache = ffwd(*args)
    _agree(h, fh, dtype, f"{cell}_forward_fast")
    assert len(cache) == len(fcache)
    for k, (a, b) in enumerate(zip(cache, fcache)):
        assert_close(b, a, dtype=dtype, scale=10, err_msg=f"cache entry {k}")
    dh = rng.standard_normal(h.shape).astype(dtype)
    want = bwd(dh, cache)
    _agree(want, fbwd(dh, fcache), dtype, f"{cell}_backward_fast")
    _agree(want, fbwd(dh, cache), dtype, f"{cell}_backward_fast on the reference's cache")
    _agree(want, bwd(dh, fcache), dtype, f"{cell}_backward on the fast cache")


@pytest.mark.parametrize("V, D, N, T", [(5, 3, 2, 4), (3, 4, 5, 6), (50, 8, 2, 3), (1, 2, 3, 2)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_fast_word_embedding_matches_naive_with_repeated_and_unused_words(V, D, N, T, dtype):
    rng = np.random.default_rng(1)
    W, x = rng.standard_normal((V, D)).astype(dtype), rng.integers(0, V, size=(N, T))
    out, cache = L.word_embedding_forward(x, W)
    fout, fcache = F.word_embedding_forward_fast(x, W)
    np.testing.assert_array_equal(fout, out)
    dout = rng.standard_normal(out.shape).astype(dtype)
    _agree(L.word_embedding_backward(dout, cache), F.word_embedding_backward_fast(dout, fcache), dtype,
           "word_embedding_backward_fast")


def test_fast_word_embedding_backward_adds_in_occurrence_order_like_the_loop():
    # Rows 1e16, 1, -1e16 of one word: the order of the additions decides the result (0 or 1).
    W = np.zeros((2, 1))
    x = np.array([[1, 1, 1]])
    dout = np.array([[[1e16], [1.0], [-1e16]]])
    _, cache = L.word_embedding_forward(x, W)
    np.testing.assert_array_equal(F.word_embedding_backward_fast(dout, cache), L.word_embedding_backward(dout, cache))


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 1, 3, 2), (5, 2, 7, 3)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_fast_temporal_affine_matches_naive(shape, dtype):
    rng = np.random.default_rng(2)
    N, T, D, M = shape
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in ((N, T, D), (D, M), (M,)))
    out, cache = L.temporal_affine_forward(x, w, b)
    fout, fcache = F.temporal_affine_forward_fast(x, w, b)
    _agree(out, fout, dtype, "temporal_affine_forward_fast")
    dout = rng.standard_normal(out.shape).astype(dtype)
    _agree(L.temporal_affine_backward(dout, cache), F.temporal_affine_backward_fast(dout, fcache), dtype,
           "temporal_affine_backward_fast")


@pytest.mark.parametrize("mask_kind", ["random", "ones", "zeros", "ints"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_fast_temporal_softmax_matches_naive(mask_kind, dtype):
    rng = np.random.default_rng(3)
    N, T, V = 4, 5, 6
    x, y = (3 * rng.standard_normal((N, T, V))).astype(dtype), rng.integers(0, V, size=(N, T))
    mask = {"random": rng.random((N, T)) < 0.5, "ones": np.ones((N, T), bool), "zeros": np.zeros((N, T), bool),
            "ints": (rng.random((N, T)) < 0.5).astype(int)}[mask_kind]
    loss, dx = L.temporal_softmax_loss(x, y, mask)
    floss, fdx = F.temporal_softmax_loss_fast(x, y, mask)
    assert floss.dtype == loss.dtype == dtype
    assert_close(floss, loss, dtype=dtype, scale=10)
    _agree(dx, fdx, dtype, "temporal_softmax_loss_fast dx")


@st.composite
def _sequences(draw):
    N, T, D, H = (draw(st.integers(1, n)) for n in (4, 6, 5, 5))
    return N, T, D, H, draw(st.sampled_from(["rnn", "lstm"])), draw(st.sampled_from(DTYPES)), \
        draw(st.integers(0, 2**32 - 1))


@settings(max_examples=max_examples(40), deadline=None)
@given(_sequences())
def test_fast_recurrent_layers_match_naive_for_any_shape(case):
    N, T, D, H, cell, dtype, seed = case
    rng = np.random.default_rng(seed)
    args = _sequence_args(rng, N, T, D, H, 1 if cell == "rnn" else 4, dtype)
    h, cache = getattr(L, f"{cell}_forward")(*args)
    fh, fcache = getattr(F, f"{cell}_forward_fast")(*args)
    _agree(h, fh, dtype, cell)
    dh = rng.standard_normal(h.shape).astype(dtype)
    _agree(getattr(L, f"{cell}_backward")(dh, cache), getattr(F, f"{cell}_backward_fast")(dh, fcache), dtype, cell)
