"""PyTorch as an independent oracle of the recurrent layers (skipped when torch is not installed).

``torch.nn.RNN`` / ``RNNCell`` (tanh) and ``torch.nn.LSTM`` / ``LSTMCell`` in float64, with autograd
for the gradients, against the references of ``layers/rnn.py`` and the fast twins. Weight layouts:
torch stores ``weight_ih`` as (G, D) and ``weight_hh`` as (G, H), the transposes of the course's
``Wx`` (D, G) and ``Wh`` (H, G), and has two biases (set ``b`` and 0). Its LSTM gates are ordered
i, f, g, o along G; the course's are i, f, o, g, so the last two blocks of H columns swap.
"""

from __future__ import annotations

import numpy as np
import pytest

import fast_layers as F
import layers as L

torch = pytest.importorskip("torch")


def _to_torch_gates(a, H):
    """Course gate blocks (i, f, o, g) along the last axis -> torch's (i, f, g, o)."""
    i, f, o, g = (a[..., k * H:(k + 1) * H] for k in range(4))
    return np.concatenate([i, f, g, o], axis=-1)


def _to_course_gates(a, H):
    """torch's (i, f, g, o) blocks along the last axis -> the course's (i, f, o, g)."""
    i, f, g, o = (a[..., k * H:(k + 1) * H] for k in range(4))
    return np.concatenate([i, f, o, g], axis=-1)


def _weights(rng, D, H, gates):
    G = gates * H
    return rng.standard_normal((D, G)) / np.sqrt(D), rng.standard_normal((H, G)) / np.sqrt(H), \
        0.3 * rng.standard_normal(G)


def _module(cell, D, H, Wx, Wh, b, sequence=True):
    """A float64 torch RNN/LSTM (or its Cell) holding the course's weights."""
    if cell == "rnn":
        m = (torch.nn.RNN(D, H, batch_first=True) if sequence else torch.nn.RNNCell(D, H)).double()
        wx, wh, bias = Wx.T, Wh.T, b
    else:
        m = (torch.nn.LSTM(D, H, batch_first=True) if sequence else torch.nn.LSTMCell(D, H)).double()
        wx, wh, bias = _to_torch_gates(Wx, H).T, _to_torch_gates(Wh, H).T, _to_torch_gates(b, H)
    suffix = "_l0" if sequence else ""
    with torch.no_grad():
        getattr(m, "weight_ih" + suffix).copy_(torch.from_numpy(np.ascontiguousarray(wx)))
        getattr(m, "weight_hh" + suffix).copy_(torch.from_numpy(np.ascontiguousarray(wh)))
        getattr(m, "bias_ih" + suffix).copy_(torch.from_numpy(bias))
        getattr(m, "bias_hh" + suffix).zero_()
    return m, suffix


def _weight_grads(m, cell, suffix, H):
    dwx = getattr(m, "weight_ih" + suffix).grad.numpy().T
    dwh = getattr(m, "weight_hh" + suffix).grad.numpy().T
    db = getattr(m, "bias_ih" + suffix).grad.numpy()
    if cell == "lstm":
        dwx, dwh, db = _to_course_gates(dwx, H), _to_course_gates(dwh, H), _to_course_gates(db, H)
    return dwx, dwh, db


def _leaf(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


@pytest.mark.parametrize("impl", ["naive", "fast"])
@pytest.mark.parametrize("cell, gates", [("rnn", 1), ("lstm", 4)])
@pytest.mark.parametrize("N, T, D, H", [(2, 3, 4, 5), (1, 6, 3, 2), (4, 1, 2, 3)])
def test_sequence_layers_agree_with_torch(impl, cell, gates, N, T, D, H):
    rng = np.random.default_rng(N * 100 + T * 10 + D)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = _weights(rng, D, H, gates)
    forward = getattr(L, f"{cell}_forward") if impl == "naive" else getattr(F, f"{cell}_forward_fast")
    backward = getattr(L, f"{cell}_backward") if impl == "naive" else getattr(F, f"{cell}_backward_fast")
    h, cache = forward(x, h0, Wx, Wh, b)
    dh = rng.standard_normal(h.shape)
    dx, dh0, dWx, dWh, db = backward(dh, cache)

    m, suffix = _module(cell, D, H, Wx, Wh, b)
    tx, th0 = _leaf(x), _leaf(h0[None])
    state = th0 if cell == "rnn" else (th0, torch.zeros((1, N, H), dtype=torch.float64))
    out, _ = m(tx, state)
    out.backward(torch.from_numpy(dh))
    np.testing.assert_allclose(h, out.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dh0, th0.grad.numpy()[0], rtol=1e-10, atol=1e-12)
    for name, got, want in zip(("dWx", "dWh", "db"), (dWx, dWh, db), _weight_grads(m, cell, suffix, H)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("N, D, H", [(3, 4, 5), (1, 2, 1)])
def test_rnn_step_agrees_with_torch_rnn_cell(N, D, H):
    rng = np.random.default_rng(1)
    x, h = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    Wx, Wh, b = _weights(rng, D, H, 1)
    next_h, cache = L.rnn_step_forward(x, h, Wx, Wh, b)
    dnext = rng.standard_normal(next_h.shape)
    dx, dh, dWx, dWh, db = L.rnn_step_backward(dnext, cache)
    m, suffix = _module("rnn", D, H, Wx, Wh, b, sequence=False)
    tx, th = _leaf(x), _leaf(h)
    out = m(tx, th)
    out.backward(torch.from_numpy(dnext))
    np.testing.assert_allclose(next_h, out.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dh, th.grad.numpy(), rtol=1e-10, atol=1e-12)
    for got, want in zip((dWx, dWh, db), _weight_grads(m, "rnn", suffix, H)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("N, D, H", [(3, 4, 5), (2, 3, 1)])
def test_lstm_step_agrees_with_torch_lstm_cell(N, D, H):
    rng = np.random.default_rng(2)
    x, h, c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    Wx, Wh, b = _weights(rng, D, H, 4)
    next_h, next_c, cache = L.lstm_step_forward(x, h, c, Wx, Wh, b)
    dnh, dnc = rng.standard_normal(next_h.shape), rng.standard_normal(next_c.shape)
    dx, dh, dc, dWx, dWh, db = L.lstm_step_backward(dnh, dnc, cache)
    m, suffix = _module("lstm", D, H, Wx, Wh, b, sequence=False)
    tx, th, tc = _leaf(x), _leaf(h), _leaf(c)
    out_h, out_c = m(tx, (th, tc))
    torch.autograd.backward([out_h, out_c], [torch.from_numpy(dnh), torch.from_numpy(dnc)])
    np.testing.assert_allclose(next_h, out_h.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(next_c, out_c.detach().numpy(), rtol=1e-12, atol=1e-13)
    for got, want in zip((dx, dh, dc), (tx.grad, th.grad, tc.grad)):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-12)
    for got, want in zip((dWx, dWh, db), _weight_grads(m, "lstm", suffix, H)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_temporal_softmax_loss_agrees_with_torch_cross_entropy():
    rng = np.random.default_rng(3)
    N, T, V = 4, 5, 6
    x, y = rng.standard_normal((N, T, V)), rng.integers(0, V, size=(N, T))
    mask = rng.random((N, T)) < 0.6
    loss, dx = L.temporal_softmax_loss(x, y, mask)
    tx = _leaf(x)
    per_step = torch.nn.functional.cross_entropy(tx.reshape(N * T, V), torch.from_numpy(y.ravel()), reduction="none")
    tloss = (per_step * torch.from_numpy(mask.ravel().astype(np.float64))).sum() / N
    tloss.backward()
    assert float(loss) == pytest.approx(tloss.item(), rel=1e-13)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-11, atol=1e-14)
