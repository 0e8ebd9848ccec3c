"""Numeric gradients, the layer checker, and its command line.

The classic functions keep the CS231n names and signatures so coursework code runs unchanged:
``rel_error``, ``eval_numerical_gradient``, ``eval_numerical_gradient_array``,
``eval_numerical_gradient_blobs``, ``eval_numerical_gradient_net`` and ``grad_check_sparse``. All use central differences,
``(f(x + h) - f(x - h)) / (2h)``, and put every probed element back exactly as it was.

``check_layer(forward, backward, inputs, params)`` checks a whole forward/backward pair: every
input, in float64 whatever the layer dtype, with a stated pass rule per dtype, the index and values
of the worst element, kinks excluded, mutation and non-determinism detected, and a one-line
diagnosis of a wrong gradient. It returns a ``LayerCheck`` (``report()``, ``plot()``). Its
implementation lives in the private package ``_gradcheck``.

``python -m gradient_check`` checks every layer the toolkit ships (``--help`` for the options,
``--module`` for a student's file).
"""

from __future__ import annotations

if __name__ == "__main__":
    import os

    # The command line evaluates tiny layers thousands of times, where BLAS threads only contend
    # (benchmarks/RESULTS.md). Must be set before numpy loads.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np

__all__ = [
    "rel_error",
    "eval_numerical_gradient",
    "eval_numerical_gradient_array",
    "eval_numerical_gradient_blobs",
    "eval_numerical_gradient_net",
    "grad_check_sparse",
]


def rel_error(x, y):
    """Return the largest elementwise relative error ``|x - y| / max(1e-8, |x| + |y|)``.

    Parameters
    ----------
    x, y : array_like, same shape

    Returns
    -------
    float
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"rel_error needs arrays of one shape, got {x.shape} and {y.shape}")
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def _check_probe_target(x, name="x"):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy ndarray (it is perturbed in place), got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(
            f"{name} must be a floating array to be perturbed by h, got dtype {x.dtype}; "
            f"convert it with {name}.astype(np.float64)"
        )
    if not x.flags.writeable:
        raise ValueError(f"{name} must be writeable: it is perturbed in place and restored after each probe")


def _central_difference(f_of_x, x, ix, h):
    """Evaluate ``f`` at x[ix] +- h and restore x[ix] bit for bit; return both values."""
    saved = x[ix].copy()
    try:
        x[ix] = saved + h
        plus = f_of_x()
        x[ix] = saved - h
        minus = f_of_x()
    finally:
        x[ix] = saved
    return plus, minus


def eval_numerical_gradient(f, x, verbose=True, h=1e-5):
    """Numerically estimate the gradient of a scalar function at ``x``.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``.
    x : ndarray of float, any shape
        Point to differentiate at; perturbed in place and restored exactly after each probe.
    verbose : bool
        Print each index and its estimate as it is computed.
    h : float
        Finite-difference step.

    Returns
    -------
    grad : ndarray of float64, same shape as x
    """
    _check_probe_target(x)
    grad = np.zeros(x.shape, dtype=np.float64)
    for ix in np.ndindex(x.shape):
        plus, minus = _central_difference(lambda: f(x), x, ix, h)
        grad[ix] = (float(plus) - float(minus)) / (2 * h)
        if verbose:
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Numerically estimate ``d(sum(f(x) * df)) / dx`` for an array-valued ``f``.

    Parameters
    ----------
    f : callable
        ``f(x) -> ndarray``.
    x : ndarray of float, any shape
        Perturbed in place and restored exactly after each probe.
    df : ndarray, shape of f(x)
        Upstream gradient.
    h : float

    Returns
    -------
    grad : ndarray of float64, same shape as x
    """
    _check_probe_target(x)
    df = np.asarray(df, dtype=np.float64)
    grad = np.zeros(x.shape, dtype=np.float64)
    for ix in np.ndindex(x.shape):
        plus, minus = _central_difference(lambda: np.array(f(x), dtype=np.float64, copy=True), x, ix, h)
        grad[ix] = np.sum((plus - minus) * df) / (2 * h)
    return grad


def eval_numerical_gradient_blobs(f, inputs, output, h=1e-5):
    """Numerically estimate the gradients of a function that works on blobs.

    The CS231n blob convention: a blob is any object with ``.vals`` (its values) and ``.diffs``
    (its gradient) arrays. ``f`` is called as ``f(*inputs, output)``; it reads the inputs'
    ``vals`` and writes its result into ``output.vals``. The upstream gradient is
    ``output.diffs``.

    Parameters
    ----------
    f : callable
        ``f(in_1, ..., in_k, output)``, returning nothing.
    inputs : tuple of blobs
        Their ``vals`` are perturbed in place and restored exactly after each probe.
    output : blob
    h : float

    Returns
    -------
    list of ndarray
        One gradient per input blob, shaped like its ``vals``.
    """
    inputs = tuple(inputs)
    grads = []
    for blob in inputs:
        _check_probe_target(blob.vals, "blob.vals")
        grad = np.zeros(blob.vals.shape, dtype=np.float64)
        for ix in np.ndindex(blob.vals.shape):

            def run():
                f(*inputs, output)
                return np.array(output.vals, dtype=np.float64, copy=True)

            plus, minus = _central_difference(run, blob.vals, ix, h)
            grad[ix] = np.sum((plus - minus) * output.diffs) / (2 * h)
        grads.append(grad)
    return grads


def eval_numerical_gradient_net(net, inputs, output, h=1e-5):
    """Numeric gradients of a blob network: :func:`eval_numerical_gradient_blobs` with ``f`` =
    ``net.forward()``, the network reading its input blobs and writing ``output`` itself.

    Parameters
    ----------
    net : object
        Has ``forward()`` (no arguments) that recomputes ``output.vals`` from the inputs' vals.
    inputs : tuple of blobs
    output : blob
    h : float

    Returns
    -------
    list of ndarray
        One gradient per input blob.
    """
    return eval_numerical_gradient_blobs(lambda *blobs: net.forward(), inputs, output, h=h)


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=None):
    """Compare an analytic gradient with central differences at randomly chosen elements.

    Prints one line per probe with the numeric value, the analytic value and their relative
    error, and returns the relative errors.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``.
    x : ndarray of float
        Perturbed in place and restored exactly after each probe.
    analytic_grad : ndarray, same shape as x
    num_checks : int
    h : float
    seed : int or None
        An addition: a private generator for choosing the probed elements. None (the default)
        draws them from numpy's global generator, so ``np.random.seed(k)`` repeats a check.

    Returns
    -------
    list of float
        The relative error at each probed element.
    """
    _check_probe_target(x)
    analytic_grad = np.asarray(analytic_grad)
    if analytic_grad.shape != x.shape:
        raise ValueError(f"analytic_grad has shape {analytic_grad.shape}, but x has shape {x.shape}")
    rng = np.random if seed is None else np.random.RandomState(seed)
    errors = []
    for _ in range(num_checks):
        ix = tuple(int(rng.randint(n)) for n in x.shape)
        plus, minus = _central_difference(lambda: f(x), x, ix, h)
        numeric = (float(plus) - float(minus)) / (2 * h)
        analytic = float(analytic_grad[ix])
        err = abs(numeric - analytic) / max(1e-8, abs(numeric) + abs(analytic))
        errors.append(err)
        print(f"numerical: {numeric:f} analytic: {analytic:f}, relative error: {err:e}")
    return errors


# The layer checker (check_layer, LayerCheck) and the command line live in the private package
# _gradcheck; they are re-exported here so that `from gradient_check import check_layer` works.
from _gradcheck import InputResult, LayerCheck, check_layer  # noqa: E402
from _gradcheck.grader.cli import ModuleReport, check_module, main  # noqa: E402

__all__ += ["check_layer", "LayerCheck", "InputResult", "main", "check_module", "ModuleReport"]

if __name__ == "__main__":
    import sys

    sys.exit(main())
