"""The report's warning lines: each said once per layer, a layer's dtype warnings in one line.

A float32 layer checked in float64 used to print the same warning for its forward and for every
input and gradient (nine lines for one convolution). Here a layer's warnings of kind ``dtype``
(:mod:`_gradcheck.core.findings`) become one line naming the outputs concerned, from their details,
and any other warning is printed once per layer, with the first row that raised it.
"""

from __future__ import annotations

from _gradcheck.core.findings import kind_of

__all__ = ["warning_lines"]


def warning_lines(rows) -> list:
    """``warning: ...`` lines for ``rows`` (report rows), in the order the layers appear."""
    lines, seen, dtype = [], set(), {}
    for r in rows:
        for w in r.warnings:
            if kind_of(w) == "dtype":
                info = dtype.setdefault(r.layer, {"outputs": [], "at": len(lines)})
                info["outputs"].append(w.details["output"])
                info["have"], info["want"] = w.details["have"], w.details["want"]
            elif (r.layer, w) not in seen:
                seen.add((r.layer, w))
                lines.append(f"warning: {r.layer} {r.input}: {w}")
    for layer, info in reversed(dtype.items()):
        outs = ["its forward output" if o == "forward" else o for o in dict.fromkeys(info["outputs"])]
        outs.sort(key=lambda o: o != "its forward output")
        lines.insert(info["at"], f"warning: {layer}: computes in {info['have']} for {info['want']} inputs "
                                 f"({', '.join(outs)}): compared at the {info['have']} tolerance, the numeric "
                                 f"gradient taken in {info['have']} (larger step, less accurate)")
    return lines
