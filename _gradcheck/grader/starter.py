"""``python -m gradient_check --starter FILE [--only NAMES]``: a file of layers for a student to write.

For each selected layer specification (``_gradcheck.grader.specs``: the layers of the ``layers``
package, the ones the assignment asks for; ``--only`` picks families or function names), it has the forward and every
backward with the toolkit's signature and docstring (shapes of every array, what the cache must
hold) and a body that raises ``NotImplementedError``. Checking the untouched file reports every
layer as not implemented (exit status 1), never a traceback.
"""

from __future__ import annotations

from pathlib import Path

from _gradcheck.grader import specs as _specs
from _gradcheck.grader import starter_assignment as _extra

__all__ = ["select", "render", "write"]

_STUDENT_MODULE = "layers"  # the package whose layers the assignment has students write

HEADER = '''"""Layers to write: {names}.

Each function below has the signature and docstring of the toolkit's own version (the shape of
every array, what the cache must hold) and raises NotImplementedError until you write it.
Check your work at any time (the exit status is 0 only when every layer passes):

    python -m gradient_check --module {path}

(or ``cnnkit-check --module {path}`` inside a folder that has its own gradient_check.py).
Layers you have not written yet are reported as "not implemented yet".

Written by ``python -m gradient_check --starter {path}{only}``.
"""

import numpy as np
'''


def select(only=None) -> list:
    """The specifications to include: the ``layers`` ones named in ``only`` (default all of them).

    A name selects a layer when it is the layer's family (``relu``, ``batchnorm``, ``conv``) or one
    of its function names (``relu_forward``, ``batchnorm_backward_alt``).
    """
    candidates = [s for s in _specs.specs() if s.module == _STUDENT_MODULE]
    if only is None:
        return candidates
    chosen = [s for s in candidates if any(o == s.family or o in (s.forward,) + s.backwards for o in only)]
    if not chosen and not _extra.pick(only):  # hook: issue 20 (update rules, kNN, models)
        known = ", ".join(sorted({s.family for s in candidates}))
        raise LookupError(f"--only {','.join(only)!r} matches no layer to write; give layer families or "
                          f"function names, e.g. {known}")
    return chosen


def render(chosen, path: str, only=None) -> tuple:
    """Return ``(source text, function names)`` of a starter for the specifications ``chosen``."""
    names, parts = [], []
    for s in chosen:
        for name in (s.forward,) + s.backwards:
            if name in names:
                continue
            fn = _specs.resolve(name, s.module)
            if fn is None:
                raise LookupError(f"the toolkit has no {name} in {s.module} (its specification names it)")
            names.append(name)
            parts.append(_extra.function_source(name, fn))
    extra = _extra.pick(only)  # hook: issue 20
    if extra:
        from _gradcheck.grader.assignment.common import reference_module

        names += extra
        parts += _extra.render(extra, reference_module)
    only_txt = f" --only {','.join(only)}" if only else ""
    text = HEADER.format(names=", ".join([s.forward for s in chosen] + extra), path=path, only=only_txt)
    return text + "\n\n" + "\n\n".join(parts), names


def write(path, only=None) -> list:
    """Write the starter to ``path`` (which must not exist); return the function names written."""
    text, names = render(select(only), str(path), only)
    compile(text, str(path), "exec")  # a starter that does not even import would be worse than none
    with open(Path(path), "x", encoding="utf-8") as fh:
        fh.write(text)
    return names
