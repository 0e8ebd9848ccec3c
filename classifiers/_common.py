"""Pieces shared by the classifiers: argument checks and the L2 weight penalty."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_dtype", "check_nonnegative", "check_positive_int", "l2_penalty", "as_input"]


def check_dtype(dtype) -> np.dtype:
    """Return ``dtype`` as a numpy dtype after checking it is float32 or float64."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be np.float32 or np.float64, got {dtype!r}") from exc
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be np.float32 or np.float64, got {dt}")
    return dt


def check_nonnegative(value, name: str) -> float:
    """Return ``value`` as a float after checking it is a finite real number >= 0."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_positive_int(value, name: str) -> int:
    """Return ``value`` as an int after checking it is an integer >= 1."""
    if not isinstance(value, (numbers.Integral, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def as_input(X, dtype: np.dtype, example_shape: tuple, model: str) -> np.ndarray:
    """Check a batch of examples against the model's input shape and cast it to the model dtype.

    ``example_shape`` is the shape of one example; only the number of elements is checked when
    it has one entry (a fully connected net flattens whatever it is given).
    """
    if not isinstance(X, np.ndarray) or X.dtype.kind not in "biuf":
        raise TypeError(f"{model}: X must be a real numeric ndarray, got {type(X).__name__}")
    if len(example_shape) == 1:
        size = int(np.prod(X.shape[1:])) if X.ndim >= 2 else -1
        if size != example_shape[0]:
            raise ValueError(
                f"{model}: each example must have {example_shape[0]} values (input_dim), got X of shape {X.shape}"
            )
    elif X.shape[1:] != tuple(example_shape):
        raise ValueError(f"{model}: X must have shape (N, {', '.join(map(str, example_shape))}), got {X.shape}")
    return X.astype(dtype, copy=False)


def l2_penalty(params: dict, names, reg: float):
    """Return ``0.5 * reg * sum ||W||^2`` over ``names`` and its gradient, ``reg * W``, per name.

    The factor 0.5 makes the gradient exactly ``reg * W`` (the CS231n convention), so a given
    ``reg`` means the same thing here as in the coursework.
    """
    penalty = 0.0
    grads = {}
    for name in names:
        w = params[name]
        penalty += 0.5 * reg * float(np.sum(w.astype(np.float64) ** 2))
        grads[name] = reg * w
    return penalty, grads
