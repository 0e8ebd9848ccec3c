"""No public function mutates its arguments, the cache it returns, or hidden state.

For every exported forward (and loss) in ``layers`` and ``fast_layers``, in float32 and float64,
with C-ordered and negative-stride inputs: the arguments are unchanged after the forward (values,
shape, strides, dtype, dict keys), except the running statistics batchnorm documents; the
cache and ``dout`` are unchanged after the backward; a second backward on the same cache gives
bit-identical gradients; and the global ``np.random`` state is never touched. The public
kernels are checked the same way. The layers and their arguments come from the layer
specifications (``_gradcheck/grader/specs.py``, through ``tests/_api_registry.py``); the first test fails,
naming the entry to add, if an exported function has no specification.
"""

from __future__ import annotations

import numpy as np
import pytest

from fast_layers.kernel_table import KERNELS, TWINS, Example, compiled_module

from tests._api_registry import BACKWARDS, FORWARDS, LOSSES, build, missing_entries
from tests._strategies import arrange
from tests.conftest import assert_unchanged, snapshot

LAYOUTS = ("C", "negative")
DTYPES = (np.float32, np.float64)


def test_every_exported_function_has_a_specification():
    missing = missing_entries()
    assert not missing, "\n".join(missing)


def _arranged(args, layout):
    return [arrange(a, layout, i) if isinstance(a, np.ndarray) else a for i, a in enumerate(args)]


def _without_updatable(args, spec):
    """The arguments with the bn_param keys a forward is documented to replace left out."""
    allowed = spec.may_update
    return [{k: v for k, v in a.items() if k not in allowed} if isinstance(a, dict) else a for a in args]


def _as_tuple(grads):
    return grads if isinstance(grads, tuple) else (grads,)


def _random_state():
    return snapshot(list(np.random.get_state()))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(FORWARDS))
def test_forward_and_backward_mutate_nothing(name, dtype, layout):
    rng = np.random.default_rng(7)
    fwd, args, spec = build(name, rng, dtype)
    args = _arranged(args, layout)
    before = snapshot(args)
    before_fixed = snapshot(_without_updatable(args, spec))
    # The objects the caller's dicts hold now: even a replaced running statistic must not be written to.
    held = {i: dict(a) for i, a in enumerate(args) if isinstance(a, dict)}
    global_rng = _random_state()

    out, cache = fwd(*args)

    assert_unchanged(before_fixed, _without_updatable(args, spec), where=f"{name} argument")
    for i, old in held.items():
        for k, v in old.items():
            assert_unchanged(before[1][i][1][k], v, where=f"{name} {k!r} held by the caller")
    backward = [b for b, (_, producer) in BACKWARDS.items() if producer == name]
    assert backward, f"no backward registered for {name}"
    dout = arrange(rng.standard_normal(np.shape(out)).astype(dtype), layout, 99)
    cache_before, dout_before = snapshot(cache), snapshot(dout)
    for bname in backward:
        bwd = BACKWARDS[bname][0]
        first = bwd(dout, cache)
        assert_unchanged(cache_before, cache, where=f"{bname} cache")
        assert_unchanged(dout_before, dout, where=f"{bname} dout")
        second = bwd(dout, cache)
        for g1, g2 in zip(_as_tuple(first), _as_tuple(second), strict=True):
            np.testing.assert_array_equal(g1, g2, err_msg=f"{bname} is not repeatable on one cache")
    assert_unchanged(global_rng, list(np.random.get_state()), where=f"{name}: np.random global state")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_mutate_nothing(name, dtype, layout):
    fn, args, _ = build(name, np.random.default_rng(7), dtype)
    args = _arranged(args, layout)
    before = snapshot(args)
    loss, dx = fn(*args)
    assert_unchanged(before, args, where=f"{name} argument")
    loss2, dx2 = fn(*args)
    assert loss == loss2
    np.testing.assert_array_equal(dx, dx2)


# A per-axis geometry: a 3x2 window, stride (2, 1), pad 1 over x (2, 3, 5, 4).
KERNEL_EXAMPLE = Example(N=2, C=3, H=5, W=4, HH=3, WW=2, pad=1, stride=(2, 1))


def _kernel_modules():
    mods = [pytest.param(TWINS, id="numpy")]
    compiled = compiled_module()
    return mods if compiled is None else mods + [pytest.param(compiled, id="compiled")]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("module", _kernel_modules())
@pytest.mark.parametrize("k", KERNELS, ids=lambda k: k.name)
def test_kernels_mutate_nothing_but_their_documented_output(k, module, layout):
    args = k.example(np.random.default_rng(3), KERNEL_EXAMPLE)
    args[0] = arrange(args[0], layout)
    read = [a for i, a in enumerate(args) if isinstance(a, np.ndarray) and i not in k.writes]
    before = snapshot(read)
    k.of(module)(*args)
    assert_unchanged(before, read, where=f"{k.compiled} ({module.__name__}) input")
