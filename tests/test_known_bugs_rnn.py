"""_gradcheck/diagnose/known_bugs_rnn.py: each recurrent mistake, computed here independently, is named; right answers are not."""

from __future__ import annotations

import re

import numpy as np
import pytest

import layers as L
from _gradcheck.diagnose import known_bugs


def _sequence(rng, N=2, T=4, D=3, H=4, gates=1):
    G = gates * H
    return [rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), rng.standard_normal((D, G)) / 2,
            rng.standard_normal((H, G)) / 2, rng.standard_normal(G)]


def _rnn_backward_without_bptt(dh, args):
    x, h0, Wx, Wh, b = args
    h, _ = L.rnn_forward(*args)
    dx = np.zeros_like(x)
    for t in range(x.shape[1]):
        prev = h[:, t - 1] if t else h0
        dx[:, t] = L.rnn_step_backward(dh[:, t], (x[:, t], prev, Wx, Wh, b, h[:, t]))[0]
    return dx


def test_rnn_backward_without_the_gradient_through_time_is_named():
    rng = np.random.default_rng(0)
    args = _sequence(rng)
    h, cache = L.rnn_forward(*args)
    dh = rng.standard_normal(h.shape)
    right = L.rnn_backward(dh, cache)[0]
    wrong = _rnn_backward_without_bptt(dh, args)
    assert "through time" in known_bugs.backward_bug("rnn", "x", wrong, args, dh, right)
    assert known_bugs.backward_bug("rnn", "x", right, args, dh, right) == ""


def test_lstm_step_dprev_c_without_the_forget_gate_is_named():
    rng = np.random.default_rng(1)
    N, D, H = 3, 4, 2
    args = [rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H)),
            rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H)), rng.standard_normal(4 * H)]
    next_h, next_c, cache = L.lstm_step_forward(*args)
    dout = rng.standard_normal((2, N, H))                       # the checker stacks dnext_h, dnext_c
    right = L.lstm_step_backward(dout[0], dout[1], cache)[2]
    f = cache[6][:, H:2 * H]
    o = cache[6][:, 2 * H:3 * H]
    dc = dout[1] + dout[0] * o * (1 - np.tanh(next_c) ** 2)
    np.testing.assert_allclose(right, dc * f)
    assert "forget gate" in known_bugs.backward_bug("lstm_step", "prev_c", dc, args, dout, right)
    assert "path through next_h" in known_bugs.backward_bug("lstm_step", "prev_c", dout[1] * f, args, dout, right)
    assert known_bugs.backward_bug("lstm_step", "prev_c", right, args, dout, right) == ""


def test_embedding_backward_with_assignment_is_named():
    rng = np.random.default_rng(2)
    W, x = rng.standard_normal((4, 3)), np.array([[0, 1, 1], [3, 1, 0]])
    dout = rng.standard_normal((2, 3, 3))
    right = L.word_embedding_backward(dout, L.word_embedding_forward(x, W)[1])
    wrong = np.zeros_like(W)
    for n in range(2):
        for t in range(3):
            wrong[x[n, t]] = dout[n, t]                         # the last occurrence wins
    assert "np.add.at" in known_bugs.backward_bug("word_embedding", "W", wrong, [W, x], dout, right)
    assert known_bugs.backward_bug("word_embedding", "W", right, [W, x], dout, right) == ""


@pytest.mark.parametrize("mistake, words", [("unmasked", "ignores the mask"), ("per_step", "unmasked steps"),
                                            ("per_nt", "N \\* T")])
def test_temporal_softmax_loss_mistakes_are_named(mistake, words):
    rng = np.random.default_rng(3)
    N, T, V = 3, 4, 5
    x, y = rng.standard_normal((N, T, V)), rng.integers(0, V, size=(N, T))
    mask = np.arange(T) < np.array([4, 2, 1])[:, None]
    log_p = x - np.log(np.exp(x).sum(axis=2, keepdims=True))
    picked = np.take_along_axis(log_p, y[..., None], axis=2)[..., 0]
    loss = {"unmasked": -picked.sum() / N, "per_step": -(picked * mask).sum() / mask.sum(),
            "per_nt": -(picked * mask).sum() / (N * T)}[mistake]
    assert re.search(words, known_bugs.forward_bug("temporal_softmax", np.array(loss), [x, y, mask]))
    right, _ = L.temporal_softmax_loss(x, y, mask)
    assert known_bugs.forward_bug("temporal_softmax", np.array(float(right)), [x, y, mask]) == ""
