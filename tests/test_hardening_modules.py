"""Object-style layers update all of their parameters or none.

``Module.backward`` used to update ``w`` and then call the update rule for ``b``: when that call
failed, ``w`` had taken its step and ``b`` had not (and a rule that updates in place, like
CS231n's ``w -= lr * dw``, had already written into the layer's array). Now every update is
computed on copies first and committed only when all succeeded: on failure the parameters, their
gradients and the optimizer state are exactly what they were.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import layer_modules as lm
import optim


class Refused(Exception):
    pass


def in_place_sgd_failing_on(fail_ndim):
    """An update rule in CS231n's in-place style that fails for parameters of ``fail_ndim`` axes."""
    def rule(w, dw, config):
        config["steps"] = config.get("steps", 0) + 1
        w -= config.get("learning_rate", 0.1) * dw     # in place, as the course's sgd does
        if w.ndim == fail_ndim:
            raise Refused(f"no update for a {w.ndim}-D parameter")
        return w, config
    return rule


def _layers(rule):
    rng = np.random.default_rng(0)
    return {
        "Affine": (lm.Affine(rng.standard_normal((4, 3)), rng.standard_normal(3), optimizer=rule), (2, 4)),
        "Conv": (lm.Conv(rng.standard_normal((2, 1, 3, 3)), rng.standard_normal(2), {"stride": 1, "pad": 1},
                         optimizer=rule), (2, 1, 4, 4)),
        "BatchNorm": (lm.BatchNorm(rng.standard_normal(4), rng.standard_normal(4), optimizer=rule), (3, 4)),
    }


def _state(layer):
    return copy.deepcopy({k: v for k, v in vars(layer).items() if k not in ("_cache", "_fwd", "_bwd")})


def _assert_same_state(before, after, what):
    assert before.keys() == after.keys(), f"{what}: attributes {sorted(set(after) ^ set(before))} appeared"
    for k in before:
        a, b = before[k], after[k]
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(b, a, err_msg=f"{what}: {k} changed")
        else:
            assert repr(a) == repr(b), f"{what}: {k} changed: {a!r} -> {b!r}"


@pytest.mark.parametrize("name", ["Affine", "Conv", "BatchNorm"])
@pytest.mark.parametrize("fail_ndim", [1, "first"], ids=["second-parameter-fails", "first-parameter-fails"])
def test_a_failing_update_leaves_every_parameter_and_the_optimizer_state_unchanged(name, fail_ndim):
    layer, shape = _layers(None)[name]
    first = getattr(layer, layer.param_names[0])
    rule = in_place_sgd_failing_on(first.ndim if fail_ndim == "first" else 1)
    layer, shape = _layers((rule, {"learning_rate": 0.5}))[name]
    held = {p: getattr(layer, p) for p in layer.param_names}          # the arrays the caller passed in
    held_values = {p: a.copy() for p, a in held.items()}
    x = np.random.default_rng(1).standard_normal(shape)
    out = layer.forward(x)
    before = _state(layer)
    with pytest.raises(Refused):
        layer.backward(np.ones_like(out))
    _assert_same_state(before, _state(layer), name)
    for p in layer.param_names:
        assert getattr(layer, p) is held[p], f"{name}.{p} was replaced"
        np.testing.assert_array_equal(held[p], held_values[p], err_msg=f"{name}.{p} was written in place")


@pytest.mark.parametrize("name", ["Affine", "Conv", "BatchNorm"])
def test_a_successful_backward_updates_every_parameter(name):
    layer, shape = _layers((optim.sgd, {"learning_rate": 0.5}))[name]
    before = {p: getattr(layer, p).copy() for p in layer.param_names}
    out = layer.forward(np.random.default_rng(1).standard_normal(shape))
    layer.backward(np.ones_like(out))
    for p in layer.param_names:
        np.testing.assert_allclose(getattr(layer, p), before[p] - 0.5 * getattr(layer, "d" + p))
