"""Messages that carry their kind: code decides by ``kind``, people read the words.

A :class:`Finding` is a ``str`` (so reports, JSON and ``LayerCheck.problems`` show it as they show
any message) with a ``kind``, the function it concerns (``who``: ``'forward'``, ``'backward'`` or
None) and ``details``. The grid blames functions, drops notes, merges rows and writes the report's
warning lines by these fields; nothing searches the wording of a message, so a message can be
reworded freely. A kind outside the two tables below is refused when the finding is made.
"""

from __future__ import annotations

__all__ = ["Finding", "kind_of", "PROBLEM_KINDS", "DIAGNOSIS_KINDS"]

# What went wrong or is worth saying about a call, whatever the gradient.
PROBLEM_KINDS = {
    "error": "the layer raised or returned something malformed (who says which call)",
    "purity": "a call mutated an input, a param, dout or the cache (who)",
    "determinism": "two identical calls gave different results (who)",
    "escalated": "the directional check failed and the full check ran to localize (a note)",
    "dtype": "a result's dtype is not the layer's (details: output, have, want)",
}
# Why a gradient is wrong (the kind of a failing row's diagnosis).
DIAGNOSIS_KINDS = {
    "batch_factor": "analytic = numeric x N or x 1/N, N the batch size (details['ratio'])",
    "sign": "analytic = -numeric",
    "factor": "analytic = numeric x a constant (details['ratio'])",
    "border": "errors only within details['width'] of the edge",
    "known_bug": "a classic mistake of the layer family, reproduced on the same inputs (details['batch_mixing']: "
                 "it mixes samples across the batch, so it is right for N = 1 only)",
}


class Finding(str):
    """A message with a ``kind``, the call it concerns (``who``) and ``details`` (see the module docstring)."""

    kind: str
    who: str | None
    details: dict

    def __new__(cls, text: str, kind: str, who: str | None = None, **details):
        if kind not in PROBLEM_KINDS and kind not in DIAGNOSIS_KINDS:
            raise ValueError(f"unknown finding kind {kind!r}; the kinds are {sorted(PROBLEM_KINDS | DIAGNOSIS_KINDS)}")
        self = super().__new__(cls, text)
        self.kind, self.who, self.details = kind, who, details
        return self

    def __reduce__(self):
        return (_rebuild, (str(self), self.kind, self.who, self.details))


def _rebuild(text, kind, who, details):
    return Finding(text, kind, who, **details)


def kind_of(message) -> str | None:
    """The kind of ``message`` if it is a :class:`Finding`, else None (a plain message)."""
    return getattr(message, "kind", None) if isinstance(message, Finding) else None
