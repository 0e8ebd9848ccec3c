"""Internals of the layer checker behind :mod:`gradient_check` (private: import from gradient_check).

Tolerances come from the one table in :mod:`_rules.tolerances` (shared with the tests).

Modules, by job
---------------
The checking core (numeric gradients, comparison, judging; thresholds from ``_rules.tolerances``):

check       ``check_layer``: validates its arguments, runs the phases below, returns a ``LayerCheck``
state       ``Run``, the dataclass the phases hand on; ``layer_call``; ``relative_error``, the one measure
analytic    phases *probe* (forward, backward on copies) and *purity* (mutation, determinism)
compare     phases *compare* (numeric side vs analytic) and *diagnose* (one line per failure)
purity      snapshots of every array reachable from an argument, and what changed
numeric     float64 central differences: full (per element, batched where the forward allows) and directional
result      ``InputResult`` and ``LayerCheck`` (report text, plot, dict for JSON)
findings    ``Finding``: a message with its kind; code decides by the kind, never by the words

The diagnoses (error patterns and classic mistakes, rendered into words last):

diagnose    one-line explanations of a failing analytic/numeric pair
known_bugs  classic mistakes reproduced on the same inputs, to name a failing gradient

The grader (the command line and everything around a student's module):

specs       every layer declared once: its pair, signature, layouts and properties (LayerSpec)
grid        one layer checked on every layout of its spec; dropout's mask-free check; blame
cli         ``python -m gradient_check`` / ``cnnkit-check``; ``check_module``
isolate     the grading side of the worker: ``Session``, ``RemoteFunction``, limits, deadlines
worker      the worker process (a script): imports the student's module, evaluates calls
wire        the wire format between them: JSON + raw arrays, bounded, never pickle
reports     Gradescope's results.json, JUnit XML, the Gradescope autograder starter
batch       ``--submissions``: a folder of submissions, N at a time, into a gradebook
student     the toolkit's own modules, shadowing notes, in-process loading (``check_module(isolated=False)``)
starter     ``--starter``: a file of layer signatures and docstrings to fill in
"""

from .check import check_layer
from .result import InputResult, LayerCheck

__all__ = ["check_layer", "LayerCheck", "InputResult"]
