"""Array subclasses are refused at the door; numpy scalars are taken wherever Python numbers are.

* ``np.matrix`` makes ``*`` a matrix product and keeps every reduction 2-D, so a layer given one
  would return wrong values or shapes (dropout multiplying by its mask as matrices, batchnorm on a
  4x4 matrix returning shape (1, 4)); a masked array would be computed with the values hidden
  under its mask. Every public function (forward, loss, backward: its ``dout`` and every array inside its
  cache) must raise ``TypeError`` naming the argument and saying to pass a plain ndarray.
* ``np.int64(1)``, ``np.array(1)``, ``np.float64(0.9)``, ``np.str_('train')`` where a Python number
  or string is expected give exactly the result of the Python value (``pad=np.array(1)`` too, never
  "len() of unsized object").

The layers come from the layer specifications (``_gradcheck/grader/specs.py`` through
``tests/_api_registry.py``), so a new layer is probed without editing this file. Every probe adds
to the "subclass probes" / "numpy scalar probes" counts of the run's summary.
"""

from __future__ import annotations

import numpy as np
import pytest

from _gradcheck.grader.specs import DATA, INPUT, VALUE
from tests._api_registry import BACKWARDS, FORWARDS, LOSSES, build
from tests.conftest import count_case

DTYPE = np.float64
pytestmark = pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")


def _variants(a):
    """(kind, subclass instance) for array ``a``: masked always, matrix when ``a`` is 1-D or 2-D."""
    # Some entries masked, with the hidden values changed: a layer that used them would differ.
    mask = np.zeros(a.shape, dtype=bool)
    mask.flat[:: max(1, a.size // 3)] = True
    hidden = np.where(mask, a + 100, a) if a.dtype.kind == "f" else a
    out = [("masked", np.ma.masked_array(hidden, mask=mask))]
    if a.ndim in (1, 2):
        out.append(("matrix", np.asmatrix(a)))
    return out


def _expect_refused(call, kind, name, what):
    with pytest.raises(TypeError) as info:
        call()
    msg = str(info.value)
    word = "masked array" if kind == "masked" else "numpy.matrix"
    assert word in msg and "ndarray" in msg, f"{what}: the message does not say what to pass: {msg}"
    assert f"{name} is a" in msg, f"{what}: the message does not name {name!r}: {msg}"
    count_case("subclass probes")


@pytest.mark.parametrize("name", sorted(FORWARDS) + sorted(LOSSES))
def test_forward_refuses_matrix_and_masked_inputs(name):
    fwd, args, spec = build(name, np.random.default_rng(0), DTYPE)
    probed = 0
    for i, (arg, a) in enumerate(zip(spec.args, args)):
        if arg.role not in (INPUT, DATA) or not isinstance(a, np.ndarray):
            continue
        for kind, sub in _variants(a):
            bad = list(args)
            bad[i] = sub
            _expect_refused(lambda: fwd(*bad), kind, arg.name, f"{name}({arg.name}={kind})")
            probed += 1
    assert probed, f"{name}: no array argument was probed"


def _cache_arrays(obj, path=()):
    """Yield (path, array) for every ndarray inside nested tuples/lists of a cache."""
    if isinstance(obj, np.ndarray):
        yield path, obj
    elif isinstance(obj, (tuple, list)):
        for i, o in enumerate(obj):
            yield from _cache_arrays(o, path + (i,))


def _replaced(obj, path, new):
    if not path:
        return new
    items = list(obj)
    items[path[0]] = _replaced(items[path[0]], path[1:], new)
    return type(obj)._make(items) if hasattr(obj, "_make") else type(obj)(items)  # NamedTuple caches


@pytest.mark.parametrize("name", sorted(BACKWARDS))
def test_backward_refuses_matrix_and_masked_dout_and_cache_contents(name):
    bwd, fwd_name = BACKWARDS[name]
    fwd, args, _ = build(fwd_name, np.random.default_rng(0), DTYPE)
    out, cache = fwd(*args)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    for kind, sub in _variants(dout):
        _expect_refused(lambda: bwd(sub, cache), kind, "dout", f"{name}(dout={kind})")
    arrays = list(_cache_arrays(cache))   # none in dropout's test-mode cache (dropout_param, None)
    expected = _as_tuple(bwd(dout, cache))
    for path, a in arrays:
        for kind, sub in _variants(a):
            bad = _replaced(cache, path, sub)
            try:
                got = _as_tuple(bwd(dout, bad))
            except TypeError as exc:
                msg = str(exc)
                assert ("masked array" if kind == "masked" else "numpy.matrix") in msg and "ndarray" in msg, \
                    f"{name}: cache{list(path)} as a {kind}: {msg}"
            else:
                # Accepted only where the backward never reads that entry (e.g. the ReLU cache of
                # conv_relu_pool, whose backward is fused into the pool's): the result is untouched
                # by the masked array's hidden values or the matrix's arithmetic.
                for e, g in zip(expected, got):
                    assert type(g) is np.ndarray, f"{name}: cache{list(path)} as a {kind} gave a {type(g).__name__}"
                    np.testing.assert_array_equal(g, e, err_msg=f"{name}: cache{list(path)} as a {kind} was used")
            count_case("subclass probes")


def _as_tuple(grads):
    return grads if isinstance(grads, tuple) else (grads,)


# ---------------------------------------------------------------------------------------------
# numpy scalars and 0-d arrays in place of Python numbers

def _scalar_variants(v):
    """Numpy spellings of the Python value ``v`` that must give the same result (empty if none)."""
    if isinstance(v, bool):
        return []
    if isinstance(v, int):
        return [np.int64(v), np.int32(v), np.array(v)]
    if isinstance(v, float):
        return [np.float64(v), np.array(v)]
    if isinstance(v, str):
        return [np.str_(v), np.array(v)]
    if isinstance(v, tuple) and len(v) == 2 and all(isinstance(e, int) for e in v):
        return [(np.int64(v[0]), np.int64(v[1])), np.array(v), (np.array(v[0]), np.array(v[1]))]
    return []


def _fresh(args):
    return [dict(a) if isinstance(a, dict) else a for a in args]


def _scalar_probes(spec, args):
    """(description, index, key or None, variant) for every plain value in the arguments."""
    for i, (arg, a) in enumerate(zip(spec.args, args)):
        if isinstance(a, dict):
            for key, v in a.items():
                for var in _scalar_variants(v):
                    yield f"{arg.name}[{key!r}]={var!r}", i, key, var
        elif arg.role == VALUE:
            for var in _scalar_variants(a):
                yield f"{arg.name}={var!r}", i, None, var


def _results(fwd, bwd, args):
    out, cache = fwd(*_fresh(args))
    if bwd is None:
        return [out, cache]
    grads = bwd(np.ones_like(out), cache)
    return [out] + list(grads if isinstance(grads, tuple) else (grads,))


def _with_plain_values():
    """The forwards with at least one plain value (a dict entry or a value argument) to probe."""
    return [n for n in sorted(FORWARDS) + sorted(LOSSES)
            if any(True for _ in _scalar_probes(*build(n, np.random.default_rng(0), DTYPE)[2:0:-1]))]


@pytest.mark.parametrize("name", _with_plain_values())
def test_numpy_scalars_and_0d_arrays_give_the_python_value_result(name):
    fwd, args, spec = build(name, np.random.default_rng(0), DTYPE)
    bwd = next((b for b, f in BACKWARDS.values() if f == name), None)
    expected = _results(fwd, bwd, args)
    for what, i, key, var in _scalar_probes(spec, args):
        probe = _fresh(args)
        if key is None:
            probe[i] = var
        else:
            probe[i][key] = var
        got = _results(fwd, bwd, probe)
        for e, g in zip(expected, got):
            np.testing.assert_array_equal(g, e, err_msg=f"{name} with {what}")
        count_case("numpy scalar probes")


@pytest.mark.parametrize("pad", [np.array(1), np.int64(1), (np.array(1), np.array(1)), np.array([1, 1])],
                         ids=["0d", "int64", "pair-0d", "1d-pair"])
def test_conv_pad_as_numpy_value_matches_int_pad(pad):
    import fast_layers
    import layers

    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    ref, _ = layers.conv_forward_naive(x, w, b, {"stride": 1, "pad": 1})
    for fn in (layers.conv_forward_naive, fast_layers.conv_forward_strides, fast_layers.conv_forward_im2col):
        out, _ = fn(x, w, b, {"stride": np.int64(1), "pad": pad})
        np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
        count_case("numpy scalar probes")


@pytest.mark.parametrize("bad, word", [(np.array([1]), "array([1])"), (np.float64(1.0), "1.0"),
                                       (np.array(1.5), "1.5"), (np.array([[1, 1]]), "array([[1, 1]])")])
def test_conv_pad_that_is_not_an_int_is_refused_naming_it(bad, word):
    import fast_layers

    x, w, b = np.ones((1, 1, 3, 3)), np.ones((1, 1, 1, 1)), np.zeros(1)
    with pytest.raises(TypeError) as info:
        fast_layers.conv_forward_fast(x, w, b, {"stride": 1, "pad": bad})
    assert "conv_param['pad']" in str(info.value) and word in str(info.value), str(info.value)
    count_case("numpy scalar probes")


# ---------------------------------------------------------------------------------------------
# the same door for the kernels, the object-style layers and the classifiers

def test_public_kernels_refuse_matrix_and_masked_arrays():
    from fast_layers import _kernels

    x = np.random.default_rng(0).standard_normal((2, 1, 4, 4))
    cols = _kernels.im2col(x, 3, 3, 1, 1)
    masked = np.ma.masked_array(x, mask=np.zeros(x.shape, bool))
    _expect_refused(lambda: _kernels.im2col(masked, 3, 3, 1, 1), "masked", "x", "im2col(masked x)")
    _expect_refused(lambda: _kernels.col2im(np.asmatrix(cols), 2, 1, 4, 4, 3, 3, 1, 1), "matrix", "cols",
                    "col2im(matrix cols)")
    ref = _kernels.im2col(x, 3, 3, 1, 1)
    np.testing.assert_array_equal(_kernels.im2col(x, np.array(3), np.int64(3), np.array(1), np.array([1, 1])), ref)
    count_case("numpy scalar probes")


def _modules():
    import layer_modules as lm

    rng = np.random.default_rng(0)
    return [
        ("Affine", lm.Affine(rng.standard_normal((4, 3)), np.zeros(3)), (2, 4)),
        ("ReLU", lm.ReLU(), (2, 4)),
        ("BatchNorm", lm.BatchNorm(np.ones(4), np.zeros(4)), (3, 4)),
        ("Dropout", lm.Dropout(0.5, seed=0), (2, 4)),
        ("Conv", lm.Conv(rng.standard_normal((2, 1, 3, 3)), np.zeros(2), {"stride": 1, "pad": 1}), (2, 1, 4, 4)),
        ("MaxPool", lm.MaxPool({"pool_height": 2, "pool_width": 2, "stride": 2}), (2, 1, 4, 4)),
    ]


@pytest.mark.parametrize("which", range(6), ids=["Affine", "ReLU", "BatchNorm", "Dropout", "Conv", "MaxPool"])
def test_object_layers_refuse_matrix_and_masked_inputs(which):
    name, module, shape = _modules()[which]
    x = np.random.default_rng(1).standard_normal(shape)
    for kind, sub in _variants(x):
        _expect_refused(lambda: module.forward(sub), kind, "x", f"{name}.forward({kind})")
    out = module.forward(x)
    for kind, sub in _variants(np.ones_like(out)):
        _expect_refused(lambda: module.backward(sub), kind, "dout", f"{name}.backward({kind})")


def test_classifiers_refuse_matrix_and_masked_inputs():
    from classifiers.cnn import ThreeLayerConvNet
    from classifiers.fc_net import FullyConnectedNet

    rng = np.random.default_rng(0)
    fc = FullyConnectedNet([5], input_dim=6, num_classes=3)
    X, y = rng.standard_normal((4, 6)), np.array([0, 1, 2, 1])
    for kind, sub in _variants(X):
        _expect_refused(lambda: fc.loss(sub, y), kind, "X", f"FullyConnectedNet.loss(X={kind})")
    for kind, sub in _variants(y):
        _expect_refused(lambda: fc.loss(X, sub), kind, "y", f"FullyConnectedNet.loss(y={kind})")
    cnn = ThreeLayerConvNet(input_dim=(1, 6, 6), num_filters=2, filter_size=3, hidden_dim=4, num_classes=3)
    Xc = rng.standard_normal((2, 1, 6, 6))
    for kind, sub in _variants(Xc):
        _expect_refused(lambda: cnn.loss(sub, y[:2]), kind, "X", f"ThreeLayerConvNet.loss(X={kind})")
