"""Name a student's bug by reproducing it: the classic mistakes of each layer family, written out.

``diagnose`` reads patterns off the analytic/numeric pair and works for any layer. Some classic
mistakes leave no such pattern (a kernel flipped inside a scatter loop, ``dx[:, y] -= 1``), but they
are easy to *compute*: each function below is the layer's backward (or forward) with one
well-known mistake, in a few readable loops. When a student's failing gradient equals one of them
on the same inputs and ``dout``, that mistake is named. A hypothesis only counts if it also differs
from the correct gradient on this layout (it must explain the failure, not just the data).

Only the configurations CS231n asks for are modelled (int stride and pad, no dilation); anything
else returns no hypothesis.
"""

from __future__ import annotations

import numbers

import numpy as np

from _rules.tolerances import CHECKER

from _gradcheck.core.findings import Finding
from _gradcheck.diagnose import known_bugs_rnn

__all__ = ["backward_bug", "forward_bug"]

_REL = CHECKER.known_bug  # how close a reproduced mistake must be to the student's array


def _matches(got, want) -> bool:
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return False
    scale = max(float(np.linalg.norm(want)), float(np.linalg.norm(got)), 1e-300)
    return float(np.linalg.norm(got - want)) <= _REL * scale


def _int(v):
    return int(v) if isinstance(v, numbers.Integral) and not isinstance(v, bool) else None


# --- convolution ---------------------------------------------------------------------------------

def _conv_grads(x, w, dout, stride, pad, *, flip=False, step=None, dw_unpadded=False, assign=None):
    """dx, dw of a cross-correlation, with one optional mistake.

    flip: dx scatters the kernel rotated by 180 degrees; step: window origins advance by ``step``
    instead of the stride; dw_unpadded: dw reads its windows from x instead of the padded x (the
    windows at the far edges come out short and land in the top-left corner of dw);
    assign: 'window' writes each window's dx with '=' (the last window wins),
    'filter' additionally keeps only the last filter's term.
    """
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    wk = w[:, :, ::-1, ::-1] if flip else w
    s = stride if step is None else step
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i * s, i * s + HH), slice(j * s, j * s + WW)
            d = dout[:, :, i, j]                                     # (N, F)
            if assign == "filter":
                contrib = d[:, -1, None, None, None] * wk[-1]
            else:
                contrib = np.tensordot(d, wk, axes=([1], [0]))       # (N, C, HH, WW)
            if dxp[:, :, rows, cols].shape != contrib.shape:
                return None
            if assign:
                dxp[:, :, rows, cols] = contrib
            else:
                dxp[:, :, rows, cols] += contrib
            region = (x if dw_unpadded else xp)[:, :, rows, cols]
            dw[:, :, :region.shape[2], :region.shape[3]] += np.tensordot(d, region, axes=([0], [0]))
    return {"x": dxp[:, :, pad:pad + H, pad:pad + W], "w": dw}


def _conv_hypotheses(args, dout):
    x, w, _, cp = args[:4]
    stride, pad = _int(cp.get("stride")), _int(cp.get("pad"))
    if stride is None or pad is None or cp.get("dilation", 1) != 1:
        return []
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    hyps = [
        ("x", "dx is computed with the kernel rotated 180 degrees (w[:, :, ::-1, ::-1]): the forward is a "
              "cross-correlation, so its backward scatters the kernel as it is", dict(flip=True)),
        ("x", "dx keeps only the last window's contribution where windows overlap: '=' used where '+=' is "
              "needed", dict(assign="window")),
        ("x", "dx keeps only the last window's (and last filter's) contribution: '=' used where '+=' is "
              "needed", dict(assign="filter")),
        ("w", "dw is accumulated from windows of the unpadded x (x instead of the padded x): right only "
              "for pad 0", dict(dw_unpadded=True)),
    ]
    if stride != 1:
        for name in ("x", "w"):
            hyps.append((name, f"d{name} places window (i, j) at (i, j) instead of (i * stride, j * stride): "
                               f"the stride is ignored in the backward", dict(step=1)))
    out = []
    for name, msg, kw in hyps:
        g = _conv_grads(x, w, dout, stride, pad, **kw)
        if g is not None:
            out.append((name, msg, g[name]))
    return out


# --- pooling -------------------------------------------------------------------------------------

def _pool_dx(x, dout, ph, pw, step, kind, assign=None):
    """dx of a max or average pool with window origins ``(i * step[0], j * step[1])``."""
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i * step[0], i * step[0] + ph), slice(j * step[1], j * step[1] + pw)
            win = x[:, :, rows, cols]
            if win.size == 0:
                return None
            d = dout[:, :, i, j][:, :, None, None]
            if kind == "max":
                contrib = (win == win.max(axis=(2, 3), keepdims=True)) * d
            else:
                contrib = np.broadcast_to(d / (ph * pw), win.shape)
            if assign == "window":
                dx[:, :, rows, cols] = contrib
            elif assign == "element":  # only the routed elements are written, with '='
                dx[:, :, rows, cols] = np.where(contrib != 0, contrib, dx[:, :, rows, cols])
            else:
                dx[:, :, rows, cols] += contrib
    return dx


def _pool_hypotheses(args, dout, kind):
    x, pp = np.asarray(args[0], np.float64), args[1]
    ph, pw, s = _int(pp.get("pool_height")), _int(pp.get("pool_width")), _int(pp.get("stride"))
    if None in (ph, pw, s):
        return []
    hyps = [
        ("dx keeps only the last window's contribution where windows overlap: '=' used where '+=' is needed "
         "(pooling has no padding: the overlap, not the border, is wrong)", dict(step=(s, s), assign="window")),
        ("dx keeps only the last window's contribution where windows overlap: '=' used where '+=' is needed",
         dict(step=(s, s), assign="element")),
        ("dx moves from window to window by the pool size instead of the stride (origin i * pool_height, "
         "j * pool_width)", dict(step=(ph, pw))),
        ("dx places window (i, j) at (i, j) instead of (i * stride, j * stride): the stride is ignored in "
         "the backward", dict(step=(1, 1))),
    ]
    out = []
    for msg, kw in hyps:
        g = _pool_dx(x, dout, ph, pw, kind=kind, **kw)
        if g is not None:
            out.append(("x", msg, g))
    return out


# --- losses --------------------------------------------------------------------------------------

def _softmax_hypotheses(args, dout):
    x, y = np.asarray(args[0], np.float64), np.asarray(args[1])
    N = x.shape[0]
    p = np.exp(x - x.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    every_row = p.copy()
    every_row[:, y] -= 1
    return [("x", Finding("dx subtracts 1 at the label column of EVERY sample in every row (dx[:, y] -= 1 instead "
                          "of dx[np.arange(N), y] -= 1): right only for N = 1, a per-sample term mixed across the "
                          "batch", "known_bug", batch_mixing=True),
             every_row * (dout / N))]


def _svm_hypotheses(args, dout):
    x, y = np.asarray(args[0], np.float64), np.asarray(args[1])
    N = x.shape[0]
    rows = np.arange(N)
    margins = x - x[rows, y][:, None] + 1.0
    margins[rows, y] = 0
    positive = (margins > 0).astype(np.float64)
    no_count = positive.copy()
    minus_one = positive.copy()
    minus_one[rows, y] = -1.0
    return [("x", "dx has no term at the correct class: it must be minus the count of classes with a positive "
                  "margin (dx[i, y[i]] = -count)", no_count * (dout / N)),
            ("x", "dx at the correct class is -1 instead of minus the count of classes with a positive margin",
             minus_one * (dout / N))]


# --- spatial batchnorm ---------------------------------------------------------------------------

def _rows(a):
    """(N, C, H, W) -> (N*H*W, C), channels last."""
    return a.transpose(0, 2, 3, 1).reshape(-1, a.shape[1])


def _bn_rows(r, gamma, beta, eps):
    return gamma * (r - r.mean(axis=0)) / np.sqrt(r.var(axis=0) + eps) + beta


def _sbn_forward_hypotheses(args):
    x, gamma, beta = (np.asarray(a, np.float64) for a in args[:3])
    bn = args[3]
    if bn.get("mode") != "train":
        return []
    eps = float(bn.get("eps", 1e-5))
    shape = x.shape
    return [
        ("the output is reshaped back to (N, C, H, W) without transposing back from (N, H, W, C): channels "
         "and pixels are scrambled", _bn_rows(_rows(x), gamma, beta, eps).reshape(shape)),
        ("x is reshaped to (N*H*W, C) without first transposing C last (x.transpose(0, 2, 3, 1)): each row "
         "mixes channels", _bn_rows(x.reshape(-1, shape[1]), gamma, beta, eps).reshape(shape)),
    ]


def _sbn_backward_hypotheses(correct_dx):
    if correct_dx is None:
        return []
    dx = np.asarray(correct_dx, np.float64)
    return [("x", "dx is reshaped back to (N, C, H, W) without transposing back from (N, H, W, C)",
             _rows(dx).reshape(dx.shape))]


# --- entry points --------------------------------------------------------------------------------

def _hypotheses(family, args, dout, name, correct):
    if family in known_bugs_rnn.FAMILIES:
        return known_bugs_rnn.backward_hypotheses(family, args, dout)
    if family == "conv":
        return _conv_hypotheses(args, dout)
    if family in ("max_pool", "avg_pool"):
        return _pool_hypotheses(args, dout, family.split("_")[0])
    if family == "softmax":
        return _softmax_hypotheses(args, dout)
    if family == "svm":
        return _svm_hypotheses(args, dout)
    if family == "spatial_batchnorm" and name == "x":
        return _sbn_backward_hypotheses(correct)
    return []


def backward_bug(family, name, analytic, args, dout, correct=None) -> str:
    """The classic mistake that reproduces ``analytic`` (the gradient for input ``name``), or ''.

    Parameters
    ----------
    family : str
        The layer family (``LayerSpec.family``).
    name : str
        The input whose gradient is wrong (``'x'``, ``'w'``...).
    analytic : ndarray
        The student's gradient for that input.
    args : list
        Every positional argument of the forward, as the check used them.
    dout : ndarray
        The upstream gradient the backward received (ones for a loss).
    correct : ndarray or None
        The toolkit's gradient for that input on the same arguments, where known: a mistake that
        gives the correct gradient on this layout does not explain the failure.
    """
    try:
        for hname, msg, predicted in _hypotheses(family, args, np.asarray(dout, np.float64), name, correct):
            if hname == name and _matches(analytic, predicted) and \
                    (correct is None or not _matches(predicted, correct)):
                return msg
    except (ValueError, IndexError, TypeError, FloatingPointError):
        return ""  # an odd layout the hypotheses do not model: no diagnosis rather than a crash
    return ""


def forward_bug(family, out, args) -> str:
    """The classic forward mistake that reproduces the student's output ``out``, or ''."""
    try:
        found = _sbn_forward_hypotheses(args) if family == "spatial_batchnorm" else \
            known_bugs_rnn.forward_hypotheses(family, args)
        for msg, predicted in found:
            if _matches(out, predicted):
                return msg
    except (ValueError, IndexError, TypeError):
        return ""
    return ""
