"""Tests for layers/rnn.py: the recurrent references (RNN, LSTM, embedding, temporal affine / softmax).

Oracles: hand-computed tiny cases, float64 central differences, the closed forms of each layer
(an LSTM with the gates forced open/shut, a sequence of length 1 equal to one step), and the
properties the issue asks for (no overflow warnings, float32 kept, clear errors).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gradient_check import eval_numerical_gradient_array, rel_error
from layers.rnn import (
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
    sigmoid,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)
from tests.conftest import assert_close


def _weights(rng, D, H, gates, dtype=np.float64):
    G = gates * H
    return (0.5 * rng.standard_normal((D, G))).astype(dtype), (0.5 * rng.standard_normal((H, G))).astype(dtype), \
        (0.3 * rng.standard_normal(G)).astype(dtype)


def _numeric(f, arrays, k, dout):
    """Numeric gradient of ``sum(f(*arrays) * dout)`` with respect to ``arrays[k]``."""
    def g(v):
        args = list(arrays)
        args[k] = v
        return f(*args)
    return eval_numerical_gradient_array(g, arrays[k], dout)


# --- sigmoid -------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_exact_at_the_extremes_without_overflow_warnings(dtype):
    x = np.array([-1e4, -800.0, -50.0, 0.0, 50.0, 800.0, 1e4], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):  # exp(-1e4) = 0 underflows, rightly
            s = sigmoid(x)
    assert s.dtype == dtype
    assert s[3] == 0.5 and s[-1] == 1.0 and s[0] == 0.0
    # sigma(-50) = exp(-50) / (1 + exp(-50)) is tiny but not zero: the negative branch keeps it
    assert_close(s[2], np.exp(-50.0) / (1 + np.exp(-50.0)), dtype=dtype)
    assert_close(s + sigmoid(-x), np.ones_like(s), dtype=dtype)


# --- vanilla RNN ---------------------------------------------------------------------------------

def test_rnn_step_forward_matches_hand_computed_case():
    x = np.array([[1.0, 2.0]])
    prev_h = np.array([[0.5, -1.0]])
    Wx = np.array([[1.0, 0.0], [0.0, 0.5]])
    Wh = np.array([[2.0, 0.0], [1.0, 1.0]])
    b = np.array([0.0, 0.25])
    next_h, _ = rnn_step_forward(x, prev_h, Wx, Wh, b)
    # pre-activation: [1, 1] + [0.5*2 - 1, -1] + [0, 0.25] = [1, 0.25]
    np.testing.assert_allclose(next_h, np.tanh([[1.0, 0.25]]), rtol=1e-15)


@pytest.mark.parametrize("N, D, H", [(3, 4, 5), (1, 2, 1), (4, 3, 2)])
def test_rnn_step_backward_matches_numeric_gradient(rng, N, D, H):
    arrays = [rng.standard_normal((N, D)), rng.standard_normal((N, H)), *_weights(rng, D, H, 1)]
    out, cache = rnn_step_forward(*arrays)
    dout = rng.standard_normal(out.shape)
    grads = rnn_step_backward(dout, cache)
    for k, g in enumerate(grads):
        assert rel_error(g, _numeric(lambda *a: rnn_step_forward(*a)[0], arrays, k, dout)) < 1e-8, k


@pytest.mark.parametrize("N, T, D, H", [(2, 3, 4, 5), (1, 5, 2, 3), (3, 1, 2, 2)])
def test_rnn_backward_matches_numeric_gradient(rng, N, T, D, H):
    arrays = [rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), *_weights(rng, D, H, 1)]
    out, cache = rnn_forward(*arrays)
    dout = rng.standard_normal(out.shape)
    grads = rnn_backward(dout, cache)
    for k, g in enumerate(grads):
        assert rel_error(g, _numeric(lambda *a: rnn_forward(*a)[0], arrays, k, dout)) < 1e-8, k


def test_rnn_forward_is_its_step_applied_in_turn(rng):
    x, h0 = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5))
    Wx, Wh, b = _weights(rng, 3, 5, 1)
    h, _ = rnn_forward(x, h0, Wx, Wh, b)
    prev = h0
    for t in range(4):
        prev = np.tanh(x[:, t] @ Wx + prev @ Wh + b)
        np.testing.assert_allclose(h[:, t], prev, rtol=1e-14)


def test_rnn_backward_sends_the_gradient_of_the_last_step_back_to_h0(rng):
    # Only the last step receives an upstream gradient: dh0 is non-zero only through time.
    x, h0 = rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 4))
    Wx, Wh, b = _weights(rng, 2, 4, 1)
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    dh = np.zeros_like(h)
    dh[:, -1] = 1.0
    dx, dh0, *_ = rnn_backward(dh, cache)
    assert np.all(dx[:, 0] != 0) and np.all(dh0 != 0)


# --- word embedding ------------------------------------------------------------------------------

def test_word_embedding_picks_rows_and_adds_repeated_words():
    W = np.arange(8.0).reshape(4, 2)
    x = np.array([[0, 3, 3], [1, 0, 3]])
    out, cache = word_embedding_forward(x, W)
    np.testing.assert_array_equal(out[0, 1], [6.0, 7.0])
    np.testing.assert_array_equal(out[1, 0], [2.0, 3.0])
    dout = np.ones((2, 3, 2))
    dout[0, 1] = [10.0, 20.0]
    dW = word_embedding_backward(dout, cache)
    # word 3 occurs three times (one with [10, 20]); word 2 never
    np.testing.assert_array_equal(dW, [[2.0, 2.0], [1.0, 1.0], [0.0, 0.0], [12.0, 22.0]])


def test_word_embedding_backward_matches_numeric_gradient(rng):
    W = rng.standard_normal((5, 3))
    x = rng.integers(0, 5, size=(3, 4))
    out, cache = word_embedding_forward(x, W)
    dout = rng.standard_normal(out.shape)
    dW = word_embedding_backward(dout, cache)
    assert rel_error(dW, eval_numerical_gradient_array(lambda v: word_embedding_forward(x, v)[0], W, dout)) < 1e-9


def test_word_embedding_takes_one_word_per_caption():
    # CaptioningRNN.sample embeds the previous word of every caption: x of shape (N,)
    W = np.arange(6.0).reshape(3, 2)
    out, cache = word_embedding_forward(np.array([2, 0]), W)
    np.testing.assert_array_equal(out, [[4.0, 5.0], [0.0, 1.0]])
    np.testing.assert_array_equal(word_embedding_backward(np.ones((2, 2)), cache), [[1, 1], [0, 0], [1, 1]])


@pytest.mark.parametrize("bad, exc, words", [
    (np.array([[0, 5]]), ValueError, "x\\[0, 1\\] = 5 is out of range"),
    (np.array([[0, -1]]), ValueError, "\\[0, 5\\)"),
    (np.array([[0.0, 1.0]]), TypeError, "integer word indices"),
])
def test_word_embedding_refuses_bad_indices_naming_them(bad, exc, words):
    with pytest.raises(exc, match=words):
        word_embedding_forward(bad, np.zeros((5, 2)))


# --- LSTM ----------------------------------------------------------------------------------------

def test_lstm_step_with_gates_forced_open_and_shut_keeps_or_replaces_the_cell():
    # b = +-1000 saturates every gate: i = f = o = 1 keeps prev_c and adds g = tanh(1000) = 1
    N, D, H = 2, 3, 2
    x, prev_h, prev_c = np.zeros((N, D)), np.zeros((N, H)), np.array([[0.5, -2.0], [1.0, 0.0]])
    Wx, Wh = np.zeros((D, 4 * H)), np.zeros((H, 4 * H))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        next_h, next_c, _ = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, np.full(4 * H, 1000.0))
        np.testing.assert_array_equal(next_c, prev_c + 1)
        np.testing.assert_allclose(next_h, np.tanh(prev_c + 1), rtol=1e-15)
        # forget gate shut (b_f = -1000), input open: the cell is replaced by g = tanh(0) = 0
        b = np.concatenate([np.full(H, 1000.0), np.full(H, -1000.0), np.full(H, 1000.0), np.zeros(H)])
        _, next_c, _ = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    np.testing.assert_array_equal(next_c, np.zeros((N, H)))


def test_lstm_step_gate_order_is_i_f_o_g(rng):
    N, D, H = 2, 3, 2
    x, prev_h, prev_c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    Wx, Wh, b = _weights(rng, D, H, 4)
    next_h, next_c, _ = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = (1 / (1 + np.exp(-a[:, k * H:(k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H:])
    np.testing.assert_allclose(next_c, f * prev_c + i * g, rtol=1e-13)
    np.testing.assert_allclose(next_h, o * np.tanh(next_c), rtol=1e-13)


@pytest.mark.parametrize("N, D, H", [(3, 4, 5), (1, 2, 1), (2, 3, 2)])
def test_lstm_step_backward_matches_numeric_gradient(rng, N, D, H):
    arrays = [rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H)),
              *_weights(rng, D, H, 4)]
    next_h, next_c, cache = lstm_step_forward(*arrays)
    dnext_h, dnext_c = rng.standard_normal(next_h.shape), rng.standard_normal(next_c.shape)
    grads = lstm_step_backward(dnext_h, dnext_c, cache)
    for k, g in enumerate(grads):
        num = _numeric(lambda *a: lstm_step_forward(*a)[0], arrays, k, dnext_h) + \
            _numeric(lambda *a: lstm_step_forward(*a)[1], arrays, k, dnext_c)
        assert rel_error(g, num) < 1e-8, k


@pytest.mark.parametrize("N, T, D, H", [(2, 3, 4, 5), (1, 4, 2, 3), (3, 1, 2, 2)])
def test_lstm_backward_matches_numeric_gradient(rng, N, T, D, H):
    arrays = [rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), *_weights(rng, D, H, 4)]
    out, cache = lstm_forward(*arrays)
    dout = rng.standard_normal(out.shape)
    grads = lstm_backward(dout, cache)
    for k, g in enumerate(grads):
        assert rel_error(g, _numeric(lambda *a: lstm_forward(*a)[0], arrays, k, dout)) < 1e-8, k


def test_lstm_forward_of_one_step_is_lstm_step_from_a_zero_cell(rng):
    x, h0 = rng.standard_normal((2, 1, 3)), rng.standard_normal((2, 4))
    Wx, Wh, b = _weights(rng, 3, 4, 4)
    h, _ = lstm_forward(x, h0, Wx, Wh, b)
    next_h, _, _ = lstm_step_forward(x[:, 0], h0, np.zeros((2, 4)), Wx, Wh, b)
    np.testing.assert_array_equal(h[:, 0], next_h)


# --- temporal affine and softmax -----------------------------------------------------------------

def test_temporal_affine_is_the_affine_map_at_every_step(rng):
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    out, cache = temporal_affine_forward(x, w, b)
    np.testing.assert_allclose(out, np.einsum("ntd,dm->ntm", x, w) + b, rtol=1e-13)
    dout = rng.standard_normal(out.shape)
    for k, g in enumerate(temporal_affine_backward(dout, cache)):
        assert rel_error(g, _numeric(lambda *a: temporal_affine_forward(*a)[0], [x, w, b], k, dout)) < 1e-8


def test_temporal_softmax_loss_matches_hand_computed_case():
    # Two equal scores: p = 1/2 each; the second step is padding and counts for nothing.
    x = np.array([[[0.0, 0.0], [5.0, -5.0]]])
    y = np.array([[1, 1]])
    mask = np.array([[True, False]])
    loss, dx = temporal_softmax_loss(x, y, mask)
    assert loss == pytest.approx(np.log(2.0), rel=1e-15)
    np.testing.assert_allclose(dx, [[[0.5, -0.5], [0.0, 0.0]]], rtol=1e-15)


def test_temporal_softmax_loss_averages_over_n_and_sums_over_time(rng):
    N, T, V = 3, 4, 5
    x, y = rng.standard_normal((N, T, V)), rng.integers(0, V, size=(N, T))
    mask = rng.random((N, T)) < 0.5
    loss, dx = temporal_softmax_loss(x, y, mask)
    log_p = x - np.log(np.exp(x).sum(axis=2, keepdims=True))
    want = -sum(log_p[n, t, y[n, t]] for n in range(N) for t in range(T) if mask[n, t]) / N
    assert loss == pytest.approx(want, rel=1e-13)
    num = eval_numerical_gradient_array(lambda v: np.array(temporal_softmax_loss(v, y, mask)[0]), x, np.array(1.0))
    assert rel_error(dx, num) < 1e-7
    assert np.all(dx[~mask] == 0)


def test_temporal_softmax_loss_is_finite_for_huge_scores():
    x = np.array([[[1000.0, -1000.0, 0.0]]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dx = temporal_softmax_loss(x, np.array([[1]]), np.array([[True]]))
    assert loss == pytest.approx(2000.0) and np.all(np.isfinite(dx))


def test_temporal_softmax_loss_verbose_prints_the_gradient_shape(capsys):
    temporal_softmax_loss(np.zeros((2, 3, 4)), np.zeros((2, 3), int), np.ones((2, 3), bool), verbose=True)
    assert "(2, 3, 4)" in capsys.readouterr().out


def test_temporal_softmax_loss_refuses_a_mask_of_other_values():
    with pytest.raises(ValueError, match="mask must be boolean"):
        temporal_softmax_loss(np.zeros((1, 2, 3)), np.zeros((1, 2), int), np.array([[1, 2]]))


# --- dtypes and errors ---------------------------------------------------------------------------

def _all_layers(rng, dtype):
    """(name, forward call, backward call) on small float inputs of ``dtype``."""
    x, h0, c0 = (rng.standard_normal(s).astype(dtype) for s in ((2, 3, 4), (2, 5), (2, 5)))
    w1, w4 = _weights(rng, 4, 5, 1, dtype), _weights(rng, 4, 5, 4, dtype)
    yield "rnn_step", rnn_step_forward(x[:, 0], h0, *w1), rnn_step_backward
    yield "rnn", rnn_forward(x, h0, *w1), rnn_backward
    yield "lstm", lstm_forward(x, h0, *w4), lstm_backward
    yield "embedding", word_embedding_forward(np.array([[0, 1]]), w1[0]), word_embedding_backward
    yield "temporal_affine", temporal_affine_forward(x, w1[0], w1[2]), temporal_affine_backward
    h, c, cache = lstm_step_forward(x[:, 0], h0, c0, *w4)
    assert h.dtype == c.dtype == dtype
    assert all(g.dtype == dtype for g in lstm_step_backward(h, c, cache))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_recurrent_layer_keeps_its_dtype(rng, dtype):
    for name, (out, cache), backward in _all_layers(rng, dtype):
        assert out.dtype == dtype, name
        grads = backward(np.ones_like(out), cache)
        for g in grads if isinstance(grads, tuple) else (grads,):
            assert g.dtype == dtype, name
    loss, dx = temporal_softmax_loss(np.zeros((2, 3, 4), dtype), np.zeros((2, 3), int), np.ones((2, 3), bool))
    assert loss.dtype == dtype and dx.dtype == dtype


@pytest.mark.parametrize("call, exc, words", [
    (lambda z: rnn_step_forward(z((2, 3)), z((2, 4)), z((3, 5)), z((4, 4)), z(4)), ValueError,
     r"Wx must have shape \(D, H\) = \(3, 4\)"),
    (lambda z: rnn_forward(z((2, 3)), z((2, 4)), z((3, 4)), z((4, 4)), z(4)), ValueError, r"x must be 3-D \(N, T, D\)"),
    (lambda z: rnn_forward(z((2, 5, 3)), z((3, 4)), z((3, 4)), z((4, 4)), z(4)), ValueError, "h0 must have shape"),
    (lambda z: lstm_forward(z((2, 5, 3)), z((2, 4)), z((3, 4)), z((4, 4)), z(4)), ValueError,
     r"Wx must have shape \(D, 4H\) = \(3, 16\)"),
    (lambda z: lstm_step_forward(z((2, 3)), z((2, 4)), z((2, 5)), z((3, 16)), z((4, 16)), z(16)), ValueError,
     "prev_c must have the shape of prev_h"),
    (lambda z: temporal_affine_forward(z((2, 5, 3)), z((4, 2)), z(2)), ValueError, "w must have shape"),
    (lambda z: temporal_softmax_loss(z((2, 5, 3)), np.zeros((2, 4), int), np.ones((2, 5), bool)), ValueError,
     r"y must have shape \(N, T\) = \(2, 5\)"),
    (lambda z: rnn_backward(z((2, 5, 4)), ("not", "a", "cache")), TypeError, "returned by rnn_forward"),
    (lambda z: lstm_step_backward(z((2, 4)), z((2, 4)), None), TypeError, "returned by lstm_step_forward"),
])
def test_bad_arguments_raise_a_message_naming_them(call, exc, words):
    with pytest.raises(exc, match=words):
        call(np.zeros)
