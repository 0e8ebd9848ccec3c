"""Recurrent layers: vanilla RNN and LSTM cells, word embeddings, and the per-time-step affine and softmax.

These are the references: each loops over time steps exactly as the math is written, and each
sequence layer is its step function applied T times (the sequence backward calls the step backward,
adding the gradient arriving from the next step to the one from above). The fast twins, with the
sequence-wide matrix products taken out of the loop, live in ``fast_layers/rnn.py``.

Notation
--------
N : batch size
T : number of time steps
D : input dimension (for captioning: the word vector dimension)
H : hidden state dimension
V : vocabulary size (number of words, number of classes of the temporal softmax)
M : output dimension of the temporal affine layer

Gates of the LSTM, in the course's order along the 4H axis of ``Wx``, ``Wh`` and ``b``:
``i`` input, ``f`` forget, ``o`` output (sigmoids), ``g`` candidate cell value (tanh).
"""

from __future__ import annotations

import numpy as np

from _rules.cache import unpack_cache
from _rules.geometry import check_array, check_dout, float_dtype
from _rules.recurrent import (
    check_cell,
    check_dnext_c,
    check_embedding,
    check_prev_c,
    check_sequence,
    check_states,
    check_temporal_affine,
    check_temporal_scores,
    check_words,
)

__all__ = [
    "sigmoid",
    "rnn_step_forward",
    "rnn_step_backward",
    "rnn_forward",
    "rnn_backward",
    "word_embedding_forward",
    "word_embedding_backward",
    "lstm_step_forward",
    "lstm_step_backward",
    "lstm_forward",
    "lstm_backward",
    "temporal_affine_forward",
    "temporal_affine_backward",
    "temporal_softmax_loss",
]


def sigmoid(x):
    """Logistic function ``1 / (1 + exp(-x))``, without overflow for any finite x.

    Both branches exponentiate ``-|x|`` (at most 1), so neither ``x = -1000`` nor ``x = 1000``
    overflows or warns. The dtype of a floating x is kept.

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    ndarray, shape of x
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(float_dtype(x))
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)


def _cast(dtype, *arrays):
    return [a.astype(dtype, copy=False) for a in arrays]


# --- vanilla RNN ---------------------------------------------------------------------------------

def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """Advance a tanh RNN by one time step: ``next_h = tanh(x @ Wx + prev_h @ Wh + b)``.

    Parameters
    ----------
    x : ndarray, shape (N, D)
        The inputs at this step.
    prev_h : ndarray, shape (N, H)
        The hidden state after the previous step.
    Wx : ndarray, shape (D, H)
    Wh : ndarray, shape (H, H)
    b : ndarray, shape (H,)

    Returns
    -------
    next_h : ndarray, shape (N, H)
        dtype is the floating promotion of the inputs.
    cache : tuple
        ``(x, prev_h, Wx, Wh, b, next_h)``: the arguments, unmodified, and the output (whose
        ``1 - next_h**2`` is the derivative of the tanh).
    """
    check_cell(x, prev_h, Wx, Wh, b, 1)
    dtype = float_dtype(x, prev_h, Wx, Wh, b)
    xf, hf, wx, wh, bf = _cast(dtype, x, prev_h, Wx, Wh, b)
    next_h = np.tanh(xf @ wx + hf @ wh + bf)
    return next_h, (x, prev_h, Wx, Wh, b, next_h)


def rnn_step_backward(dnext_h, cache):
    """Gradients of :func:`rnn_step_forward`.

    Parameters
    ----------
    dnext_h : ndarray, shape (N, H)
    cache : tuple
        ``(x, prev_h, Wx, Wh, b, next_h)`` from :func:`rnn_step_forward`.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dprev_h : ndarray, shape (N, H)
    dWx : ndarray, shape (D, H)
    dWh : ndarray, shape (H, H)
    db : ndarray, shape (H,)
    """
    x, prev_h, Wx, Wh, b, next_h = unpack_cache(cache, ("x", "prev_h", "Wx", "Wh", "b", "next_h"),
                                                "rnn_step_forward")
    N, _, H = check_cell(x, prev_h, Wx, Wh, b, 1)
    check_array(next_h, "cache next_h", 2, "(N, H)")
    if next_h.shape != (N, H):
        raise ValueError(f"cache next_h has shape {next_h.shape}, expected (N, H) = {(N, H)}")
    check_dout(dnext_h, (N, H), "the output of rnn_step_forward")
    dtype = float_dtype(x, prev_h, Wx, Wh, b)
    xf, hf, wx, wh, h1, d = _cast(dtype, x, prev_h, Wx, Wh, next_h, dnext_h)
    dz = d * (1 - h1 * h1)
    return dz @ wx.T, dz @ wh.T, xf.T @ dz, hf.T @ dz, dz.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    """Run a tanh RNN over a whole sequence: one :func:`rnn_step_forward` per time step.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
        The input sequences.
    h0 : ndarray, shape (N, H)
        The initial hidden state.
    Wx : ndarray, shape (D, H)
    Wh : ndarray, shape (H, H)
    b : ndarray, shape (H,)

    Returns
    -------
    h : ndarray, shape (N, T, H)
        The hidden state after every step; dtype is the floating promotion of the inputs.
    cache : tuple
        ``(x, h0, Wx, Wh, b, h)``: the arguments, unmodified, and the output.
    """
    N, T, _, H = check_sequence(x, h0, Wx, Wh, b, 1)
    dtype = float_dtype(x, h0, Wx, Wh, b)
    h = np.empty((N, T, H), dtype)
    prev_h = h0
    for t in range(T):
        h[:, t], _ = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        prev_h = h[:, t]
    return h, (x, h0, Wx, Wh, b, h)


def rnn_cache(dh, cache):
    """Validate the arguments of an RNN backward: one check for :func:`rnn_backward` and its fast twin.

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
    cache : tuple
        ``(x, h0, Wx, Wh, b, h)`` from :func:`rnn_forward` (or its fast twin).

    Returns
    -------
    arrays : tuple
        The cached ``(x, h0, Wx, Wh, b, h)``, unmodified.
    sizes : tuple of int
        ``(N, T, D, H)``.
    """
    x, h0, Wx, Wh, b, h = unpack_cache(cache, ("x", "h0", "Wx", "Wh", "b", "h"), "rnn_forward")
    N, T, D, H = check_sequence(x, h0, Wx, Wh, b, 1)
    check_states(h, (N, T, H), "h")
    check_dout(dh, (N, T, H), "the output of rnn_forward")
    return (x, h0, Wx, Wh, b, h), (N, T, D, H)


def rnn_backward(dh, cache):
    """Gradients of :func:`rnn_forward` (backpropagation through time).

    The hidden state of step t feeds both the loss at step t (``dh[:, t]``) and step t + 1, so the
    gradient flowing into step t is the sum of the two.

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
        Gradient of the loss with respect to every hidden state ``h``.
    cache : tuple
        ``(x, h0, Wx, Wh, b, h)`` from :func:`rnn_forward`.

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dh0 : ndarray, shape (N, H)
    dWx : ndarray, shape (D, H)
    dWh : ndarray, shape (H, H)
    db : ndarray, shape (H,)
    """
    (x, h0, Wx, Wh, b, h), (N, T, D, H) = rnn_cache(dh, cache)
    dtype = float_dtype(x, h0, Wx, Wh, b)
    dx = np.empty((N, T, D), dtype)
    dWx, dWh, db = np.zeros(Wx.shape, dtype), np.zeros(Wh.shape, dtype), np.zeros(b.shape, dtype)
    dprev_h = np.zeros((N, H), dtype)
    for t in reversed(range(T)):
        prev_h = h[:, t - 1] if t > 0 else h0
        step = (x[:, t], prev_h, Wx, Wh, b, h[:, t])
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev_h, step)
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


# --- word embedding ------------------------------------------------------------------------------

def word_embedding_forward(x, W):
    """Look up the vector of every word: ``out[n, t] = W[x[n, t]]``.

    Parameters
    ----------
    x : ndarray of int, shape (N, T)
        Word indices, each in [0, V). (Any shape works; the output gets a trailing D axis.)
    W : ndarray, shape (V, D)
        One vector per word of the vocabulary.

    Returns
    -------
    out : ndarray, shape (N, T, D)
        In the floating dtype of W.
    cache : tuple
        ``(x, W)``: the arguments, unmodified.
    """
    V, _ = check_embedding(W)
    check_words(x, V)
    out = W.astype(float_dtype(W), copy=False)[x]
    return out, (x, W)


def word_embedding_cache(dout, cache):
    """Validate the arguments of a word embedding backward: one check for both twins.

    Parameters
    ----------
    dout : ndarray, shape (N, T, D)
        The shape of x followed by D (the indices may have any shape).
    cache : tuple
        ``(x, W)`` from :func:`word_embedding_forward`.

    Returns
    -------
    x : ndarray of int, shape (N, T)
    W : ndarray, shape (V, D)
        Both as cached, unmodified.
    """
    x, W = unpack_cache(cache, ("x", "W"), "word_embedding_forward")
    check_array(W, "cache W", 2, "(V, D)")
    check_words(x, W.shape[0])
    check_dout(dout, x.shape + (W.shape[1],), "the output of word_embedding_forward")
    return x, W


def word_embedding_backward(dout, cache):
    """Gradient of :func:`word_embedding_forward` with respect to W (the indices have none).

    A word that occurs several times receives the sum of the gradients of all its occurrences.

    Parameters
    ----------
    dout : ndarray, shape (N, T, D)
    cache : tuple
        ``(x, W)`` from :func:`word_embedding_forward`.

    Returns
    -------
    dW : ndarray, shape (V, D)
        One array, not a tuple (CS231n convention).
    """
    x, W = word_embedding_cache(dout, cache)
    dtype = float_dtype(W)
    dW = np.zeros(W.shape, dtype)
    for idx in np.ndindex(x.shape):
        dW[x[idx]] += dout[idx]
    return dW


# --- LSTM ----------------------------------------------------------------------------------------

def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """Advance an LSTM by one time step.

    With ``a = x @ Wx + prev_h @ Wh + b`` cut into four blocks of H columns (i, f, o, g)::

        i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o)      g = tanh(a_g)
        next_c = f * prev_c + i * g                             next_h = o * tanh(next_c)

    Parameters
    ----------
    x : ndarray, shape (N, D)
    prev_h : ndarray, shape (N, H)
    prev_c : ndarray, shape (N, H)
        The cell state after the previous step.
    Wx : ndarray, shape (D, 4H)
    Wh : ndarray, shape (H, 4H)
    b : ndarray, shape (4H,)

    Returns
    -------
    next_h : ndarray, shape (N, H)
    next_c : ndarray, shape (N, H)
    cache : tuple
        ``(x, prev_h, prev_c, Wx, Wh, b, gates, next_c)``: the arguments, unmodified, the gate
        values ``gates`` of shape (N, 4H) (i, f, o, g side by side, after their nonlinearities)
        and the new cell state.
    """
    N, _, H = check_cell(x, prev_h, Wx, Wh, b, 4)
    check_prev_c(prev_c, (N, H))
    dtype = float_dtype(x, prev_h, prev_c, Wx, Wh, b)
    xf, hf, cf, wx, wh, bf = _cast(dtype, x, prev_h, prev_c, Wx, Wh, b)
    a = xf @ wx + hf @ wh + bf
    gates = np.concatenate([sigmoid(a[:, :3 * H]), np.tanh(a[:, 3 * H:])], axis=1)
    i, f, o, g = _split(gates, H)
    next_c = f * cf + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, b, gates, next_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    """Gradients of :func:`lstm_step_forward`.

    The cell state reaches the loss both directly (``dnext_c``) and through ``next_h``, and
    ``prev_c`` reaches ``next_c`` through the forget gate: ``dprev_c = dc * f``.

    Parameters
    ----------
    dnext_h : ndarray, shape (N, H)
    dnext_c : ndarray, shape (N, H)
    cache : tuple
        ``(x, prev_h, prev_c, Wx, Wh, b, gates, next_c)`` from :func:`lstm_step_forward`.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dprev_h : ndarray, shape (N, H)
    dprev_c : ndarray, shape (N, H)
    dWx : ndarray, shape (D, 4H)
    dWh : ndarray, shape (H, 4H)
    db : ndarray, shape (4H,)
    """
    x, prev_h, prev_c, Wx, Wh, b, gates, next_c = unpack_cache(
        cache, ("x", "prev_h", "prev_c", "Wx", "Wh", "b", "gates", "next_c"), "lstm_step_forward")
    N, _, H = check_cell(x, prev_h, Wx, Wh, b, 4)
    check_prev_c(prev_c, (N, H))
    check_states(gates, (N, 4 * H), "gates")
    check_states(next_c, (N, H), "next_c")
    check_dout(dnext_h, (N, H), "next_h of lstm_step_forward")
    check_dnext_c(dnext_c, (N, H))
    dtype = float_dtype(x, prev_h, prev_c, Wx, Wh, b)
    xf, hf, cf, wx, wh, gf, c1, dh, dc_in = _cast(dtype, x, prev_h, prev_c, Wx, Wh, gates, next_c, dnext_h, dnext_c)
    i, f, o, g = _split(gf, H)
    tanh_c = np.tanh(c1)
    dc = dc_in + dh * o * (1 - tanh_c * tanh_c)
    da = np.concatenate([
        dc * g * i * (1 - i),                # input gate
        dc * cf * f * (1 - f),               # forget gate
        dh * tanh_c * o * (1 - o),           # output gate
        dc * i * (1 - g * g),                # candidate
    ], axis=1)
    return da @ wx.T, da @ wh.T, dc * f, xf.T @ da, hf.T @ da, da.sum(axis=0)


def _split(gates, H):
    return gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]


def lstm_forward(x, h0, Wx, Wh, b):
    """Run an LSTM over a whole sequence from ``h0`` and a zero cell state.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    h0 : ndarray, shape (N, H)
    Wx : ndarray, shape (D, 4H)
    Wh : ndarray, shape (H, 4H)
    b : ndarray, shape (4H,)

    Returns
    -------
    h : ndarray, shape (N, T, H)
        The hidden state after every step (the cell states are internal and not returned).
    cache : tuple
        ``(x, h0, Wx, Wh, b, h, c, gates)``: the arguments, unmodified, the output, the cell
        state ``c`` after every step (N, T, H) and the gate values ``gates`` (N, T, 4H).
    """
    N, T, _, H = check_sequence(x, h0, Wx, Wh, b, 4)
    dtype = float_dtype(x, h0, Wx, Wh, b)
    h, c, gates = np.empty((N, T, H), dtype), np.empty((N, T, H), dtype), np.empty((N, T, 4 * H), dtype)
    prev_h, prev_c = h0, np.zeros((N, H), dtype)
    for t in range(T):
        h[:, t], c[:, t], step = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        gates[:, t] = step[6]
        prev_h, prev_c = h[:, t], c[:, t]
    return h, (x, h0, Wx, Wh, b, h, c, gates)


def lstm_cache(dh, cache):
    """Validate the arguments of an LSTM backward: one check for :func:`lstm_backward` and its fast twin.

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
    cache : tuple
        ``(x, h0, Wx, Wh, b, h, c, gates)`` from :func:`lstm_forward` (or its fast twin).

    Returns
    -------
    arrays : tuple
        The cached ``(x, h0, Wx, Wh, b, h, c, gates)``, unmodified; ``c`` has shape (N, T, H),
        ``gates`` (N, T, 4H).
    sizes : tuple of int
        ``(N, T, D, H)``.
    """
    x, h0, Wx, Wh, b, h, c, gates = unpack_cache(cache, ("x", "h0", "Wx", "Wh", "b", "h", "c", "gates"),
                                                 "lstm_forward")
    N, T, D, H = check_sequence(x, h0, Wx, Wh, b, 4)
    check_states(h, (N, T, H), "h")
    check_states(c, (N, T, H), "c")
    check_states(gates, (N, T, 4 * H), "gates")
    check_dout(dh, (N, T, H), "the output of lstm_forward")
    return (x, h0, Wx, Wh, b, h, c, gates), (N, T, D, H)


def lstm_backward(dh, cache):
    """Gradients of :func:`lstm_forward` (backpropagation through time).

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
    cache : tuple
        ``(x, h0, Wx, Wh, b, h, c, gates)`` from :func:`lstm_forward`.

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dh0 : ndarray, shape (N, H)
    dWx : ndarray, shape (D, 4H)
    dWh : ndarray, shape (H, 4H)
    db : ndarray, shape (4H,)
    """
    (x, h0, Wx, Wh, b, h, c, gates), (N, T, D, H) = lstm_cache(dh, cache)
    dtype = float_dtype(x, h0, Wx, Wh, b)
    dx = np.empty((N, T, D), dtype)
    dWx, dWh, db = np.zeros(Wx.shape, dtype), np.zeros(Wh.shape, dtype), np.zeros(b.shape, dtype)
    dprev_h, dprev_c = np.zeros((N, H), dtype), np.zeros((N, H), dtype)
    zero_c = np.zeros((N, H), dtype)
    for t in reversed(range(T)):
        prev_h, prev_c = (h[:, t - 1], c[:, t - 1]) if t > 0 else (h0, zero_c)
        step = (x[:, t], prev_h, prev_c, Wx, Wh, b, gates[:, t], c[:, t])
        dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t] + dprev_h, dprev_c, step)
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


# --- temporal affine and softmax -----------------------------------------------------------------

def temporal_affine_forward(x, w, b):
    """Apply the same affine map at every time step: ``out[:, t] = x[:, t] @ w + b``.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    w : ndarray, shape (D, M)
    b : ndarray, shape (M,)

    Returns
    -------
    out : ndarray, shape (N, T, M)
    cache : tuple
        ``(x, w, b)``: the arguments, unmodified.
    """
    N, T, _, M = check_temporal_affine(x, w, b)
    dtype = float_dtype(x, w, b)
    xf, wf, bf = _cast(dtype, x, w, b)
    out = np.empty((N, T, M), dtype)
    for t in range(T):
        out[:, t] = xf[:, t] @ wf + bf
    return out, (x, w, b)


def temporal_affine_cache(dout, cache):
    """Validate the arguments of a temporal affine backward: one check for both twins.

    Parameters
    ----------
    dout : ndarray, shape (N, T, M)
    cache : tuple
        ``(x, w, b)`` from :func:`temporal_affine_forward`.

    Returns
    -------
    arrays : tuple
        The cached ``(x, w, b)``, unmodified: x (N, T, D), w (D, M), b (M,).
    sizes : tuple of int
        ``(N, T, D, M)``.
    """
    x, w, b = unpack_cache(cache, ("x", "w", "b"), "temporal_affine_forward")
    N, T, D, M = check_temporal_affine(x, w, b)
    check_dout(dout, (N, T, M), "the output of temporal_affine_forward")
    return (x, w, b), (N, T, D, M)


def temporal_affine_backward(dout, cache):
    """Gradients of :func:`temporal_affine_forward`: each step's, summed over steps for w and b.

    Parameters
    ----------
    dout : ndarray, shape (N, T, M)
    cache : tuple
        ``(x, w, b)`` from :func:`temporal_affine_forward`.

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dw : ndarray, shape (D, M)
    db : ndarray, shape (M,)
    """
    (x, w, b), (N, T, D, M) = temporal_affine_cache(dout, cache)
    dtype = float_dtype(x, w, b)
    xf, wf, d = _cast(dtype, x, w, dout)
    dx = np.empty((N, T, D), dtype)
    dw, db = np.zeros((D, M), dtype), np.zeros(M, dtype)
    for t in range(T):
        dx[:, t] = d[:, t] @ wf.T
        dw += xf[:, t].T @ d[:, t]
        db += d[:, t].sum(axis=0)
    return dx, dw, db


def temporal_softmax_loss(x, y, mask, verbose=False):
    """Softmax cross-entropy at every time step where ``mask`` is set, summed over steps, averaged over N.

    ``loss = -(1/N) sum_{n,t} mask[n, t] * log softmax(x[n, t])[y[n, t]]``. The padding steps of a
    batch of captions of different lengths (``mask`` False) add nothing to the loss or the gradient.

    Parameters
    ----------
    x : ndarray, shape (N, T, V)
        Scores.
    y : ndarray of int, shape (N, T)
        Labels in [0, V).
    mask : ndarray of bool, shape (N, T)
        Which steps count (0/1 numbers are accepted too).
    verbose : bool, optional
        Print the shape of the gradient (the course's debugging aid).

    Returns
    -------
    loss : numpy floating scalar
        In the floating dtype of x.
    dx : ndarray, shape (N, T, V)
    """
    (N, T, V), m = check_temporal_scores(x, y, mask)
    dtype = float_dtype(x)
    xf = x.astype(dtype, copy=False)
    loss = dtype.type(0)
    dx = np.empty((N, T, V), dtype)
    rows = np.arange(N)
    for t in range(T):
        shifted = xf[:, t] - xf[:, t].max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss -= (m[:, t] * log_probs[rows, y[:, t]]).sum()
        probs = np.exp(log_probs)
        probs[rows, y[:, t]] -= 1
        dx[:, t] = probs * m[:, t, None]
    dx /= dtype.type(N)
    if verbose:
        print(f"temporal_softmax_loss: dx has shape {dx.shape}")
    return dtype.type(loss / dtype.type(N)), dx
