"""Report rows: one per function, input (or check) and kind of comparison, as every report shows them.

A :class:`Row` is what the grid and the assignment graders produce and what the text table, the
JSON report, Gradescope's ``results.json``, JUnit XML and the gradebook are written from. Code
decides by its fields (``status``, ``kind``, ``diagnosis_kind``, ``function``, ``batch``,
``settings``), never by the words of ``diagnosis`` or ``warnings``; :meth:`Row.to_json` is the one
place a row becomes the JSON of ``--json``, and nothing in a run reads that JSON back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from _gradcheck.core.findings import kind_of
from _gradcheck.core.measure import errors_under_rule
from _gradcheck.core.result import ERROR, FAIL, NOT_CHECKABLE, PASS

__all__ = ["Row", "NotPresent", "judge", "STATUS_JSON", "RANK"]

# The status words of the JSON report, and the order of badness used to merge and summarize rows.
STATUS_JSON = {PASS: "pass", FAIL: "fail", NOT_CHECKABLE: "not_checkable", ERROR: "error"}
RANK = {PASS: 0, NOT_CHECKABLE: 1, FAIL: 2, ERROR: 3}


@dataclass
class Row:
    """One line of a report.

    Attributes
    ----------
    layer : str
        The layer (its forward's name; ``"name + backward_alt"`` for a second backward).
    function : str
        The function to blame when the row fails.
    input : str
        The compared input (``x``, ``w``, ...) or a check in parentheses (``(forward)``, ``(layer)``,
        ``(purity)``...).
    kind : str
        What was compared: ``gradient``, ``forward``, ``purity``, ``determinism``, ``error``, or an
        assignment grader's kind (``model``, ``update``, ``state``, ...).
    status : str
        ``PASS``, ``FAIL``, ``ERROR`` or ``NOT_CHECKABLE`` (:mod:`_gradcheck.core.result`).
    max_rel_error, analytic, numeric : float or None
        The worst relative error and the two values there (the student's, the reference's).
    worst_index : list of int or None
    kinks_excluded : int
    warnings : list of str
        Each a :class:`~_gradcheck.core.findings.Finding` when code needs its kind.
    diagnosis : str
        The finding that explains a failure (a ``Finding`` when its kind is known), without the
        notes on layouts, which are kept in ``layouts_note``.
    diagnosis_kind : str or None
        The kind of ``diagnosis`` (set from it when a row is made or updated).
    time_s : float
    layout : str or None
        The layout checked (its description), or the first failing one after merging.
    shape, mode, h
        The compared input's shape, the check's mode and step (gradient rows).
    layouts_checked, layouts_failed
        After merging the rows of one function over every layout: how many, and which failed.
    layouts_note : str
        What the merge adds to the diagnosis (how many layouts fail; "right for N = 1 only").
    batch : int or None
        The batch size N of the layout (merging only; not in the JSON).
    settings : frozenset of str
        The layout's settings other than array shapes (stride, pad, mode...; merging only).
    """

    layer: str
    function: str
    input: str
    kind: str
    status: str = PASS
    max_rel_error: float | None = None
    worst_index: list | None = None
    analytic: float | None = None
    numeric: float | None = None
    kinks_excluded: int = 0
    warnings: list = field(default_factory=list)
    diagnosis: str = ""
    diagnosis_kind: str | None = None
    time_s: float = 0.0
    layout: str | None = None
    shape: list | None = None
    mode: str | None = None
    h: float | None = None
    layouts_checked: int | None = None
    layouts_failed: list | None = None
    layouts_note: str = ""
    batch: int | None = field(default=None, repr=False)
    settings: frozenset = field(default=frozenset(), repr=False)

    def __post_init__(self):
        self.diagnosis_kind = self.diagnosis_kind or kind_of(self.diagnosis)

    def update(self, **values) -> "Row":
        """Set fields by name (an unknown name is a ``TypeError``); a new ``diagnosis`` brings its kind."""
        unknown = set(values) - _FIELDS
        if unknown:
            raise TypeError(f"Row has no field(s) {sorted(unknown)}; its fields are {sorted(_FIELDS)}")
        if "diagnosis" in values and "diagnosis_kind" not in values:
            values["diagnosis_kind"] = kind_of(values["diagnosis"])
        for name, value in values.items():
            setattr(self, name, value)
        return self

    def take_verdict(self, other: "Row") -> "Row":
        """Take ``other``'s verdict: status, error, worst element and its two values, diagnosis and kind."""
        return self.update(status=other.status, max_rel_error=other.max_rel_error, worst_index=other.worst_index,
                           analytic=other.analytic, numeric=other.numeric, diagnosis=other.diagnosis,
                           diagnosis_kind=other.diagnosis_kind)

    @property
    def passed(self) -> bool:
        return self.status == PASS

    @property
    def rank(self) -> int:
        """How bad the status is (``RANK``): pass 0, not checkable 1, fail 2, error 3."""
        return RANK[self.status]

    @property
    def is_input(self) -> bool:
        """Whether ``input`` names an input of the function (not a check such as ``(forward)``)."""
        return self.kind == "gradient" and not self.input.startswith("(")

    @property
    def full_diagnosis(self) -> str:
        """The diagnosis as reports print it: the finding, then the notes on layouts."""
        return f"{self.diagnosis}{self.layouts_note}"

    def to_json(self) -> dict:
        """The row of ``--json``'s ``results``: plain JSON values, statuses in lower case."""
        out = {"layer": self.layer, "function": self.function, "input": self.input, "kind": self.kind,
               "status": STATUS_JSON.get(self.status, self.status),
               "max_rel_error": _number(self.max_rel_error),
               "worst_index": None if self.worst_index is None else [int(i) for i in self.worst_index],
               "analytic": _number(self.analytic), "numeric": _number(self.numeric),
               "kinks_excluded": int(self.kinks_excluded), "warnings": [str(w) for w in self.warnings],
               "diagnosis": self.full_diagnosis, "finding": str(self.diagnosis),
               "diagnosis_kind": self.diagnosis_kind, "time_s": round(float(self.time_s or 0.0), 4),
               "layout": self.layout}
        if self.shape is not None:
            out["shape"] = [int(n) for n in self.shape]
        if self.mode is not None:
            out["mode"] = self.mode
        if self.h is not None:
            out["h"] = _number(self.h)
        if self.layouts_checked is not None:
            out["layouts_checked"] = int(self.layouts_checked)
            out["layouts_failed"] = list(self.layouts_failed or [])
        return out


_FIELDS = {f.name for f in dataclasses.fields(Row)}


@dataclass(frozen=True)
class NotPresent:
    """A layer or item the report lists as not graded; ``str()`` is the report's ``not present:`` line.

    Attributes
    ----------
    label : str
        What is not graded (a layer's name, a class).
    why : str
        Shown in parentheses after the label ('' for nothing).
    names : frozenset of str
        The student's functions or classes it concerns (so they count as accounted for).
    missing : str or None
        The function whose absence is the reason (a layer's backward), if that is the reason.
    """

    label: str
    why: str = ""
    names: frozenset = frozenset()
    missing: str | None = None

    def __str__(self) -> str:
        return f"{self.label} ({self.why})" if self.why else self.label


def _number(v):
    """A float for JSON: numpy scalars unwrapped, nan/inf as None."""
    if v is None:
        return None
    v = v.item() if isinstance(v, (np.floating, np.integer)) else v
    return None if isinstance(v, float) and not np.isfinite(v) else v


def judge(r: Row, got, ref, dtype=np.float64, what="value", scale=0.0) -> bool:
    """Fill ``r`` with the comparison of ``got`` (the student's) against ``ref``; True if it passes."""
    ref = np.asarray(ref, np.float64)
    try:
        got = np.asarray(got)
        ok_type = got.dtype.kind in "biuf"
    except Exception:  # noqa: BLE001 - anything the student returned
        ok_type = False
    if not ok_type:
        r.update(status=FAIL, diagnosis=f"{what} must be a numeric array, got {type(got).__name__}")
        return False
    if got.shape != ref.shape:
        r.update(status=FAIL, diagnosis=f"{what} has shape {got.shape}, expected {ref.shape}")
        return False
    err, rtol = errors_under_rule(got, ref, dtype, scale)
    w = int(np.argmax(err)) if err.size else 0
    e = float(err.flat[w]) if err.size else 0.0
    r.update(status=PASS if e <= rtol else FAIL, max_rel_error=e,
             worst_index=[int(i) for i in np.unravel_index(w, ref.shape)] if ref.ndim else [],
             analytic=float(np.asarray(got, np.float64).flat[w]) if got.size else None,
             numeric=float(ref.flat[w]) if ref.size else None)
    return r.status == PASS
