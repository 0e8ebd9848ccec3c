"""The checks ``python -m gradient_check`` runs, read from the layer specifications.

One :class:`Entry` per (layer, backward, layout) to check: the layer's specification
(``_gradcheck.specs``), which backward (``batchnorm_backward_alt`` is a second entry of
``batchnorm_forward``) and on which layout. Nothing here describes a layer: a new layer needs
one ``LayerSpec`` in ``_gradcheck/specs.py`` and nothing in this file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import specs as _specs

__all__ = ["Entry", "entries", "all_entries", "resolve", "registered_names", "unregistered"]


@dataclass(frozen=True)
class Entry:
    """One check: a layer's forward, one of its backwards, one layout.

    Attributes
    ----------
    spec : LayerSpec
    backward : str or None
        The backward's attribute name (None for a loss).
    layout : Layout
    label : str
        Name shown in the report: the forward's name (``+ backward`` for an alternative backward),
        then the layout in brackets for every layout after the layer's first.
    """

    spec: _specs.LayerSpec
    backward: str | None
    layout: _specs.Layout
    label: str

    @property
    def forward(self) -> str:
        return self.spec.forward

    @property
    def module(self) -> str:
        return self.spec.module

    @property
    def names(self) -> tuple:
        return self.spec.input_names

    @property
    def compare_forward(self) -> bool:
        """A student's forward output can be compared with the toolkit's (not for random layers)."""
        return not self.spec.random

    @property
    def classic(self) -> bool:
        """The layout is one the CS231n assignment covers (checked on a student's module)."""
        return not self.layout.extended

    def make(self, rng, dtype):
        """``(inputs, params)`` for ``check_layer``."""
        return self.spec.split(self.layout.make(rng, dtype))


def _label(spec, backward, layout, first):
    base = spec.name if backward == spec.backward else f"{spec.name} + {backward}"
    if first:
        return base
    return f"{base} [{_specs.describe(spec, layout.make(np.random.default_rng(0), np.float64))}]"


def all_entries() -> tuple:
    """Every check the toolkit's own run makes: each layer's first layout and its extended ones."""
    out = []
    for s in _specs.specs():
        for backward in s.backwards or (None,):
            for i, lay in enumerate(s.layouts):
                if i == 0 or lay.extended:
                    out.append(Entry(s, backward, lay, _label(s, backward, lay, i == 0)))
    return tuple(out)


def entries(only: str | None = None) -> list:
    """Entries whose label contains ``only`` (all of them if None)."""
    return [e for e in all_entries() if only is None or only in e.label]


def __getattr__(name):
    if name == "ENTRIES":  # read at call time, so a spec added to _gradcheck.specs.SPECS is seen
        return all_entries()
    raise AttributeError(name)


def resolve(entry: Entry, module=None):
    """Return ``(forward, backward)`` from ``module`` (default: the toolkit's), or None if absent."""
    fwd = _specs.resolve(entry.forward, entry.module, module)
    bwd = _specs.resolve(entry.backward, entry.module, module) if entry.backward else None
    if fwd is None or (entry.backward and bwd is None):
        return None
    return fwd, bwd


def registered_names() -> set:
    """Every forward and backward attribute name that has a specification."""
    return {s.forward for s in _specs.specs()} | {b for s in _specs.specs() for b in s.backwards}


def unregistered(module) -> list:
    """Public layer functions of ``module`` (``*_forward*``, ``*_backward*``, ``*_loss``) with no spec."""
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    public = [n for n in names if callable(getattr(module, n, None)) and _specs._layer_like(n)]
    known = registered_names()
    return sorted(n for n in public if n not in known)
