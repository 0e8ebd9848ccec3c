"""First-order update rules with the CS231n calling convention.

Every rule is called as ``next_w, config = rule(w, dw, config)``:

- ``w`` and ``dw`` are never modified; ``next_w`` is a new array of ``w``'s shape and dtype.
- ``config`` holds the hyper-parameters (``learning_rate``, ...) and the rule's running state
  (``velocity``, ``cache``, ``m``/``v``/``t``). ``None`` means "all defaults".
- The dict passed in is the dict returned: missing hyper-parameters are filled in with
  :meth:`dict.setdefault` and the state entries are *rebound* to new arrays after each step.
  Coursework relies on this (it reads ``config['velocity']`` after ``next_w, _ = rule(...)``),
  so it is kept; what is *not* done is updating a state array in place, so an array that the
  caller put in ``config`` (an initial velocity, say) keeps its values.
  To keep a caller's dict pristine, pass ``dict(config)``.

Notation
--------
w : parameter array, any shape; ``dw`` has the same shape
lr : ``config['learning_rate']``
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["sgd", "sgd_momentum", "rmsprop", "adam", "get_update_rule", "UPDATE_RULES"]


def _check_step_inputs(w, dw, config, rule: str) -> dict:
    """Validate ``w``/``dw``/``config`` at the door and return the dict to work in."""
    if not isinstance(w, np.ndarray) or w.dtype.kind != "f":
        raise TypeError(f"{rule}: w must be a floating numpy ndarray, got {type(w).__name__}"
                        + (f" of dtype {w.dtype}" if isinstance(w, np.ndarray) else ""))
    if not isinstance(dw, np.ndarray) or dw.dtype.kind not in "biuf":
        raise TypeError(f"{rule}: dw must be a real numeric numpy ndarray, got {type(dw).__name__}")
    if dw.shape != w.shape:
        raise ValueError(f"{rule}: dw has shape {dw.shape}, but w has shape {w.shape}; they must match")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise TypeError(f"{rule}: config must be a dict or None, got {type(config).__name__}")
    return config


def _check_number(config: dict, key: str, rule: str, low: float, high: float | None = None,
                  low_inclusive: bool = False) -> float:
    """Return ``config[key]`` as a float after checking it lies in ``(low, high)``."""
    value = config[key]
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{rule}: config['{key}'] must be a real number, got {value!r}")
    value = float(value)
    above = value >= low if low_inclusive else value > low
    below = high is None or value < high
    if not (above and below) or not np.isfinite(value):
        bracket = "[" if low_inclusive else "("
        upper = f"{high})" if high is not None else "inf)"
        raise ValueError(f"{rule}: config['{key}'] must lie in {bracket}{low}, {upper}, got {value!r}")
    return value


def _state(config: dict, key: str, w: np.ndarray, rule: str) -> np.ndarray:
    """Return the state array ``config[key]`` (zeros on the first step), checked against ``w``."""
    value = config.get(key)
    if value is None:
        return np.zeros_like(w)
    if not isinstance(value, np.ndarray) or value.shape != w.shape:
        raise ValueError(
            f"{rule}: config['{key}'] must be an array of w's shape {w.shape}, got "
            f"{getattr(value, 'shape', type(value).__name__)}; a config dict cannot be shared "
            "between parameters of different shapes"
        )
    return value


def sgd(w, dw, config=None):
    """Take one plain gradient-descent step, ``next_w = w - lr * dw``.

    Parameters
    ----------
    w : ndarray of float, any shape
        Current parameter value (not modified).
    dw : ndarray, shape of w
        Gradient of the loss with respect to ``w`` (not modified).
    config : dict or None
        ``'learning_rate'`` (default 1e-2).

    Returns
    -------
    next_w : ndarray, shape and dtype of w
    config : dict
        The dict passed in (or a new one), with defaults filled in.
    """
    config = _check_step_inputs(w, dw, config, "sgd")
    config.setdefault("learning_rate", 1e-2)
    lr = _check_number(config, "learning_rate", "sgd", 0.0, low_inclusive=True)
    next_w = (w - lr * dw).astype(w.dtype, copy=False)
    return next_w, config


def sgd_momentum(w, dw, config=None):
    """Take one step of gradient descent with (heavy-ball) momentum.

    ``v = momentum * v - lr * dw``, then ``next_w = w + v``.

    Parameters
    ----------
    w : ndarray of float, any shape
    dw : ndarray, shape of w
    config : dict or None
        ``'learning_rate'`` (default 1e-2), ``'momentum'`` in [0, 1) (default 0.9),
        ``'velocity'`` (array of w's shape; zeros when absent or None).

    Returns
    -------
    next_w : ndarray, shape and dtype of w
    config : dict
        With ``'velocity'`` rebound to the new velocity (a new array).
    """
    config = _check_step_inputs(w, dw, config, "sgd_momentum")
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    lr = _check_number(config, "learning_rate", "sgd_momentum", 0.0, low_inclusive=True)
    mu = _check_number(config, "momentum", "sgd_momentum", 0.0, 1.0, low_inclusive=True)
    v = _state(config, "velocity", w, "sgd_momentum")
    v = (mu * v - lr * dw).astype(w.dtype, copy=False)
    config["velocity"] = v
    return (w + v).astype(w.dtype, copy=False), config


def rmsprop(w, dw, config=None):
    """Take one RMSProp step: divide the gradient by a running RMS of its past values.

    ``cache = decay_rate * cache + (1 - decay_rate) * dw**2``, then
    ``next_w = w - lr * dw / (sqrt(cache) + epsilon)``.

    Parameters
    ----------
    w : ndarray of float, any shape
    dw : ndarray, shape of w
    config : dict or None
        ``'learning_rate'`` (default 1e-2), ``'decay_rate'`` in [0, 1) (default 0.99),
        ``'epsilon'`` > 0 (default 1e-8), ``'cache'`` (array of w's shape; zeros when absent).

    Returns
    -------
    next_w : ndarray, shape and dtype of w
    config : dict
        With ``'cache'`` rebound to the new running mean of squared gradients.
    """
    config = _check_step_inputs(w, dw, config, "rmsprop")
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    lr = _check_number(config, "learning_rate", "rmsprop", 0.0, low_inclusive=True)
    rho = _check_number(config, "decay_rate", "rmsprop", 0.0, 1.0, low_inclusive=True)
    eps = _check_number(config, "epsilon", "rmsprop", 0.0)
    cache = _state(config, "cache", w, "rmsprop")
    cache = (rho * cache + (1.0 - rho) * dw * dw).astype(w.dtype, copy=False)
    config["cache"] = cache
    next_w = (w - lr * dw / (np.sqrt(cache) + eps)).astype(w.dtype, copy=False)
    return next_w, config


def adam(w, dw, config=None):
    """Take one Adam step (Kingma & Ba, 2015) with bias-corrected moment estimates.

    ``t += 1``; ``m = beta1*m + (1-beta1)*dw``; ``v = beta2*v + (1-beta2)*dw**2``;
    ``next_w = w - lr * (m / (1-beta1**t)) / (sqrt(v / (1-beta2**t)) + epsilon)``.

    Parameters
    ----------
    w : ndarray of float, any shape
    dw : ndarray, shape of w
    config : dict or None
        ``'learning_rate'`` (default 1e-3), ``'beta1'`` (0.9), ``'beta2'`` (0.999), both in
        [0, 1), ``'epsilon'`` (1e-8), and the state ``'m'``, ``'v'`` (arrays of w's shape,
        zeros when absent) and ``'t'`` (steps taken so far, default 0).

    Returns
    -------
    next_w : ndarray, shape and dtype of w
    config : dict
        With ``'m'``, ``'v'`` rebound to new arrays and ``'t'`` incremented.
    """
    config = _check_step_inputs(w, dw, config, "adam")
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("t", 0)
    lr = _check_number(config, "learning_rate", "adam", 0.0, low_inclusive=True)
    b1 = _check_number(config, "beta1", "adam", 0.0, 1.0, low_inclusive=True)
    b2 = _check_number(config, "beta2", "adam", 0.0, 1.0, low_inclusive=True)
    eps = _check_number(config, "epsilon", "adam", 0.0)
    t = config["t"]
    if not isinstance(t, (numbers.Integral, np.integer)) or isinstance(t, bool) or t < 0:
        raise ValueError(f"adam: config['t'] must be a non-negative int (steps taken), got {t!r}")
    t = int(t) + 1
    m = (b1 * _state(config, "m", w, "adam") + (1.0 - b1) * dw).astype(w.dtype, copy=False)
    v = (b2 * _state(config, "v", w, "adam") + (1.0 - b2) * dw * dw).astype(w.dtype, copy=False)
    # Early on m and v are biased towards their zero start; dividing by 1 - beta**t undoes it.
    m_hat = m / (1.0 - b1**t)
    v_hat = v / (1.0 - b2**t)
    next_w = (w - lr * m_hat / (np.sqrt(v_hat) + eps)).astype(w.dtype, copy=False)
    config["m"], config["v"], config["t"] = m, v, t
    return next_w, config


UPDATE_RULES = {"sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adam": adam}


def get_update_rule(rule):
    """Resolve an update rule given by name (``'adam'``) or as a callable.

    Parameters
    ----------
    rule : str or callable
        A name in :data:`UPDATE_RULES`, or any ``rule(w, dw, config) -> (next_w, config)``.

    Returns
    -------
    callable
    """
    if callable(rule):
        return rule
    if isinstance(rule, str):
        if rule not in UPDATE_RULES:
            raise ValueError(f"unknown update rule {rule!r}; expected one of {sorted(UPDATE_RULES)} or a callable")
        return UPDATE_RULES[rule]
    raise TypeError(f"update rule must be a name (str) or a callable, got {type(rule).__name__}")
