"""Explain a failing gradient in one line, from the analytic/numeric pair.

Each rule looks for one classic mistake; the first that fits wins. The rules only read the two
gradients (and, for some, the input and the probe's per-output contributions), so they apply to
any layer, not just the ones the toolkit ships.
"""

from __future__ import annotations

import numpy as np

from _rules.tolerances import CHECKER

from _gradcheck.core.findings import Finding

__all__ = ["diagnose", "ratio_phrase", "border_message"]


def _close(a, b, rel=CHECKER.pattern) -> bool:
    """True when ``a`` and ``b`` agree to ``rel`` of their norm (arrays of one shape)."""
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return scale > 0 and np.linalg.norm(a - b) <= rel * scale


def ratio_phrase(r: float, N: int | None) -> Finding:
    """Name a constant factor ``analytic = numeric x r`` (kind ``batch_factor``, ``sign`` or ``factor``)."""
    def near(target):
        return abs(r - target) <= CHECKER.pattern * abs(target)

    def said(text, kind="factor"):
        return Finding(text, kind, ratio=float(r))

    if N and N > 2 and near(1.0 / N):
        return said(f"analytic = numeric x 1/{N} (1/N, N = batch size {N}): an extra division by the batch "
                    f"size in backward (or one missing in forward)", "batch_factor")
    if N and N > 2 and near(float(N)):
        return said(f"analytic = numeric x {N} (N = batch size): a missing division by the batch size in "
                    f"backward (or an extra one in forward)", "batch_factor")
    if near(-1.0):
        return said("sign error: analytic = -numeric (a minus sign dropped or added in backward)", "sign")
    if N == 2 and near(0.5):
        return said("analytic = numeric x 1/2 (= 1/N, N = batch size 2): an extra division by the batch size, "
                    "or a factor 2 missing; re-check with another batch size to tell them apart", "batch_factor")
    if N == 2 and near(2.0):
        return said("analytic = numeric x 2 (= N, N = batch size 2): a missing division by the batch size, "
                    "or a factor 2 too many; re-check with another batch size to tell them apart", "batch_factor")
    if near(0.5):
        return said("analytic = numeric x 1/2: a factor 2 missing (e.g. the 2 in d(x^2) = 2x)")
    if near(2.0):
        return said("analytic = numeric x 2: a factor 2 too many (a term counted twice, or d(x^2) taken as 4x)")
    if near(-0.5) or near(-2.0) or (N and (near(-1.0 / N) or near(-float(N)))):
        return said(f"analytic = numeric x {r:.6g}: a sign error combined with a wrong constant factor")
    return said(f"analytic = numeric x {r:.6g}: a constant factor wrong everywhere (a scale or hyper-parameter "
                f"misapplied)")


def _border_width(bad: np.ndarray):
    """Smallest b such that every bad element lies within b of the edge of the last two axes."""
    H, W = bad.shape[-2:]
    if H < 3 or W < 3 or not bad.any():
        return None
    for b in range(1, (min(H, W) + 1) // 2):
        interior = np.zeros((H, W), dtype=bool)
        interior[b:H - b, b:W - b] = True
        if interior.any() and not (bad & interior).any():
            return b
    return None


def _shift(a, n, reach=2):
    """(dy, dx) such that a[..., y, x] == n[..., y - dy, x - dx] wherever both exist, or None."""
    H, W = a.shape[-2:]
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            if (dy, dx) == (0, 0) or H - abs(dy) < 2 or W - abs(dx) < 2:
                continue
            ys_a = slice(max(dy, 0), H + min(dy, 0))
            xs_a = slice(max(dx, 0), W + min(dx, 0))
            ys_n = slice(max(-dy, 0), H + min(-dy, 0))
            xs_n = slice(max(-dx, 0), W + min(-dx, 0))
            a_in, n_in = a[..., ys_a, xs_a], n[..., ys_n, xs_n]
            if not _close(a_in, n[..., ys_a, xs_a]) and _close(a_in, n_in):
                return dy, dx
    return None


def _normalized(x, axes):
    xc = x - x.mean(axis=axes, keepdims=True)
    sd = np.sqrt((xc ** 2).mean(axis=axes, keepdims=True))
    return xc / np.where(sd > 0, sd, 1.0)


def border_message(b: int, pads: bool | None = None) -> Finding:
    """Errors within ``b`` of the edge: a padding bug only where the layer pads (``pads``)."""
    where = f"errors only on the border (within {b} of the edge of the last two axes)"
    if pads is False:
        return Finding(f"{where}; this layout has no padding, so the windows at the edge are mishandled: a loop "
                       f"bound off by one (the last window row or column skipped) or a window cut short",
                       "border", width=b, pads=False)
    return Finding(f"{where}: padding handling, e.g. windows that touch the padding skipped or the padded "
                   f"gradient cropped wrong", "border", width=b, pads=pads)


def diagnose(a, n, bad, *, name="x", x=None, batch=None, probe=None, rtol=1e-6, floor=None, pads=None) -> str:
    """Return a one-line explanation of why ``a`` (analytic) differs from ``n`` (numeric).

    Parameters
    ----------
    a, n : ndarray of float64, one shape
        Analytic and numeric gradients (kink-excluded elements already set equal in both).
    bad : ndarray of bool, shape of a
        Elements that fail the tolerance.
    name : str
        The input's name, used in the text.
    x : ndarray or None
        The input itself (for the batch-statistics rules).
    batch : int or None
        Batch size N (first axis of the first input).
    probe : FullProbe or None
        Per-output contributions, for the overwritten-accumulation rule.
    pads : bool or None
        Whether the layer zero-pads its input here (None: unknown). Errors on the border are
        called a padding bug only when it may pad.
    """
    a = np.asarray(a, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    nn = np.linalg.norm(n)
    na = np.linalg.norm(a)
    if nn == 0 and na == 0:
        return "both gradients are zero"
    if na == 0 or np.max(np.abs(a)) <= CHECKER.all_zero * np.max(np.abs(n)):
        return f"analytic d{name} is all zeros but the numeric one is not: backward never writes it (or returns a fresh zeros array)"
    if nn == 0:
        return f"numeric d{name} is zero ({name} does not affect the output) but backward returns non-zero values"
    # A constant factor: least-squares ratio, accepted only if it explains the whole array.
    r = float(np.dot(a.ravel(), n.ravel()) / nn ** 2)
    if abs(r - 1) > CHECKER.pattern and _close(a, r * n):
        return ratio_phrase(r, batch)
    if a.ndim >= 2 and a.shape[-1] * a.shape[-2] > 1:
        flipped = n[..., ::-1, ::-1]
        if not _close(n, flipped) and _close(a, flipped):
            return (f"d{name} is the numeric gradient rotated 180 degrees in its last two axes: a kernel "
                    f"flipped (convolution where the forward is a cross-correlation, or the reverse)")
        if a.shape[-1] == a.shape[-2] and not _close(n, np.swapaxes(n, -1, -2)) and _close(a, np.swapaxes(n, -1, -2)):
            return f"d{name} is the numeric gradient transposed (last two axes swapped): a .T or axis order mixed up"
    if a.ndim >= 3:
        shift = _shift(a, n)
        if shift is not None:
            dy, dx = shift
            return (f"d{name} is the numeric gradient shifted by ({dy}, {dx}) in its last two axes: an "
                    f"off-by-one in a window offset or in cropping the padded gradient (e.g. dxp[:H, :W] "
                    f"instead of dxp[pad:pad+H, pad:pad+W])")
        b = _border_width(bad.reshape((-1,) + bad.shape[-2:]).any(axis=0))
        if b is not None:
            return border_message(b, pads)
    if probe is not None:
        msg = _overwritten(a, bad, probe, name, rtol, floor)
        if msg:
            return msg
    d = a - n
    if x is not None and d.ndim >= 2 and np.linalg.norm(d) > 0:
        axes = (0,) if d.ndim == 2 else (0,) + tuple(range(2, d.ndim))
        if _close(d, np.broadcast_to(d.mean(axis=axes, keepdims=True), d.shape), CHECKER.pattern_loose):
            return ("analytic - numeric is the same for every sample (constant over the batch axes): a "
                    "missing or extra batch-mean term, e.g. batchnorm's -mean(dxhat) term")
        xhat = _normalized(np.asarray(x, dtype=np.float64), axes)
        c = (d * xhat).sum(axis=axes, keepdims=True) / np.maximum((xhat * xhat).sum(axis=axes, keepdims=True), 1e-300)
        if _close(d, c * xhat, CHECKER.pattern_loose):
            return ("analytic - numeric is, per feature, proportional to the normalized input xhat: the "
                    "variance path is missing or wrong, e.g. batchnorm's -xhat * mean(dxhat * xhat) term")
        if _close(d, np.broadcast_to(d.mean(axis=tuple(range(1, d.ndim)), keepdims=True), d.shape), CHECKER.pattern_loose):
            return ("analytic - numeric is the same for every feature of a sample: a missing or extra "
                    "per-sample mean term, e.g. layer norm's -mean(dxhat) term")
    msg = _misrouted(a, n)
    if msg:
        return msg.replace("GRAD", f"d{name}")
    frac = int(bad.sum())
    return f"no simple pattern: {frac} of {bad.size} elements of d{name} are wrong"


def _overwritten(a, bad, probe, name, rtol, floor):
    """Errors where an element feeds several outputs and the analytic keeps only one contribution."""
    flat_bad = np.flatnonzero(bad.ravel())
    fan = probe.fanout.ravel()
    if flat_bad.size == 0 or np.any(fan[flat_bad] < 2):
        return None
    single_ok = np.flatnonzero((fan == 1) & ~bad.ravel())
    av = a.ravel()
    matched = 0
    known = 0
    for i in flat_bad:
        terms = probe.terms.get(int(i))
        if terms is None:
            continue
        known += 1
        tol = CHECKER.same_values * (np.max(np.abs(terms)) + abs(av[i])) + (rtol * floor if floor is not None else 0.0)
        if np.any(np.abs(terms - av[i]) <= tol):
            matched += 1
    if known and matched >= CHECKER.overwritten_share * known:
        extra = f"; the {single_ok.size} elements feeding a single output are right" if single_ok.size else ""
        return (f"d{name} keeps only one of the contributions an element receives (it feeds up to "
                f"{int(fan.max())} outputs){extra}: contributions overwritten with '=' where '+=' is needed")
    return None


def _misrouted(a, n):
    """The gradient lands on elements the output does not depend on (a wrong mask or argmax)."""
    tiny_n = CHECKER.stray_zero * np.max(np.abs(n))
    tiny_a = CHECKER.stray_zero * np.max(np.abs(a))
    zero_n, zero_a = np.abs(n) <= tiny_n, np.abs(a) <= tiny_a
    stray = int(np.sum(zero_n & ~zero_a))
    missed = int(np.sum(~zero_n & zero_a))
    if stray == 0:
        return None
    same_values = stray == missed and np.allclose(np.sort(a[~zero_a]), np.sort(n[~zero_n]), rtol=CHECKER.same_values, atol=tiny_n)
    if same_values:
        return (f"the right values at the wrong elements: GRAD is non-zero at {stray} element(s) that do not "
                f"affect the output and zero at {missed} that do (wrong routing, e.g. a pooling gradient sent to "
                f"another element of the window than its maximum)")
    return (f"GRAD is non-zero at {stray} element(s) that do not affect the output (and zero at {missed} that "
            f"do): a wrong mask or routing (e.g. ReLU mask from the wrong array, pooling argmax wrong)")
