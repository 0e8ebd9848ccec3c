"""Shared test helpers: the dtype-aware tolerance (from the toolkit's table) and seeded random inputs."""

from __future__ import annotations

import numpy as np
import pytest

from tests import _product

_SHADOWED = _product.shadowing_problem()
if _SHADOWED:
    raise pytest.UsageError(_SHADOWED)

from _rules.tolerances import tolerance  # noqa: E402 - only once the product's origin is settled


def pytest_report_header(config):
    return (f"cnnkit under test: {_product.install_kind()}, imported from {_product.product_origin()}; "
            f"source tree read from {_product.SOURCE_ROOT}")


def tol(dtype, scale: float = 1.0) -> dict:
    """Return ``rtol``/``atol`` keyword arguments for ``assert_allclose`` in ``dtype``.

    The values are the fast-vs-reference row of the toolkit's one tolerance table
    (``_rules.tolerances``, also read by the gradient checker). ``scale`` multiplies the
    absolute tolerance for outputs whose magnitude grows with the reduction size (e.g. a
    convolution over many channels).
    """
    row = tolerance(dtype)
    return {"rtol": row.rtol, "atol": row.atol * scale}


def assert_close(actual, desired, dtype=None, scale: float = 1.0, err_msg: str = ""):
    """``assert_allclose`` at the tolerance of ``dtype`` (default: the dtype of ``desired``)."""
    desired = np.asarray(desired)
    dt = np.dtype(dtype) if dtype is not None else (desired.dtype if desired.dtype.kind == "f" else np.dtype(np.float64))
    np.testing.assert_allclose(actual, desired, err_msg=err_msg, **tol(dt, scale))


def assert_same_bits(actual, desired, err_msg: str = ""):
    """Equal in every bit: the same dtype and shape, and the same sign of every zero and bits of every NaN."""
    actual, desired = np.asarray(actual), np.asarray(desired)
    assert actual.dtype == desired.dtype and actual.dtype.kind == "f", (actual.dtype, desired.dtype, err_msg)
    as_int = np.dtype(f"u{actual.dtype.itemsize}")
    np.testing.assert_array_equal(actual.view(as_int), desired.view(as_int), err_msg=err_msg)


@pytest.fixture
def rng():
    """A seeded generator, fresh for every test."""
    return np.random.default_rng(0)


def snapshot(obj):
    """Deep copy of every array (values, shape, strides) reachable in a tuple/list/dict."""
    if isinstance(obj, np.ndarray):
        return ("array", obj.copy(), obj.shape, obj.strides, obj.dtype)
    if isinstance(obj, (tuple, list)):  # a NamedTuple cache is a tuple
        return ("tuple" if isinstance(obj, tuple) else "list", [snapshot(o) for o in obj])
    if isinstance(obj, dict):
        return ("dict", {k: snapshot(v) for k, v in obj.items()})
    return ("value", obj)


def assert_unchanged(before, obj, where="argument"):
    """Fail, naming the path, if ``obj`` differs from a :func:`snapshot` taken earlier."""
    now = snapshot(obj)

    def walk(a, b, path):
        assert a[0] == b[0], f"{where}{path} changed type"
        if a[0] == "array":
            assert a[2] == b[2], f"{where}{path} changed shape {a[2]} -> {b[2]}"
            assert a[3] == b[3], f"{where}{path} changed strides"
            assert a[4] == b[4], f"{where}{path} changed dtype"
            assert np.array_equal(a[1], b[1], equal_nan=True), f"{where}{path} changed values"
        elif a[0] in ("tuple", "list"):
            assert len(a[1]) == len(b[1]), f"{where}{path} changed length"
            for i, (u, v) in enumerate(zip(a[1], b[1])):
                walk(u, v, f"{path}[{i}]")
        elif a[0] == "dict":
            assert a[1].keys() == b[1].keys(), f"{where}{path} changed keys"
            for k in a[1]:
                walk(a[1][k], b[1][k], f"{path}[{k!r}]")
        else:
            assert a[1] == b[1], f"{where}{path} changed value"

    walk(before, now, "")


# ---------------------------------------------------------------------------------------------
# Hypothesis profiles and the probe counters (tests/test_properties.py & co.).
#
# "ci" (the default) keeps the property tests inside the CI budget; HYPOTHESIS_PROFILE=thorough
# multiplies every test's example count by 10 for a long local search. Tests set their own
# max_examples through max_examples(n) so the profile scales them instead of being overridden.
import collections
import os

from hypothesis import HealthCheck
from hypothesis import settings as _hyp_settings

_hyp_settings.register_profile(
    "ci",
    deadline=None,
    max_examples=100,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
_hyp_settings.register_profile(
    "thorough",
    deadline=None,
    max_examples=1000,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
_hyp_settings.load_profile(HYPOTHESIS_PROFILE)
_EXAMPLE_SCALE = {"thorough": 10}.get(HYPOTHESIS_PROFILE, 1)


def max_examples(n: int) -> int:
    """Example budget of one property test: ``n`` under the "ci" profile, 10x under "thorough"."""
    return n * _EXAMPLE_SCALE


# What the matrix and property tests exercised in this run, printed at the end of the session:
# valid hypothesis examples, invalid calls that raised cleanly, kernels fuzzed in a subprocess.
PROBE_COUNTS: collections.Counter = collections.Counter()


def count_case(kind: str, n: int = 1) -> None:
    """Add ``n`` to the session counter ``kind`` (shown in the terminal summary)."""
    PROBE_COUNTS[kind] += n


def pytest_terminal_summary(terminalreporter):
    if PROBE_COUNTS:
        terminalreporter.section("cnnkit probe counts")
        for kind in sorted(PROBE_COUNTS):
            terminalreporter.write_line(f"{kind}: {PROBE_COUNTS[kind]}")


# ---------------------------------------------------------------------------------------------
# Slow tests (marked ``slow``) are skipped unless asked for: ``--run-slow`` runs them with the
# rest, and a ``-m`` expression naming ``slow`` (``-m slow``) selects them explicitly.

def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run the tests marked slow (subprocess runs of the CLI, the corpus, notebooks)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow") or "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow (or -m slow)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
