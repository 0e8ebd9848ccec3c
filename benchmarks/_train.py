"""End-to-end section of the benchmark: one training iteration (loss + every gradient) per model.

Models: ``ThreeLayerConvNet`` (batch 50, 3x32x32, 32 filters 7x7, hidden 100) and
``FullyConnectedNet`` [100, 100] on 3072 inputs, batch 100, plain and with batchnorm + dropout
(keep 0.5); float32 and float64. Beside each, PyTorch's same model on the same weights and data
when torch is importable (optional; never a dependency), and a per-layer breakdown of the cnnkit
iteration: every layer's forward and backward called alone on the arrays of a real iteration,
timed in the same interleaved rounds as the whole iteration.

Neither library computes the gradient of the input images: PyTorch because they do not require
grad, cnnkit because the models call their first layer's backward with ``input_grad=False``; the
per-layer stages do the same.
"""

from __future__ import annotations

import numpy as np

import fast_layers
from fast_layers.pool import relu_max_pool_backward, relu_max_pool_forward
import layer_utils
import layers
from classifiers import FullyConnectedNet, ThreeLayerConvNet

MODELS = {
    "ThreeLayerConvNet": dict(kind="cnn", batch=50),
    "FC [100,100]": dict(kind="fc", batch=100, normalization=None, keep=1.0),
    "FC [100,100] bn+dropout": dict(kind="fc", batch=100, normalization="batchnorm", keep=0.5),
}


def build(name, dtype, seed=0):
    """The cnnkit model, its data (X, y), and its per-layer stages [(label, callable)]."""
    spec = MODELS[name]
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, spec["batch"])
    if spec["kind"] == "cnn":
        model = ThreeLayerConvNet(input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                                  weight_scale=1e-2, dtype=dtype, seed=seed)
        X = rng.standard_normal((spec["batch"], 3, 32, 32)).astype(dtype)
        return model, X, y, _cnn_stages(model, X, y)
    np.random.seed(seed)  # FullyConnectedNet draws its weights from numpy's global generator, as in CS231n
    model = FullyConnectedNet([100, 100], input_dim=3072, dropout_keep_ratio=spec["keep"],
                              normalization=spec["normalization"], weight_scale=5e-2, dtype=dtype, seed=None)
    X = rng.standard_normal((spec["batch"], 3072)).astype(dtype)
    return model, X, y, _fc_stages(model, X, y)


def _stage(stages, label, fn):
    """Run ``fn`` once (its result feeds the next stage) and record it as a timed stage."""
    stages.append((label, fn))
    return fn()


def _cnn_stages(model, X, y):
    p, cp, pp = model.params, model.conv_param, model.pool_param
    s = []
    a, conv_c = _stage(s, "conv fwd", lambda: fast_layers.conv_forward_fast(X, p["W1"], p["b1"], cp))
    # What layer_utils.conv_relu_pool_forward runs: the ReLU on the pooled output.
    q, pool_c = _stage(s, "relu+max pool fwd", lambda: relu_max_pool_forward(a, pp))
    h, h_c = _stage(s, "affine+relu fwd", lambda: layer_utils.affine_relu_forward(q, p["W2"], p["b2"]))
    sc, sc_c = _stage(s, "affine fwd", lambda: layers.affine_forward(h, p["W3"], p["b3"]))
    _, ds = _stage(s, "softmax loss", lambda: layers.softmax_loss(sc, y))
    dh = _stage(s, "affine bwd", lambda: layers.affine_backward(ds, sc_c))[0]
    dq = _stage(s, "affine+relu bwd", lambda: layer_utils.affine_relu_backward(dh, h_c))[0]
    # What layer_utils.conv_relu_pool_backward runs: the ReLU's backward fused into the pool's.
    da = _stage(s, "max pool+relu bwd", lambda: relu_max_pool_backward(dq.reshape(q.shape), pool_c))
    _stage(s, "conv bwd", lambda: fast_layers.conv_backward_fast(da, conv_c, input_grad=False))
    return s


def _fc_stages(model, X, y):
    p, s = model.params, []
    h, caches = X, []
    for i in (1, 2):
        h, ac = _stage(s, "affine fwd", lambda h=h, i=i: layers.affine_forward(h, p[f"W{i}"], p[f"b{i}"]))
        bc = None
        if model.normalization == "batchnorm":
            h, bc = _stage(s, "batchnorm fwd", lambda h=h, i=i: layers.batchnorm_forward(
                h, p[f"gamma{i}"], p[f"beta{i}"], model.bn_params[i - 1]))
        h, rc = _stage(s, "relu fwd", lambda h=h: layers.relu_forward(h))
        dc = None
        if model.use_dropout:
            h, dc = _stage(s, "dropout fwd", lambda h=h: layers.dropout_forward(h, model.dropout_param))
        caches.append((ac, bc, rc, dc))
    sc, sc_c = _stage(s, "affine fwd", lambda: layers.affine_forward(h, p["W3"], p["b3"]))
    _, ds = _stage(s, "softmax loss", lambda: layers.softmax_loss(sc, y))
    dh = _stage(s, "affine bwd", lambda: layers.affine_backward(ds, sc_c))[0]
    for ac, bc, rc, dc in reversed(caches):
        if dc is not None:
            dh = _stage(s, "dropout bwd", lambda dh=dh, dc=dc: layers.dropout_backward(dh, dc))
        dh = _stage(s, "relu bwd", lambda dh=dh, rc=rc: layers.relu_backward(dh, rc))
        if bc is not None:
            dh = _stage(s, "batchnorm bwd", lambda dh=dh, bc=bc: layers.batchnorm_backward(dh, bc))[0]
        first = ac is caches[0][0]
        dh = _stage(s, "affine bwd", lambda dh=dh, ac=ac, first=first: layers.affine_backward(
            dh, ac, input_grad=not first))[0]
    return s


def torch_iteration(torch, name, model, X, y):
    """PyTorch's same model on copies of the same weights and data: a callable doing loss + backward."""
    F = torch.nn.functional
    spec = MODELS[name]
    t = {k: torch.from_numpy(v.copy()).requires_grad_() for k, v in model.params.items()}
    tX, ty = torch.from_numpy(X.copy()), torch.from_numpy(y.astype(np.int64))
    if spec["kind"] == "cnn":
        pad, pp = model.conv_param["pad"], model.pool_param

        def forward():
            a = F.conv2d(tX, t["W1"], t["b1"], stride=1, padding=pad)
            q = F.max_pool2d(F.relu(a), (pp["pool_height"], pp["pool_width"]), pp["stride"])
            h = F.relu(q.reshape(q.shape[0], -1) @ t["W2"] + t["b2"])
            return h @ t["W3"] + t["b3"]
    else:
        stats = [(torch.zeros(100, dtype=tX.dtype), torch.ones(100, dtype=tX.dtype)) for _ in range(2)]

        def forward():
            h = tX
            for i in (1, 2):
                h = h @ t[f"W{i}"] + t[f"b{i}"]
                if spec["normalization"] == "batchnorm":
                    h = F.batch_norm(h, *stats[i - 1], t[f"gamma{i}"], t[f"beta{i}"], training=True,
                                     momentum=0.1, eps=1e-5)
                h = F.relu(h)
                if spec["keep"] < 1:
                    h = F.dropout(h, 1 - spec["keep"], training=True)
            return h @ t["W3"] + t["b3"]

    def iteration():
        for v in t.values():
            v.grad = None
        F.cross_entropy(forward(), ty).backward()

    iteration.loss = lambda: F.cross_entropy(forward(), ty)
    return iteration


def torch_loss(torch, name, model, X, y):
    """PyTorch's loss on the same weights and data, for a sanity check (meaningful without dropout)."""
    iteration = torch_iteration(torch, name, model, X, y)
    with torch.no_grad():
        return float(iteration.loss())
