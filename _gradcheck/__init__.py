"""Internals of the layer checker behind :mod:`gradient_check` (private: import from gradient_check).

Modules
-------
purity      snapshots of every array reachable from an argument, and what changed
numeric     float64 central differences: full (per element, with kink detection) and directional
diagnose    one-line explanations of a failing analytic/numeric pair
result      ``InputResult`` and ``LayerCheck`` (report text, plot, dict for JSON)
check       ``check_layer``: runs a forward/backward pair and fills a ``LayerCheck``
registry    every layer the toolkit ships, with small seeded inputs
cli         ``python -m gradient_check``
"""

from .check import check_layer
from .result import InputResult, LayerCheck

__all__ = ["check_layer", "LayerCheck", "InputResult"]
