"""Pieces shared by the classifiers: argument checks, the L2 weight penalty, the random source
of initializations, and saving / loading parameters the CS231n way."""

from __future__ import annotations

import math
import numbers
import os

import numpy as np

import fast_layers
import layer_utils
import layers
from _rules.geometry import refuse_subclass
from data_utils import load_npy_dict

__all__ = ["check_dtype", "check_nonnegative", "check_positive_int", "l2_penalty", "as_input", "random_source",
           "check_seed", "ParamsFile", "course_exports"]


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
    refuse_subclass(X, f"{model}: X")
    if len(example_shape) == 1:
        size = math.prod(X.shape[1:]) if X.ndim >= 2 else -1
        if size != example_shape[0]:
            raise ValueError(
                f"{model}: each example must have {example_shape[0]} values (input_dim), got X of shape {X.shape}"
            )
    elif X.shape[1:] != tuple(example_shape):
        raise ValueError(f"{model}: X must have shape (N, {', '.join(map(str, example_shape))}), got {X.shape}")
    return X.astype(dtype, copy=False)


def l2_penalty(params: dict, names, reg: float, grads: dict) -> float:
    """Return ``0.5 * reg * sum ||W||^2`` over ``names``, adding its gradient ``reg * W`` into ``grads``.

    The factor 0.5 makes the gradient exactly ``reg * W`` (the CS231n convention), so a given
    ``reg`` means the same thing here as in the coursework. ``grads[name]`` must be an array the
    model owns (a backward's fresh output): the penalty's gradient is added to it in place, which
    saves two weight-sized temporaries per matrix. The sum of squares accumulates in float64
    without a float64 copy of W; ``reg = 0`` costs nothing.
    """
    if reg == 0:
        return 0.0
    penalty = 0.0
    for name in names:
        w = params[name]
        penalty += 0.5 * reg * float(np.einsum("i,i->", w.ravel(), w.ravel(), dtype=np.float64))
        grads[name] += reg * w
    return penalty


def check_seed(seed, name: str = "seed"):
    """Return ``seed`` after checking it is None or an int in [0, 2**32) (what RandomState takes)."""
    if seed is None:
        return None
    if not isinstance(seed, (numbers.Integral, np.integer)) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise ValueError(f"{name} must be None or an int in [0, 2**32), got {seed!r}")
    return int(seed)


def random_source(seed=None):
    """Return where random draws come from: numpy's global generator, or a private one.

    Without a seed this is the ``np.random`` module itself, so ``np.random.seed(k)`` before a
    run reproduces it exactly as in CS231n. With a seed it is a ``np.random.RandomState(seed)``:
    it has the same methods (``randn``, ``rand``, ``choice``), gives the numbers
    ``np.random.seed(seed)`` would give, and leaves the global state alone.
    """
    seed = check_seed(seed)
    return np.random if seed is None else np.random.RandomState(seed)


def _saved_path(fname) -> str:
    """Where ``save``/``load`` put ``fname``: as given when it names a directory, else in the
    folder ``$CNNKIT_SAVED_DIR`` (default ``./saved``, the CS231n ``saved/`` folder)."""
    fname = os.fspath(fname)
    if os.path.dirname(fname):
        return fname
    return os.path.join(os.environ.get("CNNKIT_SAVED_DIR", "saved"), fname)


class ParamsFile:
    """``save(fname)`` / ``load(fname)`` of a model's arrays, with the CS231n file format.

    The file is what ``np.save(fname, params_dict)`` writes (CS231n's autograder reads it with
    ``np.load(fname, allow_pickle=True).item()``). Loading unpickles through
    :func:`data_utils.load_pickle`'s restricted unpickler, so a crafted file cannot run code.
    Subclasses name what they save with ``_params_to_save`` / ``_restore_params``.
    """

    def _params_to_save(self) -> dict:
        return self.params

    def _restore_params(self, params: dict) -> None:
        self.params = params

    def save(self, fname):
        """Write the parameters to ``fname`` (see the class docstring for the folder)."""
        path = _saved_path(fname)
        if os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        np.save(path, self._params_to_save())
        print(fname, "saved.")

    def load(self, fname) -> bool:
        """Read parameters written by :meth:`save`; return False (and say so) if the file is absent."""
        path = _saved_path(fname)
        if not os.path.exists(path):
            print(fname, "not available.")
            return False
        self._restore_params(load_npy_dict(path))
        print(fname, "loaded.")
        return True


def course_exports() -> list:
    """The layer names CS231n's model modules re-export.

    The course's ``classifiers/fc_net.py`` and ``cnn.py`` begin with ``from ..layers import *`` and
    ``from ..layer_utils import *`` (whose own star imports bring ``fast_layers`` along), and its
    notebooks rely on it: ``from cs231n.classifiers.fc_net import *`` is followed by calls to
    ``affine_forward`` or ``dropout_forward``. Our model modules star-import the same three modules
    and add these names to their ``__all__``.
    """
    names = []
    for module in (layers, fast_layers, layer_utils):
        names += [n for n in module.__all__ if callable(getattr(module, n)) and n not in names]
    return names
