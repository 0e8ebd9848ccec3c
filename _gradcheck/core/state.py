"""The state of one layer check, handed from phase to phase, and how layer code is called.

:class:`Run` is created by ``check._prepare``; ``analytic.probe`` fills ``Run.analytic`` (forward
and backward outputs, what they changed), ``compare.compare`` fills ``Run.numeric``,
``Run.compared`` and ``Run.direction_ratios``, and the diagnose phase
(:func:`_gradcheck.diagnose.phase.diagnose_failures`) explains what failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from _rules.tolerances import CHECKER

from _gradcheck.core import numeric as num
from _gradcheck.core.result import InputResult, LayerCheck

__all__ = ["CheckInterrupted", "TimeLimitExceeded", "LayerError", "describe_exception", "layer_call", "Rule",
           "Analytic", "Numeric", "Compared", "Run", "MUTABLE_KEYS"]

NOISE_FACTOR = CHECKER.noise_factor
MUTABLE_KEYS = ("running_mean", "running_var")


class CheckInterrupted(BaseException):
    """Raised from outside a check (a time limit) to stop it; never turned into an ERROR row by it.

    A ``BaseException`` so that a layer's own ``except Exception:`` cannot swallow it.
    """


class TimeLimitExceeded(CheckInterrupted):
    """Student code ran longer than the wall-clock limit (``student.time_limit``)."""

    def __init__(self, seconds: float):
        super().__init__(seconds)
        self.seconds = seconds


class LayerError(Exception):
    """The layer raised, or returned something that is not (out, cache) / a gradient tuple.

    ``who``: ``'forward'`` or ``'backward'``, the call to blame (None: the forward, or a loss).
    """

    def __init__(self, message: str, who: str | None = None):
        super().__init__(message)
        self.who = who


def describe_exception(exc: BaseException, what: str) -> str:
    """One line saying what student code did: raised, called exit(), or ran out of time."""
    if isinstance(exc, TimeLimitExceeded):
        return (f"{what} did not finish within the time limit of {exc.seconds:g} s (an endless loop?); "
                f"raise the limit with --time-limit SECONDS if it is just slow")
    if isinstance(exc, SystemExit):
        return f"{what} called exit() / sys.exit({exc.code!r}): student code must return, not end the program"
    if isinstance(exc, NotImplementedError):
        return f"{what} is not implemented yet (it raises NotImplementedError{': ' + str(exc) if str(exc) else ''})"
    if type(exc).__name__ in ("AttributeError", "TypeError") and "NoneType" in str(exc):
        # The course's starters set `out = None` and go on using it (dropout calls out.astype).
        return (f"{what} is not implemented yet? It raised {type(exc).__name__}: {exc} "
                f"(a value the starter leaves as None is used)")
    return f"{what} raised {type(exc).__name__}: {exc}"


def layer_call(what: str, fn, *args):
    """Call layer code; anything it raises (even ``exit()``) becomes a ``LayerError``.

    ``KeyboardInterrupt`` and :class:`CheckInterrupted` pass through: they stop the check.
    """
    try:
        return fn(*args)
    except (KeyboardInterrupt, CheckInterrupted):
        raise
    except BaseException as exc:  # noqa: BLE001 - the layer is the thing under test
        raise LayerError(describe_exception(exc, what), who=what if what in ("forward", "backward") else None) \
            from (None if isinstance(exc, SystemExit) else exc)


# ---------------------------------------------------------------------------------------------
# The state handed from phase to phase

@dataclass(frozen=True)
class Rule:
    """The pass rule of one check: the dtype's row of the tolerance table, possibly overridden."""

    dtype: np.dtype
    rtol: float
    frac: float
    atol: float | None

    @property
    def eps(self) -> float:
        """Machine epsilon of the layer's dtype: the rounding the analytic side may carry."""
        return float(np.finfo(self.dtype).eps)

    def floor(self, scale, noise):
        """``max(frac * scale, 4 noise / rtol, atol / rtol, 1e-300)`` (arrays or floats)."""
        f = np.maximum(self.frac * scale, NOISE_FACTOR * noise / self.rtol)
        if self.atol is not None:
            f = np.maximum(f, self.atol / self.rtol)
        return np.maximum(f, 1e-300)

    def text(self) -> str:
        return (f"pass if max rel err <= {self.rtol:g}; rel err = |a-n| / max(|a|+|n|, floor), "
                f"floor = {self.frac:g} x the layer's gradient scale or the rounding-noise bound; "
                f"numeric in float64")


@dataclass
class Analytic:
    """What ``analytic.probe`` saw: the forward output, the gradients, and what the calls changed."""

    out: np.ndarray
    dout64: np.ndarray                       # the dout given to backward, as float64
    grads: list                              # backward(dout, cache) (a loss: its grads)
    grads_again: list                        # the same call on a second forward's cache


@dataclass
class Numeric:
    """The numeric side: float64 copies of the inputs and the forward re-run on them."""

    run: Callable
    arrays64: list
    eval_dtype: np.dtype                     # what the forward computes in, given float64 inputs
    batch: int | None
    scale: dict                              # input index -> rms of that input (> 0)

    @property
    def eval_eps(self) -> float:
        return float(np.finfo(self.eval_dtype).eps)


@dataclass
class Compared:
    """One input compared in full mode, for the diagnose phase (``diagnose.phase.diagnose_failures``)."""

    res: InputResult
    x: np.ndarray
    g: np.ndarray
    probe: num.FullProbe
    bad: np.ndarray
    kink: np.ndarray
    floor: np.ndarray


@dataclass
class Run:
    """One check in progress: what was asked, and what each phase found."""

    forward: Callable
    backward: Callable | None
    inputs: list
    params: list
    names: list
    wrt: list                                # indices of the inputs backward differentiates
    rule: Rule
    check: LayerCheck
    rng: np.random.Generator
    dout: np.ndarray | None
    h: float | None
    seed: int
    mutable: tuple
    deterministic: bool | None
    mutations: list = field(default_factory=list)  # what forward/backward changed (reported even on an ERROR)
    analytic: Analytic | None = None
    numeric: Numeric | None = None
    todo: list = field(default_factory=list)       # (k, g64, res) for inputs worth comparing
    compared: list = field(default_factory=list)   # Compared, full mode
    direction_ratios: list = field(default_factory=list)  # (InputResult, [analytic / numeric per direction]), failed

    @property
    def is_loss(self) -> bool:
        return self.backward is None

    @property
    def wnames(self) -> list:
        return [self.names[i] for i in self.wrt]

