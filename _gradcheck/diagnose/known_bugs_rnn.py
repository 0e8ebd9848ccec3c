"""The classic mistakes of the recurrent layers, written out (see ``known_bugs`` for how they are used).

Each hypothesis is the layer's gradient (or loss) computed with one well-known mistake, on the
arguments of the check in the order of the specification (``_gradcheck/grader/specs_rnn.py``: the LSTM
step's ``dout`` stacks the gradients of next_h and next_c; the embedding's arguments are ``(W, x)``):

* backpropagation through time that does not add the gradient coming from step t + 1 to the
  gradient of h at step t (each step sees only ``dh[:, t]``);
* an LSTM cell gradient that misses the forget gate (``dprev_c = dc`` instead of ``dc * f``) or the
  path through next_h (``dprev_c = dnext_c * f``);
* a temporal softmax that ignores the mask, or averages over the unmasked steps instead of N;
* a word-embedding backward written ``dW[x] = dout`` (or ``dW[x] += dout``, which numpy buffers
  the same way): a repeated word keeps one occurrence instead of the sum that ``np.add.at`` gives.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FAMILIES", "backward_hypotheses", "forward_hypotheses"]

FAMILIES = ("rnn", "lstm", "lstm_step", "word_embedding", "temporal_softmax")

_NO_BPTT = ("the gradient through time is lost: each step's backward gets only dh[:, t], without the gradient "
            "of h[:, t] coming back from step t + 1 (dprev_h of the later step must be added to dh[:, t])")
_NO_BPTT_H = ("the gradient through time of the hidden state is lost: each step's backward gets only dh[:, t], "
              "without dprev_h from step t + 1 (the cell state's dprev_c is passed on, dprev_h must be too)")
_NO_FORGET = ("dprev_c misses the forget gate: next_c = f * prev_c + i * g, so dprev_c = dc * f, where dc is the "
              "cell's whole gradient (dnext_c + dnext_h * o * (1 - tanh(next_c)**2))")
_NO_H_PATH = ("dprev_c misses the path through next_h: the cell's gradient is dnext_c + dnext_h * o * "
              "(1 - tanh(next_c)**2), and only that sum times the forget gate f goes to prev_c")


def _sig(a):
    return 1 / (1 + np.exp(-a))


def _f64(args):
    return [np.asarray(a, np.float64) for a in args]


# --- one LSTM step, forward and backward with the mistakes ----------------------------------------

def _lstm_step(x, h, c, Wx, Wh, b):
    H = h.shape[1]
    a = x @ Wx + h @ Wh + b
    i, f, o, g = _sig(a[:, :H]), _sig(a[:, H:2 * H]), _sig(a[:, 2 * H:3 * H]), np.tanh(a[:, 3 * H:])
    c1 = f * c + i * g
    return o * np.tanh(c1), c1, (i, f, o, g, c1)


def _lstm_step_grads(x, h, c, Wx, Wh, dh, dc_in, gates, cell_bug=None):
    i, f, o, g, c1 = gates
    t = np.tanh(c1)
    dc = dc_in + dh * o * (1 - t * t)
    da = np.concatenate([dc * g * i * (1 - i), dc * c * f * (1 - f), dh * t * o * (1 - o), dc * i * (1 - g * g)], 1)
    dprev_c = {None: dc * f, "forget": dc, "h_path": dc_in * f}[cell_bug]
    return {"x": da @ Wx.T, "prev_h": da @ Wh.T, "prev_c": dprev_c, "Wx": x.T @ da, "Wh": h.T @ da,
            "b": da.sum(axis=0)}


def _lstm_step_hypotheses(args, dout):
    x, h, c, Wx, Wh, b = _f64(args)
    *_, gates = _lstm_step(x, h, c, Wx, Wh, b)
    return [(name, msg, _lstm_step_grads(x, h, c, Wx, Wh, dout[0], dout[1], gates, bug)[name])
            for bug, msg in (("forget", _NO_FORGET), ("h_path", _NO_H_PATH)) for name in ("prev_c",)]


# --- sequences -----------------------------------------------------------------------------------

def _rnn_grads(x, h0, Wx, Wh, b, dh):
    """dx, dh0, dWx, dWh, db of a tanh RNN whose steps see only dh[:, t]."""
    N, T, _ = x.shape
    hs, prev = [], h0
    for t in range(T):
        prev = np.tanh(x[:, t] @ Wx + prev @ Wh + b)
        hs.append(prev)
    g = {"x": np.zeros_like(x), "h0": None, "Wx": np.zeros_like(Wx), "Wh": np.zeros_like(Wh), "b": np.zeros_like(b)}
    for t in reversed(range(T)):
        prev = hs[t - 1] if t > 0 else h0
        dz = dh[:, t] * (1 - hs[t] ** 2)
        g["x"][:, t] = dz @ Wx.T
        g["Wx"] += x[:, t].T @ dz
        g["Wh"] += prev.T @ dz
        g["b"] += dz.sum(axis=0)
        g["h0"] = dz @ Wh.T
    return g


def _lstm_grads(x, h0, Wx, Wh, b, dh, carry_h=True, carry_c=True, cell_bug=None):
    N, T, _ = x.shape
    H = h0.shape[1]
    steps, h, c = [], h0, np.zeros((N, H))
    for t in range(T):
        h_next, c_next, gates = _lstm_step(x[:, t], h, c, Wx, Wh, b)
        steps.append((h, c, gates))
        h, c = h_next, c_next
    g = {"x": np.zeros_like(x), "h0": None, "Wx": np.zeros_like(Wx), "Wh": np.zeros_like(Wh), "b": np.zeros_like(b)}
    dprev_h, dprev_c = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        h, c, gates = steps[t]
        s = _lstm_step_grads(x[:, t], h, c, Wx, Wh, dh[:, t] + (dprev_h if carry_h else 0),
                             dprev_c if carry_c else np.zeros((N, H)), gates, cell_bug)
        g["x"][:, t] = s["x"]
        for k in ("Wx", "Wh", "b"):
            g[k] += s[k]
        dprev_h, dprev_c = s["prev_h"], s["prev_c"]
    g["h0"] = dprev_h
    return g


def _sequence_hypotheses(family, args, dout):
    x, h0, Wx, Wh, b = _f64(args)
    if family == "rnn":
        variants = [(_NO_BPTT, _rnn_grads(x, h0, Wx, Wh, b, dout))]
    else:
        variants = [(_NO_BPTT_H, _lstm_grads(x, h0, Wx, Wh, b, dout, carry_h=False)),
                    (_NO_BPTT, _lstm_grads(x, h0, Wx, Wh, b, dout, carry_h=False, carry_c=False)),
                    (_NO_FORGET + " (in lstm_step_backward, which lstm_backward calls)",
                     _lstm_grads(x, h0, Wx, Wh, b, dout, cell_bug="forget")),
                    (_NO_H_PATH + " (in lstm_step_backward, which lstm_backward calls)",
                     _lstm_grads(x, h0, Wx, Wh, b, dout, cell_bug="h_path"))]
    return [(name, msg, g[name]) for msg, g in variants for name in ("x", "h0", "Wx", "Wh", "b")]


# --- word embedding and temporal softmax ---------------------------------------------------------

def _embedding_hypotheses(args, dout):
    W, x = np.asarray(args[0], np.float64), np.asarray(args[1])
    assigned = np.zeros_like(W)
    assigned[x] = dout
    return [("W", "dW keeps only one occurrence of a repeated word: dW[x] = dout (or dW[x] += dout, which numpy "
                  "buffers the same way) where the occurrences must be summed, e.g. np.add.at(dW, x, dout)",
             assigned)]


def _softmax_parts(args):
    x, y, mask = np.asarray(args[0], np.float64), np.asarray(args[1]), np.asarray(args[2], np.float64)
    N, T, V = x.shape
    shifted = x - x.max(axis=2, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    picked = np.take_along_axis(log_p, y[..., None], axis=2)[..., 0]
    grad = np.exp(log_p)
    np.put_along_axis(grad, y[..., None], np.take_along_axis(grad, y[..., None], axis=2) - 1, axis=2)
    return N, T, mask, picked, grad


def _temporal_softmax_backward(args):
    N, _, mask, _, grad = _softmax_parts(args)
    steps = max(float(mask.sum()), 1.0)
    return [("x", "dx ignores the mask: the padding steps (mask False) must get zero gradient (multiply by "
                  "mask[:, :, None])", grad / N),
            ("x", "dx is divided by the number of unmasked steps instead of N: the loss sums over time steps and "
                  "averages over the batch only", grad * mask[..., None] / steps)]


def _temporal_softmax_forward(args):
    N, T, mask, picked, _ = _softmax_parts(args)
    steps = max(float(mask.sum()), 1.0)
    return [("the loss ignores the mask: the padding steps (mask False) must not count", -picked.sum() / N),
            ("the loss is divided by the number of unmasked steps instead of N: it sums over time steps and "
             "averages over the batch only", -(mask * picked).sum() / steps),
            ("the loss is averaged over N * T instead of N: it sums over time steps and averages over the "
             "batch only", -(mask * picked).sum() / (N * T))]


# --- entry points (called by known_bugs) ---------------------------------------------------------

def backward_hypotheses(family, args, dout):
    """``(input name, message, predicted gradient)`` for each modelled mistake of ``family``."""
    if family in ("rnn", "lstm"):
        return _sequence_hypotheses(family, args, dout)
    if family == "lstm_step":
        return _lstm_step_hypotheses(args, dout)
    if family == "word_embedding":
        return _embedding_hypotheses(args, dout)
    if family == "temporal_softmax":
        return _temporal_softmax_backward(args)
    return []


def forward_hypotheses(family, args):
    """``(message, predicted output)`` for each modelled forward mistake of ``family``."""
    if family == "temporal_softmax":
        return _temporal_softmax_forward(args)
    return []
