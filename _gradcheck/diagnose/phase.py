"""The *diagnose* phase of ``check_layer``: one line for each failing input, warnings for vacuous checks.

Runs after :func:`_gradcheck.core.compare.compare` on the same :class:`~_gradcheck.core.state.Run`:
a failing input in full mode is explained by :func:`~_gradcheck.diagnose.patterns.diagnose`; a
directional failure whose every direction is off by one factor gets that factor's phrase
(:func:`~_gradcheck.diagnose.patterns.ratio_phrase`).
"""

from __future__ import annotations

import numpy as np

from _rules.tolerances import CHECKER

from _gradcheck.core.findings import Finding
from _gradcheck.core.state import Run
from _gradcheck.diagnose.patterns import diagnose, ratio_phrase

__all__ = ["diagnose_failures"]


def diagnose_failures(run: Run) -> None:
    """Fill ``diagnosis`` and ``warnings`` of each compared input of ``run`` (see the module docstring)."""
    for res, ratios in run.direction_ratios:
        if res.mode == "directional":  # not escalated to the full check (auto mode), which explains itself
            _same_factor_everywhere(res, ratios, run.numeric.batch)
    for c in run.compared:
        res, nm = c.res, c.res.name
        n = c.probe.central
        nonfinite = int(np.sum(~np.isfinite(n)))
        if nonfinite and not res.diagnosis:
            res.diagnosis = (f"the numeric gradient is nan/inf at {nonfinite} element(s) of {nm}: the forward "
                             f"is not finite within h of x (log/sqrt/division of a value near 0?)")
        if not res.passed and not res.diagnosis:
            res.diagnosis = diagnose(c.g, np.where(c.kink, c.g, n), c.bad, name=nm, x=c.x, batch=run.numeric.batch,
                                     probe=c.probe, rtol=run.rule.rtol, floor=float(np.max(c.floor)))
        tiny = run.rule.rtol * float(np.min(c.floor))
        if np.max(np.abs(c.g)) <= tiny and np.max(np.abs(n)) <= tiny:
            res.warnings.append(f"vacuous: analytic and numeric d{nm} are both ~0 everywhere, so this check "
                                f"proves nothing (every ReLU input negative? a bias followed by a normalization?)")
        elif res.kinks_excluded and res.kinks_excluded == c.x.size:
            res.warnings.append(f"vacuous: every element of {nm} is within h of a kink; nothing was compared")


def _same_factor_everywhere(res, ratios, batch) -> None:
    """Name the factor when every random direction disagrees by the same one (``batch``: N or None)."""
    if len(ratios) >= 2 and abs(ratios[0] - 1) > CHECKER.pattern and \
            all(abs(r - ratios[0]) <= CHECKER.ratio_agree * abs(ratios[0]) for r in ratios):
        phrase = ratio_phrase(ratios[0], batch)
        res.diagnosis = Finding(f"{res.diagnosis} in every direction by the same factor: {phrase}",
                                phrase.kind, **phrase.details)
