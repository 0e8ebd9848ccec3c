"""What the assignment graders (update rules, kNN, stateful layers, models) share.

A grader of this family is an :class:`AssignmentJob`: a label, the student's names it needs, the
toolkit functions the student's code may not borrow meanwhile, and ``run()`` (a closure holding the
worker session and seed it needs) returning report rows (:class:`~_gradcheck.grader.rows.Row`, as the
layer grid's, with ``kind`` saying what was compared).
The student's code runs only in the worker (through :class:`_gradcheck.grader.isolate.Session`); the
references are the toolkit's own modules, loaded here from the toolkit's folder.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from _gradcheck.core.result import ERROR, PASS
from _gradcheck.core.state import describe_exception
from _gradcheck.grader.rows import Row

__all__ = ["AssignmentJob", "row", "reference_module", "call_student", "StudentRaised"]


@dataclass
class AssignmentJob:
    """One graded item: ``run() -> rows`` (``run`` holds the session and seed it needs)."""

    label: str
    run: Callable
    forbid: set = field(default_factory=set)
    note: str | None = None      # for the report's notes (e.g. whose layers a model runs on)
    names: frozenset | None = None  # the student's names it grades (default: ``forbid``)
    layer: str | None = None        # the report rows' layer (default: ``label``)
    config: str = ""                # the configuration graded, when a class is graded in several

    def __post_init__(self):
        self.names = frozenset(self.forbid if self.names is None else self.names)
        self.layer = self.layer or self.label


def row(layer, input_, kind, status=PASS, function=None, **kw) -> Row:
    """A report row (:class:`~_gradcheck.grader.rows.Row`); ``function`` defaults to ``layer``."""
    return Row(layer=layer, function=function or layer, input=input_, kind=kind, status=status, **kw)


def reference_module(name: str):
    """The toolkit's own module ``name``, imported from the toolkit's folder (never a student's file)."""
    from _gradcheck.grader import student as stu

    return stu.Toolkit.load((name,)).modules[name]


class StudentRaised(Exception):
    """The student's code raised (or returned nothing usable); ``str`` is the one-line description."""


def call_student(fn, *args, what: str, **kwargs):
    """``fn(*args, **kwargs)``; a student exception becomes :class:`StudentRaised` (worker loss propagates)."""
    from _gradcheck.core.state import CheckInterrupted

    try:
        return fn(*args, **kwargs)
    except CheckInterrupted:
        raise
    except BaseException as exc:  # noqa: BLE001 - the student's code is what is under test
        if isinstance(exc, NotImplementedError):
            raise StudentRaised(f"{what} is not implemented yet (it raises NotImplementedError)") from None
        raise StudentRaised(describe_exception(exc, what)) from None


def timed(rows: list, t0: float) -> list:
    """Spread the elapsed time since ``t0`` over ``rows`` (each gets its share)."""
    dt = (time.perf_counter() - t0) / max(1, len(rows))
    for r in rows:
        r.time_s = dt
    return rows


def error_row(layer, input_, kind, message, function=None) -> Row:
    return row(layer, input_, kind, ERROR, function=function, diagnosis=message)
