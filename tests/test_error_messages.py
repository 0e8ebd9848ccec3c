"""Odd input gets a message from cnnkit, naming the value, never an error from inside numpy.

``tests/test_invalid_inputs.py`` checks that bad input raises ``ValueError``/``TypeError``. This
adversarial pass adds inputs that are odd rather than plainly wrong, and a stricter verdict:

* every probe either succeeds, or raises ``ValueError``, ``TypeError`` or ``MemoryError`` from a
  line of cnnkit's own code (the innermost frame of the traceback is in this repository, not in
  numpy), with a message that is not one of Python's or numpy's internal ones ("len() of unsized
  object", "cannot reshape array of size 0", "truth value of an array ... is ambiguous", ...);
* where a probe replaces one hyper-parameter by a plain odd value, the message names that value.

Probes, per layer specification: every array argument as 0-d, 1-element, zero-size along each
axis (N=0 included), with an
extra or a missing axis, float16/int8/bool/uint64 dtypes; every hyper-parameter as a 0-d array, a
1- or 2-element array, a complex number, a Fraction, a dict, a numpy bool, a huge int; every
backward's dout as int, bool, 0-d, extra axis, and its cache with elements swapped, replaced by
None, by a string, or by a wrong-shaped array. The count of probes goes to the run's summary
("odd-input probes").
"""

from __future__ import annotations

import fractions
import os
import re
import traceback

import numpy as np
import pytest

from _gradcheck.grader.specs import DATA, INPUT, VALUE
from tests._api_registry import BACKWARDS, FORWARDS, LOSSES, build
from tests._product import product_names
from tests.conftest import count_case

pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning", "ignore:invalid value encountered:RuntimeWarning")

import layers as _layers

# Frames of the product itself, wherever it is installed: the folder holding its packages.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(_layers.__file__)))
CLEAN = (ValueError, TypeError, MemoryError)
INTERNAL = re.compile(
    r"unsized object|cannot reshape|could not be broadcast|could not broadcast|not subscriptable|"
    r"is not iterable|unhashable|has no attribute|truth value of an array|unsupported operand|"
    r"index \d+ is out of bounds|out of bounds for axis|positional argument|argument of type|not supported between|"
    r"can't multiply|invalid literal|must be real number, not|cannot be interpreted as an integer|"
    r"'NoneType'|object of type .* has no len|only integer scalar arrays|cannot convert float|"
    r"ufunc '|Cannot cast ufunc|maximum recursion|too many indices|zero-size array to reduction"
)


def _third_party(filename):
    """A frame of numpy or another installed library (which may sit beside the product in site-packages)."""
    rel = os.path.relpath(filename, ROOT).split(os.sep)[0]
    top = rel[:-3] if rel.endswith(".py") else rel
    return top not in _PRODUCT


_PRODUCT = set(product_names())


def _verdict(call, what, value=None):
    """Run one probe; return None when it behaved, else a description of what went wrong."""
    count_case("odd-input probes")
    try:
        call()
    except CLEAN as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        msg = str(exc)
        own = frame.filename.startswith(ROOT) and not _third_party(frame.filename)
        if type(exc).__module__ != "builtins" or not own:
            return f"{what}: {type(exc).__module__}.{type(exc).__name__} raised in {frame.filename}:{frame.lineno}: {msg}"
        if INTERNAL.search(msg) or not msg:
            return f"{what}: internal message: {msg!r}"
        if value is not None and not _names(msg, value):
            return f"{what}: message does not name {value!r}: {msg}"
    except Exception as exc:  # noqa: BLE001 - anything else is the failure being looked for
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        return f"{what}: {type(exc).__name__} at {frame.filename}:{frame.lineno}: {exc}"
    return None


def _names(msg, value):
    forms = {repr(value), str(value)}
    if isinstance(value, np.ndarray):
        forms |= {repr(value.tolist()), str(value.tolist())}
    return any(f in msg for f in forms)


# --- the probes ------------------------------------------------------------------------------

ODD_VALUES = [np.array(1), np.array(2.5), np.array([1]), np.array([[1, 1]]), 1 + 0j, fractions.Fraction(1, 2), {"a": 1}, np.bool_(True),
              10**40, -(10**40), np.float64("nan"), np.array(["a"]), b"1", object()]


def _array_variants(a):
    """(description, replacement) odd versions of array argument ``a``."""
    out = [("0-d", np.array(1.0)), ("1 element", np.ones(1)), ("extra axis", a[None]),
           ("one axis fewer", a.reshape(a.shape[:-2] + (-1,)) if a.ndim >= 2 else a[0]),
           ("float16", a.astype(np.float16)), ("int8", a.astype(np.int8)), ("bool", a.astype(bool)),
           ("uint64", np.abs(a).astype(np.uint64)), ("F order", np.asfortranarray(a)),
           ("negative strides", a[..., ::-1].copy()[..., ::-1]), ("huge values", a * 1e300)]
    for ax in range(a.ndim):
        out.append((f"zero-size axis {ax}", np.take(a, [], axis=ax)))
    return out


def _forward_probes(name):
    fwd, args, spec = build(name, np.random.default_rng(0))
    for i, (arg, a) in enumerate(zip(spec.args, args)):
        if arg.role in (INPUT, DATA) and isinstance(a, np.ndarray):
            for desc, rep in _array_variants(a):
                yield f"{name}({arg.name} {desc})", fwd, _with(args, i, rep), None
        elif isinstance(a, dict):
            for key in list(a):
                if isinstance(a[key], np.ndarray):
                    continue
                for v in ODD_VALUES:
                    d = dict(a)
                    d[key] = v
                    yield f"{name}({arg.name}[{key!r}]={v!r})", fwd, _with(args, i, d), v
        elif arg.role == VALUE:
            for v in ODD_VALUES:
                yield f"{name}({arg.name}={v!r})", fwd, _with(args, i, v), v


def _with(args, i, value):
    out = [dict(a) if isinstance(a, dict) else a for a in args]
    out[i] = value
    return out


def _cache_variants(cache):
    """(description, odd cache) versions of a valid cache."""
    if not isinstance(cache, tuple):
        return []
    out = []
    for i, item in enumerate(cache):
        for desc, rep in (("None", None), ("a string", "x"), ("a wrong-shaped array", np.ones((2, 3, 1))),
                          ("0-d", np.array(1.0)), ("a dict", {})):
            out.append((f"cache[{i}] {desc}", cache[:i] + (rep,) + cache[i + 1:]))
        if isinstance(item, np.ndarray):
            out.append((f"cache[{i}] complex", cache[:i] + (item.astype(complex),) + cache[i + 1:]))
    if len(cache) > 1:
        out.append(("cache reversed", cache[::-1]))
    return out


def _backward_probes(name):
    bwd, fwd_name = BACKWARDS[name]
    fwd, args, _ = build(fwd_name, np.random.default_rng(0))
    out, cache = fwd(*args)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    for desc, d in (("int", dout.astype(np.int64)), ("bool", dout > 0), ("0-d", np.array(1.0)),
                    ("extra axis", dout[None]), ("float16", dout.astype(np.float16)),
                    ("zero-size", np.take(dout, [], axis=0))):
        yield f"{name}(dout {desc})", bwd, [d, cache], None
    for desc, c in _cache_variants(cache):
        yield f"{name}({desc})", bwd, [dout, c], None


@pytest.mark.parametrize("name", sorted(FORWARDS) + sorted(LOSSES))
def test_odd_forward_input_gets_a_cnnkit_message_naming_it(name):
    bad = [v for what, fn, args, value in _forward_probes(name)
           if (v := _verdict(lambda: fn(*args), what, value))]
    assert not bad, f"{len(bad)} probe(s) of {name} misbehaved:\n" + "\n".join(bad)


@pytest.mark.parametrize("name", sorted(BACKWARDS))
def test_odd_backward_input_gets_a_cnnkit_message(name):
    bad = [v for what, fn, args, value in _backward_probes(name)
           if (v := _verdict(lambda: fn(*args), what, value))]
    assert not bad, f"{len(bad)} probe(s) of {name} misbehaved:\n" + "\n".join(bad)


def test_groupnorm_of_an_empty_batch_is_an_empty_batch():
    # Not numpy's "cannot reshape array of size 0 into shape (0,2,newaxis)":
    # group statistics are per example, so an empty batch is simply empty, as for layernorm.
    import layers

    gamma, beta = np.ones((1, 4, 1, 1)), np.zeros((1, 4, 1, 1))
    out, cache = layers.spatial_groupnorm_forward(np.ones((0, 4, 2, 3)), gamma, beta, 2, {})
    assert out.shape == (0, 4, 2, 3)
    dx, dgamma, dbeta = layers.spatial_groupnorm_backward(np.ones((0, 4, 2, 3)), cache)
    assert dx.shape == (0, 4, 2, 3)
    np.testing.assert_array_equal(dgamma, np.zeros((1, 4, 1, 1)))
    np.testing.assert_array_equal(dbeta, np.zeros((1, 4, 1, 1)))
    count_case("odd-input probes")
