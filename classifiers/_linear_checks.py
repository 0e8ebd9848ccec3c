"""Argument checks shared by the linear losses of assignment 1 (softmax and multiclass SVM)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from _rules.geometry import float_dtype, refuse_subclass, scalar_value

__all__ = ["check_linear_loss_args"]


def check_linear_loss_args(W, X, y, reg, name: str):
    """Validate ``f(W, X, y, reg)`` arguments; return ``(W, X, y, reg, dtype)`` ready to compute.

    Parameters
    ----------
    W : ndarray, shape (D, C)
    X : ndarray, shape (N, D)
    y : ndarray of int, shape (N,), values in [0, C)
    reg : float >= 0
    name : str
        The calling function, for the messages.

    Returns
    -------
    W, X : ndarrays in ``dtype`` (not copied when already in it)
    y : ndarray of intp
    reg : float
    dtype : the floating dtype the loss is computed in (the layers' rule: promotion of W and X,
        float32 stays float32)
    """
    for arg, value, ndim, doc in (("W", W, 2, "(D, C)"), ("X", X, 2, "(N, D)")):
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
            raise TypeError(f"{name}: {arg} must be a real numeric ndarray of shape {doc}, got {type(value).__name__}")
        refuse_subclass(value, f"{name}: {arg}")
        if value.ndim != ndim:
            raise ValueError(f"{name}: {arg} must be 2-D {doc}, got shape {value.shape}")
    D, C = W.shape
    if X.shape[1] != D:
        raise ValueError(f"{name}: X has {X.shape[1]} features per row but W has {D} rows (X (N, D) @ W (D, C))")
    if X.shape[0] == 0:
        raise ValueError(f"{name}: X holds no examples (N = 0); the mean loss is undefined")
    if not isinstance(y, np.ndarray):
        raise TypeError(f"{name}: y must be an ndarray of integer labels, got {type(y).__name__}")
    refuse_subclass(y, f"{name}: y")
    if y.shape != (X.shape[0],):
        raise ValueError(f"{name}: y must have shape ({X.shape[0]},), one label per row of X, got {y.shape}")
    if y.dtype.kind not in "iu":
        raise TypeError(f"{name}: y must hold integer class labels, got dtype {y.dtype}")
    if y.min() < 0 or y.max() >= C:
        bad = y[(y < 0) | (y >= C)][0]
        raise ValueError(f"{name}: label {bad} is out of range for {C} classes (0..{C - 1})")
    reg = _nonnegative_real(reg, f"{name}: reg")
    dtype = float_dtype(W, X)  # float32 stays float32; extended precision and complex are refused
    return W.astype(dtype, copy=False), X.astype(dtype, copy=False), y.astype(np.intp), reg, dtype


def _nonnegative_real(value, what):
    """``value`` (a Python or numpy real, or a 0-d array of one) as a finite float >= 0."""
    value = scalar_value(value)
    number = None
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        try:
            number = float(value)
        except OverflowError:  # an int too large for a float
            number = None
    if number is None or not math.isfinite(number) or number < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {value!r}")
    return number
