"""Fast twins of the recurrent layers in ``layers/rnn.py``: same signatures, same cache layouts.

What does not depend on the previous step leaves the time loop as one matrix product over all
N * T rows: the input projection ``x @ Wx + b``, the weight gradients ``dWx``, ``dWh`` and the
input gradient ``dx``, the temporal affine layer and the temporal softmax. The loop keeps only the
(N, H) x (H, G) product with the previous hidden state. Sequences are processed time-major
(T, N, ...) so that each step reads contiguous rows. The word embedding's backward sums the rows
of equal words with one sort and ``np.add.reduceat`` instead of a Python loop or ``np.add.at``.

The caches have the references' layouts, so a reference backward accepts a fast cache and the
reverse (the tests check both); each backward validates its arguments with its reference's own
check (``layers.rnn.rnn_cache``, ``lstm_cache``, ``word_embedding_cache``,
``temporal_affine_cache``), so the two report a bad cache or gradient in the same words.
Notation as in ``layers/rnn.py``.
"""

from __future__ import annotations

import numpy as np

from _rules.geometry import float_dtype
from _rules.recurrent import check_sequence, check_temporal_affine, check_temporal_scores
from layers.rnn import lstm_cache, rnn_cache, temporal_affine_cache, word_embedding_cache, word_embedding_forward

__all__ = [
    "rnn_forward_fast",
    "rnn_backward_fast",
    "lstm_forward_fast",
    "lstm_backward_fast",
    "word_embedding_forward_fast",
    "word_embedding_backward_fast",
    "temporal_affine_forward_fast",
    "temporal_affine_backward_fast",
    "temporal_softmax_loss_fast",
]


def _sigmoid(a):
    """``1 / (1 + exp(-a))`` as ``(1 + tanh(a / 2)) / 2``: one bounded ufunc pass, no overflow."""
    out = np.tanh(a * a.dtype.type(0.5))
    out += 1
    out *= a.dtype.type(0.5)
    return out


def _time_major(a, dtype):
    """(N, T, K) -> a C-contiguous (T, N, K) copy in ``dtype``."""
    return np.ascontiguousarray(a.transpose(1, 0, 2), dtype=dtype)


def _batch_major(a):
    """(T, N, K) -> a C-contiguous (N, T, K) array."""
    return np.ascontiguousarray(a.transpose(1, 0, 2))


def _project(xt, w, b):
    """``xt @ w + b`` for time-major xt (T, N, D): one (T*N, D) x (D, G) product."""
    T, N, D = xt.shape
    out = xt.reshape(T * N, D) @ w
    out += b
    return out.reshape(T, N, w.shape[1])


def _weight_grads(xt, prev_ht, da, wx):
    """dx (N, T, D), dWx, dWh, db from the pre-activation gradients ``da`` (T, N, G), time-major inputs.

    ``dWh`` needs only the previous states ``prev_ht``, not ``Wh``: the recurrent product with
    ``Wh`` stays in the caller's time loop.
    """
    T, N, G = da.shape
    D, H = xt.shape[2], prev_ht.shape[2]
    flat = da.reshape(T * N, G)
    dx = _batch_major((flat @ wx.T).reshape(T, N, D))
    return dx, xt.reshape(T * N, D).T @ flat, prev_ht.reshape(T * N, H).T @ flat, flat.sum(axis=0)


def _previous_states(h0, ht):
    """The state entering each step, (T, N, H): h0, then the outputs of steps 0 .. T-2."""
    return np.concatenate([h0[None], ht[:-1]], axis=0)


# --- vanilla RNN ---------------------------------------------------------------------------------

def rnn_forward_fast(x, h0, Wx, Wh, b):
    """:func:`layers.rnn_forward` with the input projection taken out of the time loop.

    Parameters and return values as in :func:`layers.rnn_forward`; the cache is the same
    ``(x, h0, Wx, Wh, b, h)``.
    """
    N, T, _, H = check_sequence(x, h0, Wx, Wh, b, 1)
    dtype = float_dtype(x, h0, Wx, Wh, b)
    wh = Wh.astype(dtype, copy=False)
    ht = _project(_time_major(x, dtype), Wx.astype(dtype, copy=False), b.astype(dtype, copy=False))
    prev = h0.astype(dtype, copy=False)
    for t in range(T):
        a = ht[t]
        a += prev @ wh
        np.tanh(a, out=a)
        prev = a
    h = _batch_major(ht)
    return h, (x, h0, Wx, Wh, b, h)


def rnn_backward_fast(dh, cache):
    """Gradients of :func:`rnn_forward_fast` (or :func:`layers.rnn_forward`): see :func:`layers.rnn_backward`."""
    (x, h0, Wx, Wh, b, h), (N, T, D, H) = rnn_cache(dh, cache)
    dtype = float_dtype(x, h0, Wx, Wh, b)
    ht = _time_major(h, dtype)
    deriv = 1 - ht * ht
    da = _time_major(dh, dtype) * deriv
    wh_t = Wh.astype(dtype, copy=False).T
    dz = np.empty((T, N, H), dtype)
    carry = np.zeros((N, H), dtype)
    for t in reversed(range(T)):
        dz[t] = da[t] + carry * deriv[t]
        carry = dz[t] @ wh_t
    h0f = h0.astype(dtype, copy=False)
    dx, dWx, dWh, db = _weight_grads(_time_major(x, dtype), _previous_states(h0f, ht), dz,
                                     Wx.astype(dtype, copy=False))
    return dx, carry, dWx, dWh, db


# --- LSTM ----------------------------------------------------------------------------------------

def lstm_forward_fast(x, h0, Wx, Wh, b):
    """:func:`layers.lstm_forward` with the input projection taken out of the time loop.

    Parameters and return values as in :func:`layers.lstm_forward`; the cache is the same
    ``(x, h0, Wx, Wh, b, h, c, gates)``.
    """
    N, T, _, H = check_sequence(x, h0, Wx, Wh, b, 4)
    dtype = float_dtype(x, h0, Wx, Wh, b)
    wh = Wh.astype(dtype, copy=False)
    gates = _project(_time_major(x, dtype), Wx.astype(dtype, copy=False), b.astype(dtype, copy=False))
    ht, ct = np.empty((T, N, H), dtype), np.empty((T, N, H), dtype)
    prev_h, prev_c = h0.astype(dtype, copy=False), np.zeros((N, H), dtype)
    for t in range(T):
        a = gates[t]
        a += prev_h @ wh
        a[:, :3 * H] = _sigmoid(a[:, :3 * H])
        np.tanh(a[:, 3 * H:], out=a[:, 3 * H:])
        i, f, o, g = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        np.multiply(f, prev_c, out=ct[t])
        ct[t] += i * g
        np.tanh(ct[t], out=ht[t])
        ht[t] *= o
        prev_h, prev_c = ht[t], ct[t]
    h = _batch_major(ht)
    return h, (x, h0, Wx, Wh, b, h, _batch_major(ct), _batch_major(gates))


def lstm_backward_fast(dh, cache):
    """Gradients of :func:`lstm_forward_fast` (or :func:`layers.lstm_forward`): see :func:`layers.lstm_backward`."""
    (x, h0, Wx, Wh, b, h, c, gates), (N, T, D, H) = lstm_cache(dh, cache)
    dtype = float_dtype(x, h0, Wx, Wh, b)
    gt, ct, ht, dht = (_time_major(a, dtype) for a in (gates, c, h, dh))
    i, f, o, g = gt[..., :H], gt[..., H:2 * H], gt[..., 2 * H:3 * H], gt[..., 3 * H:]
    tanh_c = np.tanh(ct)
    prev_c = _previous_states(np.zeros((N, H), dtype), ct)
    wh_t = Wh.astype(dtype, copy=False).T
    da = np.empty((T, N, 4 * H), dtype)
    dprev_h, dprev_c = np.zeros((N, H), dtype), np.zeros((N, H), dtype)
    for t in reversed(range(T)):
        d_h = dht[t] + dprev_h
        dc = dprev_c + d_h * o[t] * (1 - tanh_c[t] * tanh_c[t])
        da[t, :, :H] = dc * g[t] * i[t] * (1 - i[t])
        da[t, :, H:2 * H] = dc * prev_c[t] * f[t] * (1 - f[t])
        da[t, :, 2 * H:3 * H] = d_h * tanh_c[t] * o[t] * (1 - o[t])
        da[t, :, 3 * H:] = dc * i[t] * (1 - g[t] * g[t])
        dprev_h = da[t] @ wh_t
        dprev_c = dc * f[t]
    h0f = h0.astype(dtype, copy=False)
    dx, dWx, dWh, db = _weight_grads(_time_major(x, dtype), _previous_states(h0f, ht), da,
                                     Wx.astype(dtype, copy=False))
    return dx, dprev_h, dWx, dWh, db


# --- word embedding ------------------------------------------------------------------------------

def word_embedding_forward_fast(x, W):
    """Forward of the fast word embedding: :func:`layers.word_embedding_forward` (already one gather).

    Parameters
    ----------
    x : ndarray of int, shape (N, T)
        Word indices, each in [0, V).
    W : ndarray, shape (V, D)

    Returns
    -------
    out : ndarray, shape (N, T, D)
    cache : tuple
        ``(x, W)``, for :func:`word_embedding_backward_fast`.
    """
    return word_embedding_forward(x, W)


def word_embedding_backward_fast(dout, cache):
    """:func:`layers.word_embedding_backward` summing each word's rows after one stable sort.

    Rows of ``dout`` are ordered by word, and ``np.add.reduceat`` sums each run of one word: the
    rows of a word are added in their original order, as the reference's loop adds them.
    """
    x, W = word_embedding_cache(dout, cache)
    dtype = float_dtype(W)
    dW = np.zeros(W.shape, dtype)
    words = x.ravel()
    if words.size == 0:
        return dW
    order = np.argsort(words, kind="stable")
    sorted_words = words[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_words[1:] != sorted_words[:-1]]))
    rows = dout.reshape(-1, W.shape[1]).astype(dtype, copy=False)[order]
    dW[sorted_words[starts]] = np.add.reduceat(rows, starts, axis=0)
    return dW


# --- temporal affine and softmax -----------------------------------------------------------------

def temporal_affine_forward_fast(x, w, b):
    """:func:`layers.temporal_affine_forward` as one (N*T, D) x (D, M) product; same cache ``(x, w, b)``."""
    N, T, D, M = check_temporal_affine(x, w, b)
    dtype = float_dtype(x, w, b)
    out = x.reshape(N * T, D).astype(dtype, copy=False) @ w.astype(dtype, copy=False)
    out += b.astype(dtype, copy=False)
    return out.reshape(N, T, M), (x, w, b)


def temporal_affine_backward_fast(dout, cache):
    """Gradients of :func:`temporal_affine_forward_fast`: see :func:`layers.temporal_affine_backward`."""
    (x, w, b), (N, T, D, M) = temporal_affine_cache(dout, cache)
    dtype = float_dtype(x, w, b)
    d = dout.reshape(N * T, M).astype(dtype, copy=False)
    dx = (d @ w.astype(dtype, copy=False).T).reshape(N, T, D)
    dw = x.reshape(N * T, D).astype(dtype, copy=False).T @ d
    return dx, dw, d.sum(axis=0)


def temporal_softmax_loss_fast(x, y, mask, verbose=False):
    """:func:`layers.temporal_softmax_loss` over all N * T rows at once."""
    (N, T, V), m = check_temporal_scores(x, y, mask)
    dtype = float_dtype(x)
    flat = x.reshape(N * T, V).astype(dtype, copy=False)
    shifted = flat - flat.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows, labels, weights = np.arange(N * T), y.ravel(), m.ravel()
    loss = -(weights * (shifted[rows, labels] - log_norm[:, 0])).sum() / dtype.type(N)
    dx = np.exp(shifted - log_norm)
    dx[rows, labels] -= 1
    dx *= (weights / dtype.type(N))[:, None]
    if verbose:
        print(f"temporal_softmax_loss: dx has shape {(N, T, V)}")
    return dtype.type(loss), dx.reshape(N, T, V)
