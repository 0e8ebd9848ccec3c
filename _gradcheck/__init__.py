"""Internals of the layer checker behind :mod:`gradient_check` (private: import from gradient_check).

Tolerances come from the one table in :mod:`_rules.tolerances` (shared with the tests).

Modules
-------
check       ``check_layer``: validates its arguments, runs the phases below, returns a ``LayerCheck``
state       ``Run``, the dataclass the phases hand on, and how layer code is called (``layer_call``)
analytic    phases *probe* (forward, backward on copies) and *purity* (mutation, determinism)
compare     phases *compare* (numeric side vs analytic) and *diagnose* (one line per failure)
purity      snapshots of every array reachable from an argument, and what changed
numeric     float64 central differences: full (per element, with kink detection) and directional
diagnose    one-line explanations of a failing analytic/numeric pair
result      ``InputResult`` and ``LayerCheck`` (report text, plot, dict for JSON)
student     loading a student's module after the toolkit's own references; time limit; shadowing
starter     ``--starter``: a file of layer signatures and docstrings to fill in
specs       every layer declared once: its pair, signature, layouts and properties (LayerSpec)
grid        one layer checked on every layout of its spec; dropout's mask-free check; blame
known_bugs  classic mistakes reproduced on the same inputs, to name a failing gradient
cli         ``python -m gradient_check``
"""

from .check import check_layer
from .result import InputResult, LayerCheck

__all__ = ["check_layer", "LayerCheck", "InputResult"]
