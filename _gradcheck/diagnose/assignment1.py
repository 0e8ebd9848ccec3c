"""Diagnoses with an exact structure that the general patterns miss (assignment 1 and the norms).

- A linear classifier's loss (``svm_loss_*``, ``softmax_loss_*``, arguments ``W, X, y, reg``): the
  student's ``dW`` minus the reference's is exactly ``c * reg * W`` (a regularization convention or
  factor: the course's linear classifiers add ``reg * sum(W**2)``, gradient ``2 * reg * W``), or the
  data term is N times the reference's (summed over the examples, not averaged).
- Group norm's forward: the channels of a group taken as every G-th channel (``c % G``) instead of
  consecutive ones (``c // (C / G)``).
- Batchnorm's and layernorm's ``dx``: which of its terms is missing or counted the wrong number
  of times, or its sums taken over the other axis (:func:`norm_backward_dx`).

Each explaining function returns a sentence, or '' when its structure is not there;
:func:`reg_coefficient` is the fit the linear classifiers and the models' graders share.
"""

from __future__ import annotations

import numpy as np

from _rules.tolerances import CHECKER

from _gradcheck.core.measure import close

__all__ = ["linear_loss_gradient", "groupnorm_forward", "norm_backward_dx", "reg_coefficient"]


def reg_coefficient(d, W, reg) -> float | None:
    """``c`` when the gradient difference ``d`` is exactly ``c * reg * W`` with ``c`` not ~0, else None.

    ``c`` is the least-squares fit of ``d`` on ``reg * W``; only an exact fit says the difference is a
    regularization term (a convention or a factor), so anything else is left to the other diagnoses.
    """
    if not reg or not np.any(W):  # no regularization to blame
        return None
    c = float(np.sum(d * W) / np.sum(W * W)) / reg
    if abs(c) > CHECKER.coefficient_zero and close(d, c * reg * W):
        return c
    return None


def linear_loss_gradient(family: str, name: str, analytic, args, correct) -> str:
    """Explain a wrong ``dW`` of a linear classifier's loss, or ''."""
    if name != "W" or correct is None or analytic is None or len(args) != 4 or family not in ("svm_loss", "softmax_loss"):
        return ""
    try:
        W = np.asarray(args[0], np.float64)
        X, reg = np.asarray(args[1]), float(args[3])
        a, c = np.asarray(analytic, np.float64), np.asarray(correct, np.float64)
    except (TypeError, ValueError):
        return ""
    if a.shape != W.shape or c.shape != W.shape or W.ndim != 2:
        return ""
    k = reg_coefficient(a - c, W, reg)
    if k is not None:
        if abs(k + 2) < CHECKER.coefficient:
            return "dW lacks the regularization gradient 2 * reg * W (the loss adds reg * sum(W**2))"
        if abs(k + 1) < CHECKER.coefficient:
            return ("dW has reg * W where the loss's reg * sum(W**2) gives 2 * reg * W (reg * W goes with "
                    "0.5 * reg * sum(W**2); the course's linear classifiers use reg * sum(W**2))")
        return (f"dW - the reference's = {k:.3g} * reg * W: the regularization gradient has the wrong factor "
                f"(2 * reg * W for the loss's reg * sum(W**2))")
    n = X.shape[0] if X.ndim else 0
    data = c - 2 * reg * W
    if n > 1 and np.any(data) and close(a - 2 * reg * W, n * data):
        return f"the data part of dW is summed over the N = {n} examples, not averaged (divide it by N)"
    if n > 1 and np.any(data) and close(a, (c - 2 * reg * W + 2 * reg * W / n)):
        return f"the regularization gradient is divided by N = {n} along with the data part"
    return ""


def groupnorm_forward(family: str, out, args) -> str:
    """Explain a wrong group-norm output, or ''."""
    if family != "spatial_groupnorm" or len(args) < 4:
        return ""
    try:
        x, gamma, beta, G = np.asarray(args[0], np.float64), args[1], args[2], int(args[3])
        eps = float((args[4] if len(args) > 4 and isinstance(args[4], dict) else {}).get("eps", 1e-5))
    except (TypeError, ValueError):
        return ""
    if x.ndim != 4 or G < 2 or x.shape[1] % G:
        return ""
    N, C, H, W = x.shape
    # every G-th channel in one group: channel c belongs to group c % G
    xi = x.reshape(N, C // G, G, H, W)
    mu = xi.mean(axis=(1, 3, 4), keepdims=True)
    var = xi.var(axis=(1, 3, 4), keepdims=True)
    xhat = ((xi - mu) / np.sqrt(var + eps)).reshape(N, C, H, W)
    mimic = np.asarray(gamma, np.float64) * xhat + np.asarray(beta, np.float64)
    if close(out, mimic):
        return ("the groups are mixed: channel c is put in group c % G (every G-th channel); the course's groups "
                "are consecutive channels, group g = channels g*C/G ... (g+1)*C/G - 1 (reshape x to "
                "(N, G, C // G, H, W))")
    return ""


# ---------------------------------------------------------------------------------------------
# Batchnorm / layernorm dx: which of the three terms is missing or wrong

_NORM_TERMS = ("the dout term", "the mean term -sum(dout)/N", "the variance term -xhat * sum(dout * xhat)/N",
               "-sum(dout * xhat)/N (dgamma without its factor xhat)")


def norm_backward_dx(family: str, name: str, analytic, args, dout, correct) -> str:
    """Explain a wrong batchnorm/layernorm ``dx`` by its terms, or ''.

    ``dx = gamma / (N std) * (N dout - sum(dout) - xhat * sum(dout * xhat))`` (sums over the normalized
    axis, N its length): the student's ``dx`` minus the reference's is fitted exactly by whole multiples
    of these terms (and of ``sum(dout * xhat)`` without ``xhat``), which names what was dropped or mixed.
    """
    if family not in ("batchnorm", "layernorm") or name != "x" or correct is None or len(args) < 4:
        return ""
    try:
        x = np.asarray(args[0], np.float64)
        gamma = np.asarray(args[1], np.float64)
        eps = float((args[3] if isinstance(args[3], dict) else {}).get("eps", 1e-5))
        a, c = np.asarray(analytic, np.float64), np.asarray(correct, np.float64)
        g = np.broadcast_to(np.asarray(dout, np.float64), x.shape)
    except (TypeError, ValueError):
        return ""
    if x.ndim != 2 or a.shape != x.shape or c.shape != x.shape:
        return ""
    axis = 0 if family == "batchnorm" else 1
    n = x.shape[axis]
    std = np.sqrt(x.var(axis=axis, keepdims=True) + eps)
    xhat = (x - x.mean(axis=axis, keepdims=True)) / std
    gd = g * gamma  # dxhat
    scale = 1.0 / (n * std)
    terms = [scale * n * gd,
             -scale * np.broadcast_to(gd.sum(axis=axis, keepdims=True), x.shape),
             -scale * xhat * (gd * xhat).sum(axis=axis, keepdims=True),
             -scale * np.broadcast_to((gd * xhat).sum(axis=axis, keepdims=True), x.shape)]
    other = 1 - axis  # the right statistics, the sums over the wrong axis (a norm copied from the other)
    wrong = (gd - gd.mean(axis=other, keepdims=True) - xhat * (gd * xhat).mean(axis=other, keepdims=True)) / std
    if close(a, wrong):
        return (f"the sums in dx run over axis {other} ({'the batch' if other == 0 else 'the features'}); "
                f"{'layer norm' if axis == 1 else 'batchnorm'} normalizes over axis {axis} "
                f"({'each example' if axis == 1 else 'the batch'}), so its dx sums over that axis")
    d = (a - c).reshape(-1)
    basis = np.stack([t.reshape(-1) for t in terms], axis=1)
    coef, *_ = np.linalg.lstsq(basis, d, rcond=None)
    k = np.round(coef * 2) / 2
    if not np.any(k) or not close(basis @ k, d):
        return ""
    said = []
    for i, ki in enumerate(k):
        if ki == -1 and i in (1, 2):
            said.append(f"{_NORM_TERMS[i]} is missing")
        elif ki == 1 and i == 3 and k[2] == -1:
            said[-1:] = ["the variance term uses sum(dout * xhat) without the factor xhat (dgamma where "
                         "xhat * dgamma is due)"]
        elif ki:
            said.append(f"{_NORM_TERMS[i]} is counted {1 + ki if i < 3 else ki:g} times")
    where = "over the batch (axis 0)" if axis == 0 else "over each example's features (axis 1)"
    return f"dx = gamma / (N std) * (N dout - sum(dout) - xhat * sum(dout * xhat)), sums {where}: " + \
        "; ".join(said)
