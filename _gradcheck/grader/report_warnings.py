"""The report's warning lines: each said once per layer, a layer's dtype warnings in one line.

A float32 layer checked in float64 used to print the same warning for its forward and for every
input and gradient (nine lines for one convolution). Here a layer's warnings about the dtype it
computes in become one line naming the outputs concerned, and any other warning text is printed
once per layer, with the first row that raised it.
"""

from __future__ import annotations

import re

__all__ = ["warning_lines"]

_GRAD_DTYPE = re.compile(r"^d(\w+) has dtype (\w+) but the layer computes in (\w+)$")
_FORWARD_DTYPE = re.compile(r"^forward returns (\w+) (?:for|even for) (\w+) inputs")


def warning_lines(rows) -> list:
    """``warning: ...`` lines for ``rows`` (report rows), in the order the layers appear."""
    lines, seen, dtype = [], set(), {}
    order = []
    for r in rows:
        layer = r["layer"]
        for w in r.get("warnings", []):
            g, f = _GRAD_DTYPE.match(w), _FORWARD_DTYPE.match(w)
            if g or f:
                info = dtype.setdefault(layer, {"grads": [], "have": None, "want": None, "at": len(lines)})
                if layer not in order:
                    order.append(layer)
                if g:
                    info["grads"].append(g.group(1))
                    info["have"], info["want"] = g.group(2), g.group(3)
                else:
                    info["forward"] = True
                    info["have"], info["want"] = f.group(1), f.group(2)
                continue
            if (layer, w) not in seen:
                seen.add((layer, w))
                lines.append(f"warning: {layer} {r['input']}: {w}")
    for layer in reversed(order):
        info = dtype[layer]
        outs = (["its forward output"] if info.get("forward") else []) + \
            [f"d{g}" for g in dict.fromkeys(info["grads"])]
        lines.insert(info["at"], f"warning: {layer}: computes in {info['have']} for {info['want']} inputs "
                                 f"({', '.join(outs)}): compared at the {info['have']} tolerance, the numeric "
                                 f"gradient taken in {info['have']} (larger step, less accurate)")
    return lines
