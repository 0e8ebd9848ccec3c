"""The layer checker: correct layers pass, and each classic mistake is caught with the right diagnosis.

The broken layers below are small deliberate mutations of correct ones; each test asserts the
verdict *and* the one-line diagnosis, so a checker that merely fails everything cannot pass.
"""

from __future__ import annotations

import numpy as np
import pytest

import layer_utils
import layers
import fast_layers
from _gradcheck.grader import grid
from _gradcheck.grader import specs
from gradient_check import LayerCheck, check_layer

CONV = {"stride": 1, "pad": 1}
POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}


def conv_inputs(rng, N=3, C=2, H=5, W=5, F=3, k=3, dtype=np.float64):
    return [rng.standard_normal((N, C, H, W)).astype(dtype), rng.standard_normal((F, C, k, k)).astype(dtype),
            rng.standard_normal(F).astype(dtype)]


# ---------------------------------------------------------------------------------------------
# Small reference layers written for these tests (loops, stride 1), and their broken twins.

def loop_conv_forward(x, w, b, conv_param):
    p = conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    Ho, Wo = H + 2 * p - k + 1, W + 2 * p - k + 1
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, f, i, j] = np.sum(xp[n, :, i:i + k, j:j + k] * w[f]) + b[f]
    return out, (x, w, b, conv_param)


def _loop_conv_backward(dout, cache, overwrite=False, skip_padded=False):
    x, w, b, conv_param = cache
    p = conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    N, C, H, W = x.shape
    F, _, k, _ = w.shape
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))
    Ho, Wo = dout.shape[2:]
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    dw[f] += xp[n, :, i:i + k, j:j + k] * dout[n, f, i, j]
                    touches_pad = i < p or j < p or i + k > H + p or j + k > W + p
                    if skip_padded and touches_pad:
                        continue
                    if overwrite:
                        dxp[n, :, i:i + k, j:j + k] = w[f] * dout[n, f, i, j]
                    else:
                        dxp[n, :, i:i + k, j:j + k] += w[f] * dout[n, f, i, j]
    return dxp[:, :, p:p + H, p:p + W], dw, db


def loop_conv_backward(dout, cache):
    return _loop_conv_backward(dout, cache)


def conv_backward_assign(dout, cache):
    """Bug: `=` where `+=` is needed for dx."""
    return _loop_conv_backward(dout, cache, overwrite=True)


def conv_backward_skips_padding(dout, cache):
    """Bug: windows that overlap the padding do not send gradient to x."""
    return _loop_conv_backward(dout, cache, skip_padded=True)


def conv_backward_wrong_crop(dout, cache):
    """Bug: crops the padded gradient at 0 instead of at pad."""
    x, w, b, conv_param = cache
    p = conv_param["pad"]
    H, W = x.shape[2:]
    dx, dw, db = layers.conv_backward_naive(dout, cache)
    dxp = np.pad(dx, ((0, 0), (0, 0), (p, p), (p, p)))
    return dxp[:, :, :H, :W].copy(), dw, db


def conv_backward_dw_over_N(dout, cache):
    dx, dw, db = layers.conv_backward_naive(dout, cache)
    return dx, dw / dout.shape[0], db


def conv_backward_db_sign(dout, cache):
    dx, dw, db = layers.conv_backward_naive(dout, cache)
    return dx, dw, -db


def conv_backward_flipped(dout, cache):
    dx, dw, db = layers.conv_backward_naive(dout, cache)
    return dx, dw[:, :, ::-1, ::-1].copy(), db


def conv_backward_zero_db(dout, cache):
    dx, dw, _ = layers.conv_backward_naive(dout, cache)
    return dx, dw, np.zeros(dw.shape[0])


def conv_backward_noisy(dout, cache):
    """Bug: reads uninitialised state (modelled by fresh randomness) into dw."""
    dx, dw, db = layers.conv_backward_naive(dout, cache)
    return dx, dw + 1e-3 * np.random.default_rng().standard_normal(dw.shape), db


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def affine_backward_reshapes_cache(dout, cache):
    """Bug: `x.shape = ...` reshapes the caller's cached array in place."""
    x, w, b = cache
    shape = x.shape
    x.shape = (shape[0], -1)
    return (dout @ w.T).reshape(shape), x.T @ dout, dout.sum(axis=0)


def affine_backward_transposed_dw(dout, cache):
    dx, dw, db = affine_backward(dout, cache)
    return dx, dw.T, db


def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def relu_backward_mutates_dout(dout, cache):
    """Bug: zeroes dout in place and returns it."""
    dout[cache <= 0] = 0
    return dout


def max_pool_forward(x, pool_param):
    return layers.max_pool_forward_naive(x, pool_param)


def max_pool_backward_first_element(dout, cache):
    """Bug: routes each window's gradient to its top-left element instead of its maximum."""
    x, pool_param = cache
    dx = np.zeros_like(x)
    dx[:, :, ::2, ::2] = dout
    return dx


def max_pool_backward_all_ties(dout, cache):
    """Bug: routes each window's gradient to every element equal to the maximum."""
    x, pool_param = cache
    N, C, H, W = x.shape
    win = x.reshape(N, C, H // 2, 2, W // 2, 2)
    m = win.max(axis=(3, 5), keepdims=True)
    mask = win == m
    return (mask * dout[:, :, :, None, :, None]).reshape(x.shape)


def bn_forward(x, gamma, beta, bn_param):
    mu, var = x.mean(axis=0), x.var(axis=0)
    std = np.sqrt(var + 1e-5)
    xhat = (x - mu) / std
    return gamma * xhat + beta, (xhat, gamma, std)


def _bn_backward(dout, cache, drop_mean=False, drop_var=False):
    xhat, gamma, std = cache
    dxhat = dout * gamma
    dx = dxhat
    if not drop_mean:
        dx = dx - dxhat.mean(axis=0)
    if not drop_var:
        dx = dx - xhat * (dxhat * xhat).mean(axis=0)
    return dx / std, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def bn_backward(dout, cache):
    return _bn_backward(dout, cache)


def bn_backward_missing_mean(dout, cache):
    return _bn_backward(dout, cache, drop_mean=True)


def bn_backward_missing_var(dout, cache):
    return _bn_backward(dout, cache, drop_var=True)


def bn_inputs(rng, N=6, D=4):
    return [2 * rng.standard_normal((N, D)) + 1, rng.standard_normal(D), rng.standard_normal(D)], [{"mode": "train"}]


# ---------------------------------------------------------------------------------------------
# Correct layers pass.

def test_correct_conv_passes_in_every_mode(rng):
    for mode in ("full", "directional", "auto"):
        chk = check_layer(layers.conv_forward_naive, layers.conv_backward_naive, conv_inputs(rng), [CONV], mode=mode)
        assert isinstance(chk, LayerCheck)
        assert chk.passed, chk.report()
        assert [r.name for r in chk.inputs] == ["x", "w", "b"]
        assert chk.max_rel_error < 1e-6


def test_loop_reference_conv_used_below_is_correct(rng):
    chk = check_layer(loop_conv_forward, loop_conv_backward, conv_inputs(rng), [CONV])
    assert chk.passed, chk.report()


def test_float32_layer_is_compared_with_a_float64_reference(rng):
    chk = check_layer(layers.conv_forward_naive, layers.conv_backward_naive,
                      conv_inputs(rng, N=2, H=4, W=4, F=2, dtype=np.float32), [CONV])
    assert chk.passed, chk.report()
    assert chk.dtype == "float32" and chk.rtol == 1e-3
    # The float32 analytic gradient carries float32 rounding, far above float64 agreement but
    # far below the float32 rule: the numeric side really was float64.
    assert 1e-9 < chk.max_rel_error < 1e-4


def test_report_names_worst_index_and_both_values(rng):
    chk = check_layer(layers.conv_forward_naive, conv_backward_dw_over_N, conv_inputs(rng), [CONV])
    r = chk["w"]
    assert r.worst_index is not None and len(r.worst_index) == 4
    assert r.analytic == pytest.approx(r.analytic_grad[r.worst_index])
    assert r.numeric == pytest.approx(r.numeric_grad[r.worst_index])
    text = chk.report()
    assert "FAIL" in text and str(tuple(r.worst_index)) in text and "pass if max rel err <= 1e-06" in text


@pytest.mark.parametrize("seed", range(25))
def test_relu_and_max_pool_never_false_alarm(seed):
    rng = np.random.default_rng(seed)
    # Values on a coarse grid put many inputs exactly on or near the kink (0 for ReLU).
    x = np.round(rng.standard_normal((3, 4, 5)), 1)
    chk = check_layer(layers.relu_forward, layers.relu_backward, [x], seed=seed)
    assert chk.passed, chk.report()
    xp = rng.standard_normal((3, 2, 4, 4))
    for fwd, bwd in ((layers.max_pool_forward_naive, layers.max_pool_backward_naive),
                     (fast_layers.max_pool_forward_fast, fast_layers.max_pool_backward_fast)):
        chk = check_layer(fwd, bwd, [xp], [POOL], seed=seed)
        assert chk.passed, chk.report()
    y = rng.integers(0, 5, size=4)
    chk = check_layer(layers.svm_loss, None, [np.round(rng.standard_normal((4, 5)), 1)], [y], seed=seed)
    assert chk.passed, chk.report()


def test_points_within_h_of_a_kink_are_excluded_and_counted():
    x = np.array([[0.0, 1e-7, -1e-7, 0.5], [-0.3, 2e-6, 0.7, -4e-6]])
    chk = check_layer(layers.relu_forward, layers.relu_backward, [x], h=1e-5)
    assert chk.passed, chk.report()
    assert chk["x"].kinks_excluded == 5  # 0, +-1e-7, 2e-6, -4e-6 lie within h = 1e-5 of the kink
    assert chk["x"].worst_index not in {(0, 0), (0, 1), (0, 2), (1, 1), (1, 3)}
    assert "within h of a kink" in chk.report()


def test_max_pool_ties_pass_when_routed_to_one_element():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, :2, :2] = 1.0          # a 4-way tie
    x[0, 0, 2:, 2:] = [[2.0, 2.0], [0.5, 0.1]]
    chk = check_layer(layers.max_pool_forward_naive, layers.max_pool_backward_naive, [x], [POOL])
    assert chk.passed, chk.report()
    assert chk["x"].kinks_excluded > 0


# ---------------------------------------------------------------------------------------------
# Each mistake is caught, with the right diagnosis.

def test_scaled_dw_is_diagnosed_as_batch_size_factor(rng):
    chk = check_layer(layers.conv_forward_naive, conv_backward_dw_over_N, conv_inputs(rng), [CONV])
    assert not chk.passed
    assert chk["x"].passed and chk["b"].passed and not chk["w"].passed
    assert "1/N" in chk["w"].diagnosis and "batch size" in chk["w"].diagnosis


def test_sign_error_is_diagnosed(rng):
    chk = check_layer(layers.conv_forward_naive, conv_backward_db_sign, conv_inputs(rng), [CONV])
    assert not chk["b"].passed
    assert chk["b"].diagnosis.startswith("sign error")


def test_flipped_kernel_is_diagnosed(rng):
    chk = check_layer(layers.conv_forward_naive, conv_backward_flipped, conv_inputs(rng), [CONV])
    assert not chk["w"].passed
    assert "rotated 180 degrees" in chk["w"].diagnosis


def test_assignment_instead_of_accumulation_is_diagnosed(rng):
    chk = check_layer(loop_conv_forward, conv_backward_assign, conv_inputs(rng, F=2), [CONV])
    assert not chk["x"].passed and chk["w"].passed
    assert "'=' where '+=' is needed" in chk["x"].diagnosis


def test_border_only_errors_are_diagnosed_as_padding(rng):
    chk = check_layer(loop_conv_forward, conv_backward_skips_padding, conv_inputs(rng, N=2, C=1, H=7, W=7, F=2),
                      [CONV])
    assert not chk["x"].passed and chk["w"].passed
    assert "only on the border (within 2 of the edge" in chk["x"].diagnosis and "padding" in chk["x"].diagnosis


def test_padded_gradient_cropped_at_the_wrong_offset_is_diagnosed_as_a_shift(rng):
    chk = check_layer(layers.conv_forward_naive, conv_backward_wrong_crop, conv_inputs(rng, H=5, W=6), [CONV])
    assert not chk["x"].passed and chk["w"].passed
    assert "shifted by (1, 1)" in chk["x"].diagnosis and "crop" in chk["x"].diagnosis


def test_all_zero_gradient_is_diagnosed(rng):
    chk = check_layer(layers.conv_forward_naive, conv_backward_zero_db, conv_inputs(rng), [CONV])
    assert "all zeros" in chk["b"].diagnosis


def test_transposed_gradient_is_diagnosed(rng):
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 4)), rng.standard_normal(4)
    chk = check_layer(affine_forward, affine_backward_transposed_dw, [x, w, b])
    assert not chk["w"].passed
    assert "transposed" in chk["w"].diagnosis


def test_wrong_shape_gradient_is_reported(rng):
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    chk = check_layer(affine_forward, affine_backward_transposed_dw, [x, w, b])
    assert not chk["w"].passed
    assert "shape (5, 4)" in chk["w"].diagnosis and "transposed?" in chk["w"].diagnosis


def test_wrong_pooling_routing_is_caught(rng):
    x = rng.standard_normal((2, 2, 4, 4))
    chk = check_layer(max_pool_forward, max_pool_backward_first_element, [x], [POOL])
    assert not chk.passed
    assert "the right values at the wrong elements" in chk["x"].diagnosis
    assert "pooling" in chk["x"].diagnosis


def test_gradient_routed_to_every_tie_is_diagnosed_as_pooling_ties():
    x = np.zeros((1, 2, 4, 4))
    x[0, 0, :2, :2] = 1.0
    x[0, 1, 2:, :2] = [[3.0, 1.0], [3.0, 3.0]]
    x[0, :, 2:, 2:] = np.arange(8.0).reshape(2, 2, 2) / 10
    chk = check_layer(max_pool_forward, max_pool_backward_all_ties, [x], [POOL])
    assert not chk.passed
    assert "pooling ties" in chk["x"].diagnosis
    # Without ties the same backward is right: the error lives only at the ties.
    x_random = np.random.default_rng(1).standard_normal((1, 2, 4, 4))
    assert check_layer(max_pool_forward, max_pool_backward_all_ties, [x_random], [POOL]).passed


def test_missing_batchnorm_mean_term_is_diagnosed(rng):
    inputs, params = bn_inputs(rng)
    assert check_layer(bn_forward, bn_backward, inputs, params).passed
    chk = check_layer(bn_forward, bn_backward_missing_mean, inputs, params)
    assert not chk["x"].passed and chk["gamma"].passed and chk["beta"].passed
    assert "mean(dxhat)" in chk["x"].diagnosis


def test_missing_batchnorm_variance_term_is_diagnosed(rng):
    inputs, params = bn_inputs(rng)
    chk = check_layer(bn_forward, bn_backward_missing_var, inputs, params)
    assert not chk["x"].passed
    assert "xhat" in chk["x"].diagnosis and "variance" in chk["x"].diagnosis


def test_mutating_dout_fails_naming_dout(rng):
    x = rng.standard_normal((4, 5))
    chk = check_layer(relu_forward, relu_backward_mutates_dout, [x])
    assert chk["x"].passed  # the numbers are right; the side effect is what is wrong
    assert not chk.passed
    assert any(p.startswith("backward mutated dout") for p in chk.problems), chk.problems


def test_in_place_reshape_of_cached_x_fails_naming_the_cache_slot(rng):
    x, w, b = rng.standard_normal((3, 2, 3)), rng.standard_normal((6, 4)), rng.standard_normal(4)
    assert check_layer(affine_forward, affine_backward, [x, w, b]).passed
    chk = check_layer(affine_forward, affine_backward_reshapes_cache, [x, w, b])
    assert not chk.passed
    assert any("cache[0] changed shape (3, 2, 3) -> (3, 6)" in p for p in chk.problems), chk.problems
    assert any("input 'x'" in p for p in chk.problems)
    assert x.shape == (3, 2, 3)  # the caller's array is never touched: the checker works on copies


def test_forward_mutating_an_input_fails(rng):
    def fwd(x):
        x *= 2
        return x.copy(), None

    chk = check_layer(fwd, lambda dout, cache: dout * 2, [rng.standard_normal(5)])
    assert any(p.startswith("forward mutated input 'x'") for p in chk.problems)
    assert chk["x"].passed  # every probe ran on a fresh copy, so the numbers are still meaningful
    assert not chk.passed


def test_non_deterministic_backward_is_caught(rng):
    chk = check_layer(layers.conv_forward_naive, conv_backward_noisy, conv_inputs(rng), [CONV])
    assert not chk.passed
    assert any("non-deterministic backward" in p and "dw" in p for p in chk.problems)


def test_batchnorm_running_stats_are_the_allowed_mutation(rng):
    inputs = [rng.standard_normal((5, 3)), rng.standard_normal(3), rng.standard_normal(3)]
    chk = check_layer(layers.batchnorm_forward, layers.batchnorm_backward, inputs, [{"mode": "train"}])
    assert chk.passed, chk.report()
    strict = check_layer(layers.batchnorm_forward, layers.batchnorm_backward, inputs, [{"mode": "train"}],
                         mutable=())
    assert any("running_mean" in p for p in strict.problems)


# ---------------------------------------------------------------------------------------------
# Vacuous checks and stochastic layers.

def test_vacuous_check_warns():
    x = -np.abs(np.random.default_rng(0).standard_normal((3, 4))) - 0.1
    chk = check_layer(layers.relu_forward, layers.relu_backward, [x])
    assert chk.passed
    assert any("vacuous" in w for w in chk["x"].warnings)


def test_constant_dout_warns(rng):
    x = rng.standard_normal((3, 4))
    chk = check_layer(layers.relu_forward, layers.relu_backward, [x], dout=np.ones((3, 4)))
    assert any("dout is constant" in w for w in chk.warnings)


def test_constant_dout_hides_a_missing_variance_term_that_random_dout_finds(rng):
    inputs, params = bn_inputs(rng)
    ones = np.ones((6, 4))
    # With dout = 1 the true batchnorm dx is 0, and so is the buggy one (d - mean(d) = 0)...
    quiet = check_layer(bn_forward, bn_backward_missing_var, inputs, params, dout=ones)
    assert quiet["x"].passed and any("dout is constant" in w for w in quiet.warnings)
    # ...which is why the default dout is random.
    assert not check_layer(bn_forward, bn_backward_missing_var, inputs, params)["x"].passed


def test_seeded_dropout_is_checkable_and_correct(rng):
    x = rng.standard_normal((4, 6))
    chk = check_layer(layers.dropout_forward, layers.dropout_backward, [x], [{"p": 0.6, "mode": "train", "seed": 3}])
    assert chk.passed, chk.report()


def test_dropout_without_seed_is_seeded_by_the_checker(rng):
    x = rng.standard_normal((4, 6))
    chk = check_layer(layers.dropout_forward, layers.dropout_backward, [x], [{"p": 0.6, "mode": "train"}])
    assert chk.passed, chk.report()
    assert any("seed" in w for w in chk.warnings)


def test_unseedable_random_layer_is_not_checkable_rather_than_wrong(rng):
    def noisy_dropout_forward(x, dropout_param):
        mask = (np.random.default_rng().random(x.shape) < dropout_param["p"]) / dropout_param["p"]
        return x * mask, mask

    chk = check_layer(noisy_dropout_forward, lambda dout, mask: dout * mask, [rng.standard_normal((4, 6))],
                      [{"p": 0.5, "mode": "train", "seed": 0}])
    assert chk.status == "not checkable"
    assert not chk.passed and "seed" in chk.not_checkable


# ---------------------------------------------------------------------------------------------
# Modes, adapters and errors.

def test_directional_mode_catches_and_auto_mode_localizes(rng):
    inputs = conv_inputs(rng)
    d = check_layer(layers.conv_forward_naive, conv_backward_dw_over_N, inputs, [CONV], mode="directional")
    assert not d["w"].passed and d["w"].worst_index is None and d["x"].passed
    assert "same factor" in d["w"].diagnosis and "1/N" in d["w"].diagnosis
    a = check_layer(layers.conv_forward_naive, conv_backward_dw_over_N, inputs, [CONV], mode="auto")
    assert a["w"].mode == "full" and a["w"].worst_index is not None and "1/N" in a["w"].diagnosis
    assert a["x"].mode == "auto"


def test_loss_adapter_checks_dx_against_the_loss(rng):
    x, y = rng.standard_normal((4, 5)), rng.integers(0, 5, size=4)
    assert check_layer(layers.softmax_loss, None, [x], [y]).passed

    def softmax_loss_not_averaged(x, y):
        loss, dx = layers.softmax_loss(x, y)
        return loss, dx * x.shape[0]

    chk = check_layer(softmax_loss_not_averaged, None, [x], [y])
    assert "analytic = numeric x 4" in chk["x"].diagnosis


def test_wrt_selects_the_differentiated_inputs(rng):
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal(2)
    chk = check_layer(affine_forward, lambda dout, cache: affine_backward(dout, cache)[1:], [x, w, b], wrt=["w", "b"])
    assert chk.passed and [r.name for r in chk.inputs] == ["w", "b"]


def test_layer_that_raises_is_an_error_not_a_crash(rng):
    def unfinished_backward(dout, cache):
        raise NotImplementedError("TODO")

    chk = check_layer(affine_forward, unfinished_backward, [rng.standard_normal((2, 3)), rng.standard_normal((3, 2)),
                                                            rng.standard_normal(2)])
    assert chk.status == "ERROR" and "NotImplementedError" in chk.error

    chk = check_layer(lambda x: None, relu_backward, [rng.standard_normal(3)])
    assert chk.status == "ERROR" and "None" in chk.error


def test_nan_from_the_forward_fails_instead_of_passing():
    def sqrt_forward(x):
        return np.sqrt(x), x

    def sqrt_backward(dout, x):
        return dout * 0.5 / np.sqrt(np.maximum(x, 1e-300))

    x = np.array([4.0, 1.0, 0.0])  # sqrt(0 - h) is nan
    with np.errstate(invalid="ignore", divide="ignore"):
        full = check_layer(sqrt_forward, sqrt_backward, [x])
        directional = check_layer(sqrt_forward, sqrt_backward, [x], mode="directional")
    assert not full.passed and "nan/inf" in full["x"].diagnosis and full["x"].worst_index == (2,)
    assert not directional.passed


def test_bad_arguments_raise(rng):
    with pytest.raises(ValueError, match="mode"):
        check_layer(relu_forward, relu_backward, [rng.standard_normal(3)], mode="fast")
    with pytest.raises(TypeError, match="floating"):
        check_layer(relu_forward, relu_backward, [np.arange(3)])


def test_plot_draws_a_figure_and_writes_png(rng, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    chk = check_layer(layers.conv_forward_naive, conv_backward_dw_over_N, conv_inputs(rng, N=2, H=4, W=4, F=2),
                      [CONV])
    path = tmp_path / "conv.png"
    fig = chk.plot(path)
    assert path.stat().st_size > 1000
    assert len(fig.axes) >= 6  # x, w, b: heat map + detail each (+ colorbars)


# ---------------------------------------------------------------------------------------------
# The registry covers every public layer.

@pytest.mark.parametrize("module", [layers, fast_layers, layer_utils], ids=["layers", "fast_layers", "layer_utils"])
def test_every_exported_layer_is_registered(module):
    assert any("_forward" in n for n in module.__all__)
    missing = specs.missing_specs(module)
    assert not missing, "\n".join(missing)


def test_an_unregistered_layer_would_be_reported():
    import types

    fake = types.SimpleNamespace(__all__=["conv_forward_naive", "swish_forward", "swish_backward", "HAVE_X"],
                                 conv_forward_naive=len, swish_forward=len, swish_backward=len, HAVE_X=True)
    missing = specs.missing_specs(fake)
    assert [m.split(" ")[0] for m in missing] == ["?.swish_backward", "?.swish_forward"]


def test_every_spec_resolves_to_a_toolkit_function():
    jobs, absent = grid.jobs(None)
    assert not absent and len(jobs) == len(specs.SPECS)


@pytest.mark.parametrize("ratio,batch,expected", [
    (1 / 3, 3, "1/N"), (3.0, 3, "missing division by the batch size"), (-1.0, 3, "sign error"),
    (2.0, 3, "factor 2 too many"), (0.5, 3, "factor 2 missing"), (0.5, 2, "tell them apart"),
    (-2.0, 3, "sign error combined"), (1.7, 3, "x 1.7: a constant factor"),
])
def test_ratio_phrases(ratio, batch, expected):
    from _gradcheck.diagnose.patterns import ratio_phrase

    assert expected in ratio_phrase(ratio, batch)


def test_factor_two_in_a_layer_is_named(rng):
    chk = check_layer(layers.relu_forward, lambda dout, cache: 2 * layers.relu_backward(dout, cache),
                      [rng.standard_normal((3, 4))])
    assert "analytic = numeric x 2: a factor 2 too many" in chk["x"].diagnosis
