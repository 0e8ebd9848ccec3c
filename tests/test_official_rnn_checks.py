"""The checks of the official assignment-3 notebooks (2024: RNN_Captioning, LSTM_Captioning) against cnnkit.

Each test builds the inputs a notebook check cell builds (the same ``np.linspace`` grids and
``np.random.seed(231)`` draws), calls the toolkit under the course's names with only the
``cs231n.`` prefix dropped from the imports, and asserts what the notebook promises: the printed
expected values (hard-coded below: they are the notebooks' data) to the error the notebook says
to expect ("on the order of e-8 or less" is asserted as < 1e-7, and so on).

The imports are the notebooks' setup cell with the prefix dropped (``image_from_url`` shows COCO
images from the web; no check uses it).
"""

from __future__ import annotations

import numpy as np
import pytest

from captioning_solver import CaptioningSolver  # noqa: F401  (the notebooks' setup imports)
from classifiers.rnn import CaptioningRNN
from coco_utils import decode_captions, load_coco_data, sample_coco_minibatch  # noqa: F401
from gradient_check import eval_numerical_gradient, eval_numerical_gradient_array
from image_utils import image_from_url  # noqa: F401
from rnn_layers import *  # noqa: F403


def rel_error(x, y):
    """The notebooks' own error measure: max |x - y| / max(1e-8, |x| + |y|)."""
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))


def _grid(lo, hi, *shape):
    return np.linspace(lo, hi, num=int(np.prod(shape))).reshape(*shape)


def _numeric(f, arrays, dout):
    """Numeric gradient of ``f`` for each array in turn (the others held at their values)."""
    out = []
    for k in range(len(arrays)):
        def fk(v, k=k):
            args = list(arrays)
            args[k] = v
            return f(*args)
        out.append(eval_numerical_gradient_array(fk, arrays[k], dout))
    return out


# --- RNN_Captioning.ipynb --------------------------------------------------------------------------

def test_rnn_step_forward_check():
    N, D, H = 3, 10, 4
    next_h, _ = rnn_step_forward(_grid(-0.4, 0.7, N, D), _grid(-0.2, 0.5, N, H), _grid(-0.1, 0.9, D, H),  # noqa: F405
                                 _grid(-0.3, 0.7, H, H), np.linspace(-0.2, 0.4, num=H))
    expected_next_h = np.asarray([
        [-0.58172089, -0.50182032, -0.41232771, -0.31410098],
        [0.66854692, 0.79562378, 0.87755553, 0.92795967],
        [0.97934501, 0.99144213, 0.99646691, 0.99854353]])
    assert rel_error(expected_next_h, next_h) < 1e-7


def test_rnn_step_backward_check():
    np.random.seed(231)
    N, D, H = 4, 5, 6
    x, h, Wx, Wh, b = (np.random.randn(*s) for s in ((N, D), (N, H), (D, H), (H, H), (H,)))
    out, cache = rnn_step_forward(x, h, Wx, Wh, b)  # noqa: F405
    dnext_h = np.random.randn(*out.shape)
    grads = rnn_step_backward(dnext_h, cache)  # noqa: F405
    nums = _numeric(lambda *a: rnn_step_forward(*a)[0], [x, h, Wx, Wh, b], dnext_h)  # noqa: F405
    for name, g, n in zip(("dx", "dprev_h", "dWx", "dWh", "db"), grads, nums):
        assert rel_error(n, g) < 1e-7, name                        # "on the order of e-8 or less"


def test_rnn_forward_check():
    N, T, D, H = 2, 3, 4, 5
    h, _ = rnn_forward(_grid(-0.1, 0.3, N, T, D), _grid(-0.3, 0.1, N, H), _grid(-0.2, 0.4, D, H),  # noqa: F405
                       _grid(-0.4, 0.1, H, H), np.linspace(-0.7, 0.1, num=H))
    expected_h = np.asarray([
        [[-0.42070749, -0.27279261, -0.11074945, 0.05740409, 0.22236251],
         [-0.39525808, -0.22554661, -0.0409454, 0.14649412, 0.32397316],
         [-0.42305111, -0.24223728, -0.04287027, 0.15997045, 0.35014525]],
        [[-0.55857474, -0.39065825, -0.19198182, 0.02378408, 0.23735671],
         [-0.27150199, -0.07088804, 0.13562939, 0.33099728, 0.50158768],
         [-0.51014825, -0.30524429, -0.06755202, 0.17806392, 0.40333043]]])
    assert rel_error(expected_h, h) < 1e-7


def test_rnn_backward_check():
    np.random.seed(231)
    N, D, T, H = 2, 3, 10, 5
    x, h0, Wx, Wh, b = (np.random.randn(*s) for s in ((N, T, D), (N, H), (D, H), (H, H), (H,)))
    out, cache = rnn_forward(x, h0, Wx, Wh, b)  # noqa: F405
    dout = np.random.randn(*out.shape)
    grads = rnn_backward(dout, cache)  # noqa: F405
    nums = _numeric(lambda *a: rnn_forward(*a)[0], [x, h0, Wx, Wh, b], dout)  # noqa: F405
    for name, g, n in zip(("dx", "dh0", "dWx", "dWh", "db"), grads, nums):
        assert rel_error(n, g) < 1e-5, name                        # "on the order of e-6 or less"


def test_word_embedding_forward_check():
    V, D = 5, 3
    out, _ = word_embedding_forward(np.asarray([[0, 3, 1, 2], [2, 1, 0, 3]]), _grid(0, 1, V, D))  # noqa: F405
    expected_out = np.asarray([
        [[0., 0.07142857, 0.14285714], [0.64285714, 0.71428571, 0.78571429],
         [0.21428571, 0.28571429, 0.35714286], [0.42857143, 0.5, 0.57142857]],
        [[0.42857143, 0.5, 0.57142857], [0.21428571, 0.28571429, 0.35714286],
         [0., 0.07142857, 0.14285714], [0.64285714, 0.71428571, 0.78571429]]])
    assert rel_error(expected_out, out) < 1e-7


def test_word_embedding_backward_check():
    np.random.seed(231)
    N, T, V, D = 50, 3, 5, 6
    x = np.random.randint(V, size=(N, T))
    W = np.random.randn(V, D)
    out, cache = word_embedding_forward(x, W)  # noqa: F405
    dout = np.random.randn(*out.shape)
    dW = word_embedding_backward(dout, cache)  # noqa: F405
    dW_num = eval_numerical_gradient_array(lambda W: word_embedding_forward(x, W)[0], W, dout)  # noqa: F405
    assert rel_error(dW, dW_num) < 1e-10                           # "on the order of e-11 or less"


def test_temporal_affine_check():
    np.random.seed(231)
    N, T, D, M = 2, 3, 4, 5
    x, w, b = np.random.randn(N, T, D), np.random.randn(D, M), np.random.randn(M)
    out, cache = temporal_affine_forward(x, w, b)  # noqa: F405
    dout = np.random.randn(*out.shape)
    nums = _numeric(lambda *a: temporal_affine_forward(*a)[0], [x, w, b], dout)  # noqa: F405
    for name, g, n in zip(("dx", "dw", "db"), temporal_affine_backward(dout, cache), nums):  # noqa: F405
        assert rel_error(n, g) < 1e-8, name


def test_temporal_softmax_loss_check():
    np.random.seed(231)  # the notebook runs this cell on whatever state it has; any seed fits its bounds

    def check_loss(N, T, V, p):
        x = 0.001 * np.random.randn(N, T, V)
        y = np.random.randint(V, size=(N, T))
        mask = np.random.rand(N, T) <= p
        return temporal_softmax_loss(x, y, mask)[0]  # noqa: F405

    assert check_loss(100, 1, 10, 1.0) == pytest.approx(2.3, abs=0.05)      # "should be about 2.3"
    assert check_loss(100, 10, 10, 1.0) == pytest.approx(23, abs=0.5)       # "should be about 23"
    assert 2.2 <= check_loss(5000, 10, 10, 0.1) <= 2.4                      # "within 2.2-2.4"
    N, T, V = 7, 8, 9
    x = np.random.randn(N, T, V)
    y = np.random.randint(V, size=(N, T))
    mask = np.random.rand(N, T) > 0.5
    loss, dx = temporal_softmax_loss(x, y, mask, verbose=False)  # noqa: F405
    dx_num = eval_numerical_gradient(lambda x: temporal_softmax_loss(x, y, mask)[0], x, verbose=False)  # noqa: F405
    assert rel_error(dx, dx_num) < 1e-7


@pytest.mark.parametrize("cell, features_range, expected_loss", [
    ("rnn", (-1.5, 0.3), 9.83235591003),
    ("lstm", (-0.5, 1.7), 9.82445935443),
])
def test_captioning_rnn_loss_check(cell, features_range, expected_loss):
    N, D, W, H = 10, 20, 30, 40
    word_to_idx = {"<NULL>": 0, "cat": 2, "dog": 3}
    V, T = len(word_to_idx), 13
    model = CaptioningRNN(word_to_idx, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell, dtype=np.float64)
    for k, v in model.params.items():
        model.params[k] = np.linspace(-1.4, 1.3, num=v.size).reshape(*v.shape)
    features = np.linspace(*features_range, num=N * D).reshape(N, D)
    captions = (np.arange(N * T) % V).reshape(N, T)
    loss, _ = model.loss(features, captions)
    assert abs(loss - expected_loss) < 1e-9                        # "on the order of e-10 or less"


def test_captioning_rnn_gradient_check():
    np.random.seed(231)
    word_to_idx = {"<NULL>": 0, "cat": 2, "dog": 3}
    captions = np.random.randint(len(word_to_idx), size=(2, 3))
    features = np.random.randn(2, 4)
    model = CaptioningRNN(word_to_idx, input_dim=4, wordvec_dim=5, hidden_dim=6, cell_type="rnn", dtype=np.float64)
    _, grads = model.loss(features, captions)
    for name in sorted(grads):
        num = eval_numerical_gradient(lambda _: model.loss(features, captions)[0], model.params[name],
                                      verbose=False, h=1e-6)
        assert rel_error(num, grads[name]) < 1e-5, name           # "around the order of e-6 or less"


# --- LSTM_Captioning.ipynb -------------------------------------------------------------------------

def test_lstm_step_forward_check():
    N, D, H = 3, 4, 5
    next_h, next_c, _ = lstm_step_forward(  # noqa: F405
        _grid(-0.4, 1.2, N, D), _grid(-0.3, 0.7, N, H), _grid(-0.4, 0.9, N, H), _grid(-2.1, 1.3, D, 4 * H),
        _grid(-0.7, 2.2, H, 4 * H), np.linspace(0.3, 0.7, num=4 * H))
    expected_next_h = np.asarray([
        [0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
        [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
        [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299]])
    expected_next_c = np.asarray([
        [0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
        [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
        [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676]])
    assert rel_error(expected_next_h, next_h) < 1e-7 and rel_error(expected_next_c, next_c) < 1e-7


def test_lstm_step_backward_check():
    np.random.seed(231)
    N, D, H = 4, 5, 6
    arrays = [np.random.randn(*s) for s in ((N, D), (N, H), (N, H), (D, 4 * H), (H, 4 * H), (4 * H,))]
    next_h, next_c, cache = lstm_step_forward(*arrays)  # noqa: F405
    dnext_h, dnext_c = np.random.randn(*next_h.shape), np.random.randn(*next_c.shape)
    nums = [a + b for a, b in zip(_numeric(lambda *a: lstm_step_forward(*a)[0], arrays, dnext_h),  # noqa: F405
                                  _numeric(lambda *a: lstm_step_forward(*a)[1], arrays, dnext_c))]  # noqa: F405
    grads = lstm_step_backward(dnext_h, dnext_c, cache)  # noqa: F405
    for name, g, n in zip(("dx", "dh", "dc", "dWx", "dWh", "db"), grads, nums):
        assert rel_error(n, g) < 1e-6, name                        # "on the order of e-7 or less"


def test_lstm_forward_check():
    N, D, H, T = 2, 5, 4, 3
    h, _ = lstm_forward(_grid(-0.4, 0.6, N, T, D), _grid(-0.4, 0.8, N, H), _grid(-0.2, 0.9, D, 4 * H),  # noqa: F405
                        _grid(-0.3, 0.6, H, 4 * H), np.linspace(0.2, 0.7, num=4 * H))
    expected_h = np.asarray([
        [[0.01764008, 0.01823233, 0.01882671, 0.0194232],
         [0.11287491, 0.12146228, 0.13018446, 0.13902939],
         [0.31358768, 0.33338627, 0.35304453, 0.37250975]],
        [[0.45767879, 0.4761092, 0.4936887, 0.51041945],
         [0.6704845, 0.69350089, 0.71486014, 0.7346449],
         [0.81733511, 0.83677871, 0.85403753, 0.86935314]]])
    assert rel_error(expected_h, h) < 1e-6                         # "on the order of e-7 or less"


def test_lstm_backward_check():
    np.random.seed(231)
    N, D, T, H = 2, 3, 10, 6
    arrays = [np.random.randn(*s) for s in ((N, T, D), (N, H), (D, 4 * H), (H, 4 * H), (4 * H,))]
    out, cache = lstm_forward(*arrays)  # noqa: F405
    dout = np.random.randn(*out.shape)
    grads = lstm_backward(dout, cache)  # noqa: F405
    nums = _numeric(lambda *a: lstm_forward(*a)[0], arrays, dout)  # noqa: F405
    for name, g, n in zip(("dx", "dh0", "dWx", "dWh", "db"), grads, nums):
        # "on the order of e-8 or less (for dWh, it's fine if your error is on the order of e-6 or less)"
        assert rel_error(n, g) < (1e-5 if name == "dWh" else 1e-7), name
