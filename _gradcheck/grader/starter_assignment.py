"""``--starter FILE --only NAMES`` for the rest of an assignment: update rules, kNN and model classes.

``--only sgd_momentum,adam`` (or ``optim``), ``--only KNearestNeighbor`` (or ``knn``), ``--only
FullyConnectedNet`` (or ``models`` for the three model classes), ``--only linear`` (``LinearSVM``,
``Softmax``) add the toolkit's signatures and
docstrings with bodies that raise ``NotImplementedError``; the grader reports each untouched one as
"not implemented yet". Without ``--only`` the starter holds the layers only (one file per course
module, as the course splits them).
"""

from __future__ import annotations

import inspect

import numpy as np

from _gradcheck.grader.assignment.optim import RULES  # a starter offers the rules the grader grades

__all__ = ["pick", "render", "function_source"]

CLASSES = {"KNearestNeighbor": ("classifiers.k_nearest_neighbor", ("train", "predict", "compute_distances_two_loops",
                                                                    "compute_distances_one_loop",
                                                                    "compute_distances_no_loops", "predict_labels")),
           "TwoLayerNet": ("classifiers.fc_net", ("__init__", "loss")),
           "FullyConnectedNet": ("classifiers.fc_net", ("__init__", "loss")),
           "ThreeLayerConvNet": ("classifiers.cnn", ("__init__", "loss")),
           "LinearSVM": ("classifiers.linear_classifier", ("train", "predict", "loss")),
           "Softmax": ("classifiers.linear_classifier", ("train", "predict", "loss"))}
GROUPS = {"optim": RULES, "knn": ("KNearestNeighbor",), "models": ("TwoLayerNet", "FullyConnectedNet",
                                                                    "ThreeLayerConvNet"),
          "linear": ("LinearSVM", "Softmax")}


def pick(only) -> list:
    """The update rules and classes ``only`` names (by name or group), in a fixed order."""
    if not only:
        return []
    wanted = set()
    for o in only:
        wanted |= set(GROUPS.get(o, ())) | ({o} if o in RULES or o in CLASSES else set())
    return [n for n in (*RULES, *CLASSES) if n in wanted]


def _default(v) -> str:
    if isinstance(v, type) and issubclass(v, np.generic):
        return f"np.{v.__name__}"
    return repr(v)


def _signature(fn) -> str:
    parts, star = [], False
    for p in inspect.signature(fn).parameters.values():
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        prefix = "*" if p.kind is p.VAR_POSITIONAL else "**" if p.kind is p.VAR_KEYWORD else ""
        parts.append(prefix + p.name + ("" if p.default is p.empty else f"={_default(p.default)}"))
    return "(" + ", ".join(parts) + ")"


def _doc(obj, indent: str) -> str:
    doc = (inspect.getdoc(obj) or "Write it.").replace('"""', "'''")
    prefix = "r" if "\\" in doc else ""
    body = "\n".join((indent + line) if line else "" for line in doc.splitlines())
    return f'{indent}{prefix}"""{body.lstrip()}\n{indent}"""\n'


def function_source(name, fn, indent="") -> str:
    """A stub of ``fn`` named ``name``: its signature and docstring, a body raising ``NotImplementedError``."""
    return f"{indent}def {name}{_signature(fn)}:\n{_doc(fn, indent + '    ')}{indent}    raise NotImplementedError\n"


def render(names, module_of) -> list:
    """Source parts for ``names``; ``module_of(name)`` imports a toolkit module from the toolkit's folder."""
    parts = []
    for name in names:
        if name in RULES:
            parts.append(function_source(name, getattr(module_of("optim"), name)))
            continue
        modname, methods = CLASSES[name]
        cls = getattr(module_of(modname), name)
        text = f"class {name}:\n{_doc(cls, '    ')}"
        for m in methods:
            text += "\n" + function_source(m, getattr(cls, m), indent="    ")
        parts.append(text)
    return parts
