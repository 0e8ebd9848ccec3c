"""``check_layer``: compare a layer's analytic gradients with float64 finite differences, and more.

Pass/fail rule (per element ``i`` of input ``k``; ``a`` analytic, ``n`` numeric)::

    rel_err_i = |a_i - n_i| / max(|a_i| + |n_i|, floor_i)        pass  iff  max_i rel_err_i <= rtol
    floor_i   = max(frac * G / s_k,  4 * noise_i / rtol,  atol / rtol)
    G         = max over the layer's inputs j of  s_j * max|n_j|,   s_j = rms(input j)
    noise_i   = eps64 * sum|f|/h  +  16 eps_layer * sum_k |contribution_k|

``rtol`` (``grad_rtol``) and ``frac`` (``grad_frac``) come from the tolerance table
(:mod:`_rules.tolerances`), by the dtype of the layer's inputs: 1e-6 for float64, 1e-3 for
float32, 1e-2 for float16, ``frac`` 1e-2 for all; ``eps_layer`` is that dtype's machine epsilon.

The numeric gradient is always computed in float64 (the inputs are cast before the forward is
re-run), so for a float32 layer the float32 analytic gradient is compared against a float64
reference; the looser rule only absorbs float32 rounding in the analytic side.

``floor`` keeps elements whose true gradient is ~0 from failing on noise: they are judged against
1 % of the layer's largest gradient, measured per *relative* change of each input (``s_j *
max|n_j|``) so that inputs of different scales are comparable and a structurally zero gradient
(a bias followed by batchnorm) is judged against the layer, not against its own rounding noise.
For float64 this still demands agreement to 1e-8 of that scale. ``frac`` also absorbs the
``O(h^2)`` truncation error of the central difference on strongly curved layers (batchnorm).
In directional mode the same rule applies to the scalar ``<g, v>``, with ``sum|g * v|`` in place
of ``max|n|``.

The check runs in phases that hand one :class:`_gradcheck.core.state.Run` from step to step::

    _prepare                   validate the arguments, pick the rule            -> Run
    analytic.probe             forward twice (determinism, seeding), backward twice, watching for mutation
    analytic.purity            whether backward repeats itself, and the dtypes it returns
    compare.compare            the numeric side (directional and/or full) against the analytic gradients
    phase.diagnose_failures    one line for each failing input, warnings for vacuous checks
    _report                    what the calls changed (even when a call failed), timing; the filled LayerCheck
"""
from __future__ import annotations

import inspect
import math
import numbers
import time

import numpy as np

from _rules.tolerances import tolerance

from _gradcheck.core.analytic import probe, purity
from _gradcheck.core.compare import compare
from _gradcheck.core.findings import Finding
from _gradcheck.core.result import LayerCheck
from _gradcheck.core.state import MUTABLE_KEYS, CheckInterrupted, LayerError, Rule, Run
from _gradcheck.diagnose.phase import diagnose_failures

__all__ = ["check_layer", "CheckInterrupted"]

MODES = ("full", "directional", "auto")


def check_layer(forward, backward, inputs, params=None, *, dout=None, mode="full", h=None,
                rtol=None, atol=None, seed=0, wrt=None, names=None, name=None,
                mutable=MUTABLE_KEYS, deterministic=None) -> LayerCheck:
    """Check a layer's backward against float64 finite differences of its forward, and more.

    Parameters
    ----------
    forward : callable
        ``forward(*inputs, *params) -> (out, cache)``. For a loss (``backward=None``):
        ``forward(*inputs, *params) -> (loss, grads)`` with ``grads`` an array or a tuple,
        e.g. ``softmax_loss(x, y) -> (loss, dx)``.
    backward : callable or None
        ``backward(dout, cache) -> grads``: a tuple in the order of the differentiable inputs,
        or one array (``relu_backward``). None for a loss.
    inputs : sequence of ndarray of float
        The arrays to differentiate with respect to (float16, float32 or float64, at least one
        element each; not modified: the checker works on copies).
    params : sequence, optional
        Trailing non-differentiable arguments (``conv_param``, labels ``y``, ``G``...). Given
        to every call as a fresh deep copy, so running statistics do not drift between probes.
    dout : ndarray, optional
        Upstream gradient; default a seeded standard-normal array (non-uniform, so that errors
        cannot cancel in the sum). Ignored for a loss (the loss is differentiated directly).
    mode : {'full', 'directional', 'auto'}
        ``'full'`` probes every element (2 forwards each) and locates the worst one.
        ``'directional'`` compares ``<dout, J v>`` (2 forwards per random direction ``v``) with
        ``<backward(dout), v>``; cheap but cannot point at an element. ``'auto'`` runs the
        directional check first and the full check on the inputs that fail, to localize.
    h : float, optional
        Finite-difference step (finite, > 0); default ``cbrt(eps) * max(1, max|x|)`` per input.
    rtol, atol : float, optional
        Override the dtype rule (see below): ``rtol`` finite and > 0, ``atol`` finite and >= 0.
    seed : int
        Seeds dout and the random directions (and a dropout dict lacking a seed).
    wrt : sequence of int or str, optional
        Which inputs ``backward`` returns gradients for, in its order (default: all of them).
    names : sequence of str, optional
        Input names for the report (default: the forward's parameter names).
    name : str, optional
        Layer name for the report (default: the forward's ``__name__``).
    mutable : tuple of str
        Dict keys in ``params`` that may legitimately change (batchnorm's running statistics).
    deterministic : bool, optional
        True when the layer is known not to draw random numbers: then different outputs for
        identical inputs fail the check. Otherwise such a layer is seeded if it has a
        dropout-style param dict, or reported "not checkable".

    Returns
    -------
    LayerCheck
        Per-input results (max relative error, worst index with both values, kinks excluded,
        diagnosis), problems found (mutation, non-deterministic backward), warnings (vacuous
        check, constant dout), ``report()`` and ``plot()``.

    Notes
    -----
    Pass/fail rule, for each element i with analytic ``a`` and numeric ``n``:
    ``|a - n| / max(|a| + |n|, floor) <= rtol`` with ``rtol = 1e-6`` for float64 layers,
    ``1e-3`` for float32 and ``1e-2`` for float16 layers (the table in ``_rules.tolerances``);
    ``floor = max(1e-2 * G / s, 4 * rounding_noise / rtol, atol / rtol)`` where ``G`` is the
    layer's largest gradient per relative change of an input and ``s`` the rms of this input
    (see the module docstring of ``_gradcheck.check``). Elements within ``h`` of a kink (one-sided
    differences disagree, and the analytic value equals one of them) are excluded and counted.
    The layer also fails if forward or backward mutate an input, a param (except ``mutable``
    keys), ``dout`` or anything in ``cache``, or if backward gives different results on
    identical calls. A random forward that cannot be seeded is "not checkable". Anything the
    layer raises (``exit()`` included) or a malformed return value makes the check an ERROR.
    """
    t0 = time.perf_counter()
    run = _prepare(forward, backward, inputs, params, dout=dout, mode=mode, h=h, rtol=rtol, atol=atol,
                   seed=seed, wrt=wrt, names=names, name=name, mutable=mutable, deterministic=deterministic)
    try:
        if probe(run):
            purity(run)
            compare(run)
            diagnose_failures(run)
    except LayerError as exc:
        run.check.error = Finding(str(exc), "error", exc.who or "forward")
    return _report(run, t0)



def _prepare(forward, backward, inputs, params, *, dout, mode, h, rtol, atol, seed, wrt, names, name,
             mutable, deterministic) -> Run:
    """Validate the arguments of :func:`check_layer` and build the :class:`Run`."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    inputs = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
    if not inputs:
        raise ValueError("inputs must hold at least one array to differentiate")
    for i, a in enumerate(inputs):
        if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
            raise TypeError(f"inputs[{i}] must be a floating ndarray, got "
                            f"{getattr(a, 'dtype', type(a).__name__)}")
    names = _names_for(forward, len(inputs), names)
    for nm, a in zip(names, inputs):
        if a.size == 0:
            raise ValueError(f"input '{nm}' is empty (shape {a.shape}): a gradient check needs at least one "
                             f"element in every input (a batch of N = 0 samples has nothing to check)")
    rule = _rule_for(np.result_type(*inputs), rtol, atol)
    if h is not None and not _finite_at_least(h, 0.0, strict=True):
        raise ValueError(f"h must be a finite number > 0, got {h!r}")
    wrt_idx = _wrt_indices(wrt, names)
    check = LayerCheck(name=name or getattr(forward, "__name__", "layer"), dtype=str(rule.dtype),
                       mode=mode, rtol=rule.rtol, rule=rule.text(), backward=str(getattr(backward, "__name__", "")))
    # A stream of its own: inputs are typically drawn from default_rng(seed), and a dout equal to
    # the inputs makes e.g. batchnorm's dx vanish (dout in the span of {1, xhat}).
    rng = np.random.default_rng([int(seed), 0x6C6179])
    return Run(forward=forward, backward=backward, inputs=inputs, params=[] if params is None else list(params),
                names=names, wrt=wrt_idx, rule=rule, check=check, rng=rng, dout=dout, h=h, seed=int(seed),
                mutable=tuple(mutable), deterministic=deterministic)


def _finite_at_least(v, low: float, strict: bool = False) -> bool:
    """True for a real number (not a str or bool) that is finite and >= low (> low if strict)."""
    if not isinstance(v, numbers.Real) or isinstance(v, bool):
        return False
    f = float(v)
    return math.isfinite(f) and (f > low if strict else f >= low)


def _rule_for(dtype, rtol, atol) -> Rule:
    """The tolerance-table row of the inputs' dtype, with ``rtol``/``atol`` overrides checked."""
    if rtol is not None and not _finite_at_least(rtol, 0.0, strict=True):
        raise ValueError(f"rtol must be a finite number > 0, got {rtol!r}")
    if atol is not None and not _finite_at_least(atol, 0.0):
        raise ValueError(f"atol must be a finite number >= 0, got {atol!r}")
    row = tolerance(dtype)
    return Rule(dtype=row.dtype, rtol=row.grad_rtol if rtol is None else float(rtol), frac=row.grad_frac,
                 atol=None if atol is None else float(atol))


def _names_for(forward, n_inputs, names):
    if names is not None:
        names = [str(s) for s in names]
        if len(names) != n_inputs:
            raise ValueError(f"names has {len(names)} entries but there are {n_inputs} inputs")
        return names
    try:
        params = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) >= n_inputs:
        return positional[:n_inputs]
    return [f"x{i}" for i in range(n_inputs)]


def _wrt_indices(wrt, names) -> list:
    if wrt is None:
        return list(range(len(names)))
    out = []
    for w in wrt:
        if isinstance(w, str):
            if w not in names:
                raise ValueError(f"wrt entry {w!r} is not an input name; the inputs are {names} "
                                 f"(or give their positions 0..{len(names) - 1})")
            out.append(names.index(w))
            continue
        try:
            idx = int(w)
        except (TypeError, ValueError):
            raise TypeError(f"wrt entries must be input names or positions, got {w!r}") from None
        if not 0 <= idx < len(names):
            raise ValueError(f"wrt entry {w!r} is not an input position; the inputs are {names} "
                             f"(positions 0..{len(names) - 1})")
        out.append(idx)
    return out



def _report(run: Run, t0: float) -> LayerCheck:
    run.check.problems[:0] = run.mutations
    run.check.seconds = time.perf_counter() - t0
    return run.check
