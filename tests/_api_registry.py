"""The test matrices' view of the layer specifications (``_gradcheck/grader/specs.py``).

Nothing here describes a layer: every name below is derived from the specifications, so a layer
added there (with an ``api=True`` layout) is covered by the API, no-mutation, invalid-input,
NaN-propagation, dtype-promotion and thread-safety tests without editing any test.

``FORWARDS`` maps each forward to ``(callable, family)``, ``LOSSES`` each loss (returning
``(loss, dx)``); ``BACKWARDS`` maps each backward to ``(callable, forward name whose cache it
takes)``. A layer with several api layouts appears once per layout after the first as
``name[tag]`` (``dropout_forward[test]``, ``dropout_backward[test]``). ``SPEC[name]`` and
``LAYOUT[name]`` give the specification and layout behind a matrix name. The matrices are
rebuilt by :func:`tables`, so a test can add a specification and see it picked up.
"""

from __future__ import annotations

import importlib

import numpy as np

from _gradcheck.grader import specs as _specs


def _callable(name, spec, module=None):
    fn = _specs.resolve(name, spec.module, module)
    if fn is None:
        raise LookupError(f"specification {spec.name!r} names {spec.module}.{name}, which does not exist: fix the "
                          f"LayerSpec in _gradcheck/grader/specs.py or export the function from {spec.module}")
    return fn


def tables(all_specs=None):
    """``(FORWARDS, LOSSES, BACKWARDS, COMPATIBLE_CACHES, SPEC, LAYOUT)`` built from the specifications."""
    all_specs = _specs.specs() if all_specs is None else all_specs
    forwards, losses, backwards, compatible, spec_of, layout_of = {}, {}, {}, set(), {}, {}
    for s in all_specs:
        for k, lay in enumerate(s.api_layouts()):
            suffix = "" if k == 0 else f"[{lay.tag}]"
            name = s.name + suffix
            spec_of[name], layout_of[name] = s, lay
            (losses if s.is_loss else forwards)[name] = (_callable(s.forward, s), s.family)
            for b in s.backwards:
                backwards[b + suffix] = (_callable(b, s), name)
                spec_of[b + suffix], layout_of[b + suffix] = s, lay
                if k == 0:
                    compatible.update((b, other) for other in s.compatible_caches)
    return forwards, losses, backwards, compatible, spec_of, layout_of


FORWARDS, LOSSES, BACKWARDS, COMPATIBLE_CACHES, SPEC, LAYOUT = tables()


def build(name, rng, dtype=np.float64, spec_of=None, layout_of=None):
    """Return ``(callable, args, spec)`` for a matrix name of a forward or loss."""
    spec_of = SPEC if spec_of is None else spec_of
    layout_of = LAYOUT if layout_of is None else layout_of
    s = spec_of[name]
    return _callable(s.forward, s), layout_of[name].make(rng, np.dtype(dtype)), s


def missing_entries(all_specs=None):
    """One message per exported layer function that no specification covers."""
    out = []
    for modname in _specs.EXPORTING_MODULES:
        out += _specs.missing_specs(importlib.import_module(modname), all_specs)
    return out
