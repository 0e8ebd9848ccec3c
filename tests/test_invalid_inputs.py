"""Invalid input into every public layer function raises ValueError/TypeError with a message.

Built from the layer specifications (``_gradcheck/grader/specs.py``, through ``tests/_api_registry.py``),
so every exported function is covered:

* every array argument of every forward and loss replaced by a list, None, or a complex, object,
  string or bytes array (TypeError), or given one axis more or less where the ndim is fixed;
* every parameter dict replaced by a non-dict, stripped of each required key, and given bad
  values (0, negative, NaN, inf, floats, strings, None, bools, too large) for each hyper-parameter;
* mismatched shapes (channels, bias length, gamma shape, labels), zero-size dimensions, pooling
  windows larger than the input, filters larger than the padded input;
* every backward given a dout of the wrong type, dtype or shape, and caches that are not
  caches: None, a list, truncated, extended, and the cache of every OTHER forward (which must
  either raise or, where the cache carries everything needed, give the right answer);
* random invalid convolution and pooling configurations drawn by hypothesis.

Nothing else is acceptable: no KeyError/AttributeError/IndexError/OverflowError, no crash, no
silent result. NaN and inf in the DATA are valid and propagate as numpy does (last section).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _gradcheck.grader.specs import DATA, PARAM, PARAM_KEYS
from tests._api_registry import BACKWARDS, COMPATIBLE_CACHES, FORWARDS, LOSSES, SPEC, build
from tests._strategies import conv_configs, pool_configs
from tests.conftest import assert_close, count_case, max_examples

TYPE = (TypeError,)
VALUE_OR_TYPE = (ValueError, TypeError)
NAN, INF = float("nan"), float("inf")

# Which arguments have a fixed ndim, which are parameter dicts of which kind, and which keys
# those dicts require, all come from the layer specifications. The bad values per dict kind are
# this test's own data: a new kind needs an entry here (test_every_param_kind_has_bad_values).
BAD_STRIDES = [0, -1, NAN, INF, 1.5, "1", None, (1, 2, 3), (1, 0), (0, 1), (NAN, 1), True, [], 2**31, 2**63]
BAD_PADS = [-1, (0, -1), NAN, INF, 1.5, "0", None, (1, 2, 3), 2**31, 10**30]
BAD_POOL_SIZES = [0, -1, NAN, 2.5, "2", None, True, 100]
BAD_PARAM_VALUES = {
    "conv": {"stride": BAD_STRIDES, "pad": BAD_PADS, "dilation": [0, -1, NAN, 1.5, None, (1, 0), 2**31]},
    "pool": {"pool_height": BAD_POOL_SIZES, "pool_width": BAD_POOL_SIZES, "stride": BAD_STRIDES},
    "dropout": {"p": [0, -0.1, 1.5, NAN, INF, "0.5", None, True, 0j], "mode": ["eval", None, 1, ""],
                "seed": [-1, 1.5, "3", NAN]},
    "bn": {"mode": ["eval", None, 1], "eps": [0, -1e-5, NAN, "1e-5", None, True],
           "momentum": [-0.1, 1.5, NAN, "0.9", None],
           "running_mean": [np.zeros(7), np.zeros((3, 1)), [0.0, 0.0, 0.0], np.zeros(3, complex)],
           "running_var": [np.ones(7), "ones", np.ones(3, dtype=object)]},
    "eps": {"eps": [0, -1.0, NAN, "1e-5", None, True]},
}


def test_every_param_kind_has_bad_values():
    missing = sorted(set(PARAM_KEYS) - set(BAD_PARAM_VALUES))
    assert not missing, (f"parameter kinds {missing} (declared in _gradcheck/grader/specs.py PARAM_KEYS) have no bad "
                         f"values: add them to BAD_PARAM_VALUES in tests/test_invalid_inputs.py")


def _bad_arrays(a, extended_precision=True):
    bad = [("list", a.tolist(), TYPE), ("None", None, TYPE), ("complex", a.astype(complex), TYPE),
           ("object", a.astype(object), TYPE), ("str dtype", a.astype(str), TYPE),
           ("bytes dtype", a.astype("S4"), TYPE), ("datetime64", np.zeros(a.shape, "datetime64[s]"), TYPE)]
    if extended_precision and np.dtype(np.longdouble) != np.float64:
        # Refused for inputs (float_dtype); a longdouble dout is simply cast to the layer dtype.
        bad.append(("longdouble", a.astype(np.longdouble), TYPE))
    return bad


def _array_cases(name, fn, args, i, a, arg):
    cases = []
    for label, bad, exc in _bad_arrays(a):
        if arg.role == DATA and label == "datetime64":
            continue
        cases.append((f"{name}: arg {i} {label}", fn, args, {i: bad}, exc))
    if arg.ndim is not None:
        cases.append((f"{name}: arg {i} one axis more", fn, args, {i: a[None]}, VALUE_OR_TYPE))
        less = a[0] if a.ndim > 1 else np.float64(a[0])
        cases.append((f"{name}: arg {i} one axis less", fn, args, {i: less}, VALUE_OR_TYPE))
    return cases


def _dict_cases(name, fn, args, i, kind):
    valid = args[i]
    cases = [(f"{name}: dict arg {i} is {label}", fn, args, {i: bad}, TYPE)
             for label, bad in (("None", None), ("list", list(valid.items())), ("str", "stride=1"))]
    for k in PARAM_KEYS[kind]:
        stripped = {kk: v for kk, v in valid.items() if kk != k}
        cases.append((f"{name}: {kind} param without {k!r}", fn, args, {i: stripped}, VALUE_OR_TYPE))
    for k, values in BAD_PARAM_VALUES.get(kind, {}).items():
        for v in values:
            label = v if not isinstance(v, np.ndarray) else f"array{v.shape} {v.dtype}"
            cases.append((f"{name}: {kind}[{k!r}] = {label!r}", fn, args, {i: {**valid, k: v}}, VALUE_OR_TYPE))
    return cases


def _forward_cases(forwards=None, build_fn=build):
    cases = []
    for name in sorted(forwards if forwards is not None else {**FORWARDS, **LOSSES}):
        fn, args, spec = build_fn(name, np.random.default_rng(0))
        for i, (a, arg) in enumerate(zip(args, spec.args)):
            if isinstance(a, np.ndarray):
                cases += _array_cases(name, fn, args, i, a, arg)
            elif arg.role == PARAM:
                cases += _dict_cases(name, fn, args, i, arg.kind)
    return cases


def _family(*families):
    return sorted(n for n in FORWARDS if SPEC[n].family in families)


def _conv_shape_cases(rng):
    z, cases = np.zeros, []
    for name in _family("conv", "conv_relu", "conv_relu_pool", "conv_bn_relu"):
        fn, args, _ = build(name, rng)
        x, w, b = args[:3]
        F, C, HH, WW = w.shape
        cases += [
            (f"{name}: w has C+1 channels", fn, args, {1: z((F, C + 1, HH, WW))}, VALUE_OR_TYPE),
            (f"{name}: b has F+1 entries", fn, args, {2: z(F + 1)}, VALUE_OR_TYPE),
            (f"{name}: b is 2-D (F, 1)", fn, args, {2: z((F, 1))}, VALUE_OR_TYPE),
            (f"{name}: filter larger than the padded input", fn, args, {1: z((F, C, x.shape[2] + 14, WW))},
             VALUE_OR_TYPE),
        ]
        for ax in range(4):
            for i, arr in ((0, x), (1, w)):
                shape = list(arr.shape)
                shape[ax] = 0
                cases.append((f"{name}: {'xw'[i]} axis {ax} empty", fn, args, {i: z(shape)}, VALUE_OR_TYPE))
    return cases


def _pool_shape_cases(rng):
    z, cases = np.zeros, []
    for name in _family("max_pool", "avg_pool"):
        fn, args, _ = build(name, rng)
        N, C, H, W = args[0].shape
        ph = args[1]["pool_height"]
        cases.append((f"{name}: window larger than the input", fn, args, {0: z((N, C, ph - 1, W))}, VALUE_OR_TYPE))
        for ax in range(4):
            shape = [N, C, H, W]
            shape[ax] = 0
            cases.append((f"{name}: x axis {ax} empty", fn, args, {0: z(shape)}, VALUE_OR_TYPE))
    return cases


def _dense_and_norm_shape_cases(rng):
    z, cases = np.zeros, []
    for name in _family("affine", "affine_relu"):
        fn, args, _ = build(name, rng)
        D, M = args[1].shape
        cases += [(f"{name}: w has D+1 rows", fn, args, {1: z((D + 1, M))}, VALUE_OR_TYPE),
                  (f"{name}: b has M+1 entries", fn, args, {2: z(M + 1)}, VALUE_OR_TYPE),
                  (f"{name}: x is 1-D", fn, args, {0: z(D)}, VALUE_OR_TYPE)]
    for name in _family("batchnorm", "layernorm"):
        fn, args, _ = build(name, rng)
        D = args[0].shape[1]
        cases += [(f"{name}: gamma has D+1 entries", fn, args, {1: z(D + 1)}, VALUE_OR_TYPE),
                  (f"{name}: beta is (D, 1)", fn, args, {2: z((D, 1))}, VALUE_OR_TYPE)]
    # Train-mode batch statistics of an empty batch are NaN and would be written into bn_param's
    # running statistics (an empty batch in test mode or an empty layernorm is harmless: empty out).
    fn, args, _ = build("batchnorm_forward", rng)
    cases.append(("batchnorm_forward: train mode, x has no rows", fn, args, {0: z((0, args[0].shape[1]))},
                  VALUE_OR_TYPE))
    fn, args, _ = build("spatial_batchnorm_forward", rng)
    N, C, H, W = args[0].shape
    cases += [("spatial_batchnorm_forward: gamma is (1, C, 1, 1)", fn, args, {1: z((1, C, 1, 1))}, VALUE_OR_TYPE),
              ("spatial_batchnorm_forward: train mode, x has H = 0", fn, args, {0: z((N, C, 0, W))},
               VALUE_OR_TYPE),
              ("spatial_batchnorm_forward: train mode, x has N = 0", fn, args, {0: z((0, C, H, W))},
               VALUE_OR_TYPE)]
    fn, args, _ = build("spatial_groupnorm_forward", rng)
    C, G = args[0].shape[1], args[3]
    cases += [("spatial_groupnorm_forward: gamma is (C,)", fn, args, {1: z(C)}, VALUE_OR_TYPE)]
    for bad_g in (0, -1, G + 1, C + 1, float(G), None, True, str(G), NAN, np.float64(G)):
        cases.append((f"spatial_groupnorm_forward: G = {bad_g!r}", fn, args, {3: bad_g}, VALUE_OR_TYPE))
    return cases


def _loss_shape_cases(rng):
    z, cases = np.zeros, []
    for name in sorted(LOSSES):
        fn, args, spec = build(name, rng)
        # Labels are the spec's data argument "y": loss(x, y) of scores, or f(W, X, y, reg) of weights.
        yi = [a.name for a in spec.args].index("y")
        y = args[yi]
        N, C = len(y), args[0].shape[-1]  # classes last: (N, C) scores, (D, C) weights, (N, T, V) scores

        def labels(i, v, y=y):
            out = y.copy()
            out[i] = v
            return out

        cases += [(f"{name}: label == C", fn, args, {yi: labels(1, C)}, VALUE_OR_TYPE),
                  (f"{name}: negative label", fn, args, {yi: labels(1, -1)}, VALUE_OR_TYPE),
                  (f"{name}: float labels", fn, args, {yi: y.astype(float)}, VALUE_OR_TYPE),
                  (f"{name}: N-1 labels", fn, args, {yi: y[:-1]}, VALUE_OR_TYPE),
                  (f"{name}: labels (N, 1)", fn, args, {yi: z((N, 1), int)}, VALUE_OR_TYPE),
                  (f"{name}: no classes", fn, args, {0: z((args[0].shape[0], 0))}, VALUE_OR_TYPE),
                  (f"{name}: no examples", fn, args, {0: z((0, C)), yi: z(0, int)}, VALUE_OR_TYPE)]
    return cases


def _shape_cases():
    """Mismatched shapes and zero-size dimensions, per family, sized from each layer's api layout."""
    rng = np.random.default_rng(1)
    return _conv_shape_cases(rng) + _pool_shape_cases(rng) + _dense_and_norm_shape_cases(rng) + \
        _loss_shape_cases(rng)


def _forward_and_cache(fname, rng=None):
    fn, args, _ = build(fname, rng or np.random.default_rng(2))
    out, cache = fn(*args)
    return args, out, cache


def _backward_cases():
    cases = []
    for bname, (bwd, fname) in sorted(BACKWARDS.items()):
        _, out, cache = _forward_and_cache(fname)
        dout = np.ones_like(out)
        for label, bad, exc in _bad_arrays(dout, extended_precision=False):
            cases.append((f"{bname}: dout {label}", bwd, [dout, cache], {0: bad}, exc))
        for ax in range(out.ndim):
            shape = list(out.shape)
            shape[ax] += 1
            cases.append((f"{bname}: dout axis {ax} + 1", bwd, [dout, cache], {0: np.ones(shape)}, VALUE_OR_TYPE))
        cases += [
            (f"{bname}: dout one axis more", bwd, [dout, cache], {0: dout[None]}, VALUE_OR_TYPE),
            (f"{bname}: dout transposed", bwd, [dout, cache], {0: np.ones(out.shape[::-1])}, VALUE_OR_TYPE)
            if out.shape[::-1] != out.shape else None,
            (f"{bname}: cache None", bwd, [dout, cache], {1: None}, VALUE_OR_TYPE),
            (f"{bname}: cache as a list", bwd, [dout, cache], {1: list(cache)}, VALUE_OR_TYPE),
            (f"{bname}: cache truncated", bwd, [dout, cache], {1: cache[:-1]}, VALUE_OR_TYPE),
            (f"{bname}: cache extended", bwd, [dout, cache], {1: (*cache, None)}, VALUE_OR_TYPE),
            (f"{bname}: cache is the forward output", bwd, [dout, cache], {1: out}, VALUE_OR_TYPE),
        ]
    return [c for c in cases if c is not None]


CASES = _forward_cases() + _shape_cases() + _backward_cases()


def _call(fn, args, replace):
    # A fresh copy per case: a call that wrongly succeeds (e.g. batchnorm updating bn_param)
    # must not leak into the next case.
    args = copy.deepcopy(list(args))
    for i, v in replace.items():
        args[i] = v
    return fn(*args)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_invalid_input_raises_value_or_type_error_with_a_message(case):
    label, fn, args, replace, expected = case
    with np.errstate(all="ignore"), pytest.raises(expected) as info:
        _call(fn, args, replace)
    assert str(info.value).strip(), f"{label}: {type(info.value).__name__} with an empty message"
    count_case("invalid layer cases (raised cleanly)")


def test_there_are_enough_invalid_cases():
    assert len(CASES) >= 200, len(CASES)


CROSS = [(b, f) for b in sorted(BACKWARDS) for f in sorted(FORWARDS)
         if f != BACKWARDS[b][1] and (b, f) not in COMPATIBLE_CACHES]


@pytest.mark.parametrize("bname, fname", CROSS, ids=[f"{b}<-{f}" for b, f in CROSS])
def test_cache_from_another_forward_raises_or_gives_the_right_answer(bname, fname):
    bwd, producer = BACKWARDS[bname]
    args, out, foreign = _forward_and_cache(fname)
    dout = np.random.default_rng(5).standard_normal(np.shape(out))
    try:
        with np.errstate(all="ignore"):
            got = bwd(dout, foreign)
    except (ValueError, TypeError) as exc:
        assert str(exc).strip()
        count_case("invalid layer cases (raised cleanly)")
        return
    # It accepted the cache: then it must equal the backward of its own forward on the same inputs.
    own_fn = FORWARDS[producer][0]
    try:
        _, own_cache = own_fn(*args)
    except (ValueError, TypeError):
        pytest.fail(f"{bname} accepted the cache of {fname}, whose arguments {producer} rejects")
    want = bwd(dout, own_cache)
    got, want = (got if isinstance(got, tuple) else (got,)), (want if isinstance(want, tuple) else (want,))
    for g, w in zip(got, want, strict=True):
        assert_close(g, w, err_msg=f"{bname} silently gave a wrong gradient from the cache of {fname}")
    count_case("foreign caches accepted with the right answer")


# --- random invalid configurations (hypothesis) ------------------------------------------------

CONV_FORWARDS = _family("conv", "conv_relu")
POOL_FORWARDS = _family("max_pool", "avg_pool")
BAD_SCALARS = st.sampled_from([0, -1, -7, NAN, INF, -INF, 1.5, "2", None, True, 2**31, 2**64])


@st.composite
def invalid_conv_calls(draw):
    cfg = draw(conv_configs(max_n=2, max_c=2, max_f=2))
    x_shape = [cfg["N"], cfg["C"], cfg["H"], cfg["W"]]
    w_shape = [cfg["F"], cfg["C"], cfg["HH"], cfg["WW"]]
    b_shape = [cfg["F"]]
    cp = dict(cfg["conv_param"])
    faults = draw(st.lists(st.sampled_from(
        ["stride", "pad", "dilation", "channels", "bias", "x_dim", "w_dim", "x_ndim", "too_big"]),
        min_size=1, max_size=3, unique=True))
    for fault in faults:
        if fault in ("stride", "dilation"):
            bad = draw(BAD_SCALARS.filter(lambda v: not (isinstance(v, int) and not isinstance(v, bool)
                                                         and 1 <= v < 2**31)))
            cp[fault] = draw(st.sampled_from([bad, (1, bad), (bad, 1)]))
        elif fault == "pad":
            bad = draw(BAD_SCALARS.filter(lambda v: not (isinstance(v, int) and not isinstance(v, bool)
                                                         and 0 <= v < 2**31)))
            cp["pad"] = draw(st.sampled_from([bad, (0, bad), (bad, 0)]))
        elif fault == "channels":
            w_shape[1] = cfg["C"] + draw(st.integers(1, 3))
        elif fault == "bias":
            b_shape = draw(st.sampled_from([[cfg["F"] + 1], [cfg["F"], 1], [], [0]]))
        elif fault == "x_dim":
            x_shape[draw(st.integers(0, len(x_shape) - 1))] = 0
        elif fault == "w_dim":
            w_shape[draw(st.integers(0, 3))] = 0
        elif fault == "x_ndim":
            x_shape = draw(st.sampled_from([x_shape[1:], [1, *x_shape], x_shape[:2]]))
        elif fault == "too_big":
            # A filter that cannot fit the padded input however the other faults fall.
            # A pad fault may have made the pad huge (already an error on its own): cap it so the
            # test never has to allocate a gigantic w itself.
            pad = cp["pad"] if isinstance(cp["pad"], int) and 0 <= cp["pad"] < 64 else 0
            w_shape[2] = cfg["H"] + 2 * max(pad, 8) + 40
    return faults, x_shape, w_shape, b_shape, cp, draw(st.sampled_from(CONV_FORWARDS))


@settings(max_examples=max_examples(150))
@given(call=invalid_conv_calls())
def test_random_invalid_conv_configurations_raise(call):
    faults, x_shape, w_shape, b_shape, cp, name = call
    fn = FORWARDS[name][0]
    with np.errstate(all="ignore"), pytest.raises(VALUE_OR_TYPE) as info:
        fn(np.zeros(x_shape), np.zeros(w_shape), np.zeros(b_shape), cp)
    assert str(info.value).strip()
    count_case("invalid layer cases (raised cleanly)")


@st.composite
def invalid_pool_calls(draw):
    cfg = draw(pool_configs())
    x_shape = [cfg["N"], cfg["C"], cfg["H"], cfg["W"]]
    pp = dict(cfg["pool_param"])
    faults = draw(st.lists(st.sampled_from(["pool_height", "pool_width", "stride", "window", "x_dim", "x_ndim"]),
                           min_size=1, max_size=3, unique=True))
    for fault in faults:
        if fault in ("pool_height", "pool_width", "stride"):
            pp[fault] = draw(BAD_SCALARS.filter(lambda v: not (isinstance(v, int) and not isinstance(v, bool)
                                                               and 1 <= v < 2**31)))
        elif fault == "window":
            pp["pool_height"] = cfg["H"] + draw(st.integers(1, 5))
        elif fault == "x_dim":
            x_shape[draw(st.integers(0, len(x_shape) - 1))] = 0
        elif fault == "x_ndim":
            x_shape = draw(st.sampled_from([x_shape[1:], [1, *x_shape]]))
    return x_shape, pp, draw(st.sampled_from(POOL_FORWARDS))


@settings(max_examples=max_examples(100))
@given(call=invalid_pool_calls())
def test_random_invalid_pool_configurations_raise(call):
    x_shape, pp, name = call
    with np.errstate(all="ignore"), pytest.raises(VALUE_OR_TYPE) as info:
        FORWARDS[name][0](np.zeros(x_shape), pp)
    assert str(info.value).strip()
    count_case("invalid layer cases (raised cleanly)")


# --- NaN and inf in the data are not errors ----------------------------------------------------

def _with_nonfinite(a, seed):
    a = a.copy()
    flat = a.reshape(-1)
    idx = np.random.default_rng(seed).permutation(flat.size)
    flat[idx[0]] = np.nan
    if flat.size > 1:
        flat[idx[1]] = np.inf
    if flat.size > 2:
        flat[idx[2]] = -np.inf
    return a


@pytest.mark.parametrize("name", sorted({**FORWARDS, **LOSSES}))
def test_nan_and_inf_data_pass_through_without_an_exception(name):
    fn, args, _ = build(name, np.random.default_rng(4))
    args = [_with_nonfinite(a, i) if isinstance(a, np.ndarray) and a.dtype.kind == "f" and i == 0 else a
            for i, a in enumerate(args)]
    with np.errstate(all="ignore"):
        first, second = fn(*args)
        if name in LOSSES:
            # The loss averages every row, so one NaN score makes it NaN, as np.mean would.
            assert np.isnan(first)
            return
        assert not np.isfinite(first).all(), f"{name}: the NaN/inf in x vanished from the output"
        for bname, (bwd, producer) in BACKWARDS.items():
            if producer == name:
                grads = bwd(np.ones_like(first), second)
                for g in grads if isinstance(grads, tuple) else (grads,):
                    assert isinstance(g, np.ndarray)  # an array came back; values may be NaN


NONFINITE_CASES = [(f"conv_forward_{i}", "conv_forward_naive", f"conv_backward_{i}", "conv_backward_naive", where)
                   for i in ("im2col", "strides", "fast") for where in ("x", "w")] + [
    (f"{k}_pool_forward_fast", f"{k}_pool_forward_naive", f"{k}_pool_backward_fast", f"{k}_pool_backward_naive", "x")
    for k in ("max", "avg")]


@pytest.mark.parametrize("fast, naive, fast_b, naive_b, where", NONFINITE_CASES,
                         ids=[f"{c[0]}-nonfinite-{c[4]}" for c in NONFINITE_CASES])
def test_nan_and_inf_propagate_exactly_as_in_the_naive_reference(fast, naive, fast_b, naive_b, where):
    fn, args, _ = build(fast, np.random.default_rng(6))
    i = 0 if where == "x" else 1
    args[i] = _with_nonfinite(args[i], 11)
    with np.errstate(all="ignore"):
        got, cache = fn(*args)
        want, cache_n = FORWARDS[naive][0](*args)
        dout = np.random.default_rng(8).standard_normal(got.shape)
        grads = BACKWARDS[fast_b][0](dout, cache)
        grads_n = BACKWARDS[naive_b][0](dout, cache_n)
    pairs = [("out", got, want)] + list(zip(("dx", "dw", "db"), grads if isinstance(grads, tuple) else (grads,),
                                            grads_n if isinstance(grads_n, tuple) else (grads_n,)))
    for label, g, n in pairs:
        for test in (np.isnan, np.isposinf, np.isneginf):
            np.testing.assert_array_equal(test(g), test(n), err_msg=f"{fast} {label}: {test.__name__} positions")
        finite = np.isfinite(n)
        assert_close(g[finite], n[finite], np.float64, scale=50, err_msg=f"{fast} {label} finite part")
