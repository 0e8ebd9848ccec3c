"""Tests for classifiers/rnn.py: CaptioningRNN's loss against its layers and numeric gradients, and sample."""

from __future__ import annotations

import numpy as np
import pytest

import layers as L
from classifiers.rnn import CaptioningRNN
from gradient_check import eval_numerical_gradient

VOCAB = {"<NULL>": 0, "<START>": 1, "<END>": 2, "cat": 3, "dog": 4}


def _model(cell, dtype=np.float64, seed=0, **dims):
    np.random.seed(seed)
    return CaptioningRNN(VOCAB, input_dim=dims.get("D", 4), wordvec_dim=dims.get("W", 5),
                         hidden_dim=dims.get("H", 6), cell_type=cell, dtype=dtype)


def _batch(rng, N=3, T=5, D=4):
    captions = rng.integers(0, len(VOCAB), size=(N, T + 1))
    captions[:, 0] = VOCAB["<START>"]
    captions[0, 3:] = VOCAB["<NULL>"]                      # a padded caption
    return rng.standard_normal((N, D)), captions


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_loss_is_the_reference_layers_chained(cell):
    model = _model(cell)
    features, captions = _batch(np.random.default_rng(1))
    p = model.params
    h0 = features @ p["W_proj"] + p["b_proj"]
    x, _ = L.word_embedding_forward(captions[:, :-1], p["W_embed"])
    h, _ = getattr(L, f"{cell}_forward")(x, h0, p["Wx"], p["Wh"], p["b"])
    scores, _ = L.temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
    want, _ = L.temporal_softmax_loss(scores, captions[:, 1:], captions[:, 1:] != VOCAB["<NULL>"])
    loss, _ = model.loss(features, captions)
    assert loss == pytest.approx(float(want), rel=1e-12)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_loss_gradients_match_numeric_gradients(cell):
    model = _model(cell)
    features, captions = _batch(np.random.default_rng(2))
    _, grads = model.loss(features, captions)
    assert sorted(grads) == sorted(model.params)
    for name in grads:
        num = eval_numerical_gradient(lambda _: model.loss(features, captions)[0], model.params[name],
                                      verbose=False, h=1e-5)
        # dWx is small (the word vectors start at 1/100): judged against its own scale, not 1e-8
        np.testing.assert_allclose(grads[name], num, rtol=1e-6, atol=1e-7 * np.abs(num).max(), err_msg=name)


def test_float32_model_keeps_float32():
    model = _model("lstm", np.float32)
    features, captions = _batch(np.random.default_rng(3))
    loss, grads = model.loss(features, captions)
    assert all(v.dtype == np.float32 for v in model.params.values())
    assert all(g.dtype == np.float32 for g in grads.values())
    assert np.isfinite(loss)


def test_initial_weights_follow_the_global_seed():
    a, b = _model("rnn", seed=5), _model("rnn", seed=5)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["Wx"], _model("rnn", seed=6).params["Wx"])


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_sample_is_greedy_decoding_with_the_step_layers(cell):
    model = _model(cell)
    features = np.random.default_rng(4).standard_normal((2, 4))
    got = model.sample(features, max_length=4)
    assert got.shape == (2, 4) and got.dtype == np.int32
    p = model.params
    h = features @ p["W_proj"] + p["b_proj"]
    c = np.zeros_like(h)
    word = np.full(2, VOCAB["<START>"])
    for t in range(4):
        x = p["W_embed"][word]
        if cell == "rnn":
            h = np.tanh(x @ p["Wx"] + h @ p["Wh"] + p["b"])
        else:
            h, c, _ = L.lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])
        word = np.argmax(h @ p["W_vocab"] + p["b_vocab"], axis=1)
        np.testing.assert_array_equal(got[:, t], word)


@pytest.mark.parametrize("make, exc, words", [
    (lambda: CaptioningRNN(VOCAB, cell_type="gru"), ValueError, 'Invalid cell_type "gru"'),
    (lambda: CaptioningRNN({"cat": 0}), ValueError, "<NULL>"),
    (lambda: _model("rnn").loss(np.zeros((2, 3)), np.zeros((2, 4), int)), ValueError, r"\(N, 4\)"),
    (lambda: _model("rnn").loss(np.zeros((2, 4)), np.full((2, 4), 9)), ValueError, "out of range"),
    (lambda: _model("rnn").loss(np.zeros((2, 4)), np.zeros((2, 1), int)), ValueError, "T >= 1"),
    (lambda: _model("rnn").loss(np.zeros((2, 4)), np.zeros((2, 4))), TypeError, "integer"),
])
def test_bad_arguments_are_refused_with_a_message(make, exc, words):
    with pytest.raises(exc, match=words):
        make()
