"""Internals of the layer checker behind :mod:`gradient_check` (private: import from gradient_check).

Three parts, importing one way (``core`` <- ``diagnose`` <- ``check`` <- ``grader``):

``core``      the checking core: float64 numeric gradients, the comparison with the analytic side under
              the pass rule of :mod:`_rules.tolerances`, purity and determinism, the result dataclasses;
``diagnose``  why a gradient is wrong: patterns read off the analytic/numeric pair, and classic
              mistakes reproduced on the same inputs, each returned as a :class:`~_gradcheck.core.findings.Finding`
              whose kind code can test;
``check``     :func:`check_layer`, the core's phases followed by the diagnoses (what a notebook calls);
``grader``    the command line and everything around a student's module: the layer declarations, the
              layout grid, the worker process that runs student code, report rows, report formats,
              batch grading, and the whole-assignment graders in ``grader.assignment``.
"""

from _gradcheck.core.result import InputResult, LayerCheck
from _gradcheck.check import check_layer

__all__ = ["check_layer", "LayerCheck", "InputResult"]
