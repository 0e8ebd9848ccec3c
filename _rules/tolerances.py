"""The tolerance table: how closely two computations must agree, per floating dtype.

One table serves the gradient checker (``gradient_check.check_layer``, the command line) and the
tests (``tests/conftest.py``'s ``tol``/``assert_close``). Two kinds of comparison read it:

``rtol`` / ``atol``
    A fast layer against its naive reference *in the same dtype*: both round, in different
    orders. float32 sums of a few hundred products carry ~1e-6 relative rounding; 1e-4 leaves
    room for summation-order differences without hiding real bugs (those are O(1)). float16
    inputs are computed in float32 by the toolkit, but the inputs themselves carry 1e-3.
``grad_rtol`` / ``grad_frac``
    An analytic gradient computed in the layer's dtype against a float64 central difference
    (the checker's pass rule; see ``_gradcheck.check``): ``grad_rtol`` bounds the relative error
    of each element, ``grad_frac`` sets the floor (a fraction of the layer's gradient scale)
    below which an element counts as ~0. The rounding-noise part of the floor scales with the
    dtype's machine epsilon, so float16 is judged against float16 rounding.

==========  ======  ======  =========  =========
dtype       rtol    atol    grad_rtol  grad_frac
==========  ======  ======  =========  =========
float16     1e-2    1e-3    1e-2       1e-2
float32     1e-4    1e-5    1e-3       1e-2
float64     1e-9    1e-11   1e-6       1e-2
==========  ======  ======  =========  =========

Wider floats (``np.longdouble``) use the float64 row: they are at least as precise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Tolerance", "TOLERANCES", "tolerance"]


@dataclass(frozen=True)
class Tolerance:
    """One row of the table (see the module docstring)."""

    dtype: np.dtype
    rtol: float
    atol: float
    grad_rtol: float
    grad_frac: float

    @property
    def eps(self) -> float:
        """Machine epsilon of the row's dtype."""
        return float(np.finfo(self.dtype).eps)


TOLERANCES = {
    row.dtype: row
    for row in (
        Tolerance(np.dtype(np.float16), rtol=1e-2, atol=1e-3, grad_rtol=1e-2, grad_frac=1e-2),
        Tolerance(np.dtype(np.float32), rtol=1e-4, atol=1e-5, grad_rtol=1e-3, grad_frac=1e-2),
        Tolerance(np.dtype(np.float64), rtol=1e-9, atol=1e-11, grad_rtol=1e-6, grad_frac=1e-2),
    )
}


def tolerance(dtype) -> Tolerance:
    """Return the row for a floating ``dtype`` (wider than float64: the float64 row).

    Raises
    ------
    TypeError
        If ``dtype`` is not a real floating dtype.
    """
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"no tolerance for dtype {dt}: expected one of "
                        f"{', '.join(str(d) for d in TOLERANCES)} (a real floating dtype)")
    return TOLERANCES.get(np.dtype(dt.type), TOLERANCES[np.dtype(np.float64)])  # any byte order


@dataclass(frozen=True)
class CheckerRules:
    """The gradient checker's other thresholds: when a pattern fits, when two results are the same.

    Unlike the table above they do not depend on the dtype: they judge float64 quantities the
    checker computed itself (a ratio, a difference of gradients, one-sided slopes).
    """

    same_result: float = 1e-12        # two calls agree (max difference / max magnitude): determinism
    pattern: float = 1e-3             # a diagnosis pattern (ratio, flip, transpose, shift) fits, in norm
    pattern_loose: float = 1e-2       # a pattern of the difference a - n (a missing mean term) fits
    ratio_agree: float = 1e-4         # random directions show one and the same factor
    all_zero: float = 1e-12           # an analytic gradient this small next to the numeric one is "zeros"
    stray_zero: float = 1e-9          # below this fraction of the max, a gradient element counts as zero
    same_values: float = 1e-6         # the right values at the wrong places; one contribution kept
    overwritten_share: float = 0.8    # share of wrong elements one kept contribution must explain
    known_bug: float = 1e-6           # a reproduced classic mistake matches the student's array, in norm
    kink_slope: float = 1e-3          # one-sided slopes differing by more than this (relative) ...
    kink_scale: float = 1e-6          # ... plus this fraction of the layer's scale ...
    kink_noise: float = 16.0          # ... plus this many times the rounding noise mean a kink
    kink_side: float = 10.0           # a kinked element's analytic value sits on one side within this x rtol
    kink_side_floor: float = 1e-3     # ... and at least this (relative)
    noise_factor: float = 4.0         # the floor is at least this many times the rounding noise / rtol
    rounding_terms: float = 16.0      # rounding of the analytic side: this many eps per unit of sum|g v|
    dropout_false_alarm: float = 1e-6  # probability that a correct dropout fails the kept-fraction bound
    dropout_scale: float = 1e-6       # a dropout output is x, x / p or x / (1 - p) within this (relative)
    coefficient: float = 1e-6         # a fitted coefficient equals a round number (1, -1, -2) within this
    coefficient_zero: float = 1e-3    # a fitted coefficient this small is no pattern (a ~0 multiple of reg * W)
    loss_cause: float = 1e-6          # a loss differs from the course's by one named term within this (relative)
    caption_loss_cause: float = 1e-7  # a captioning loss equals a variant's (another convention) within this
    nonzero_term: float = 1e-12       # a candidate term this small cannot explain a difference


CHECKER = CheckerRules()
__all__ += ["CheckerRules", "CHECKER"]
