"""The checking core: numeric gradients, comparison and judging, with no opinion on why a check fails.

``state`` holds what the phases of a check hand on (``Run``, ``Rule``); ``measure`` the one
relative-error measure (``relative_error``) and the pass rule applied to it; ``numeric`` computes
float64 central differences (full and directional); ``analytic`` calls
the layer (forward, backward, on copies) and watches for mutation and non-determinism with
``purity``; ``compare`` judges the analytic gradients against the numeric ones under the tolerance
table of :mod:`_rules.tolerances`; ``result`` holds what a check returns (``InputResult``,
``LayerCheck``); ``findings`` the kinds a problem or diagnosis carries, so that code decides
by kind and never by a message's words. Nothing here imports the diagnoses or the grader.
"""
