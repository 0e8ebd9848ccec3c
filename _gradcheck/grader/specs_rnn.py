"""The recurrent layers' specifications (``layers/rnn.py``, ``fast_layers/rnn.py``), appended to ``SPECS``.

Two of the course's recurrent layers do not have the ``out, cache = forward(*inputs, *params)`` /
``grads = backward(dout, cache)`` form every checker and test matrix expects:

* ``word_embedding_forward(x, W)`` takes its data (the word indices) before its one
  differentiable input;
* ``lstm_step_forward`` returns two outputs, ``(next_h, next_c, cache)``, and
  ``lstm_step_backward(dnext_h, dnext_c, cache)`` takes two upstream gradients.

:data:`ADAPTERS` maps each such function name to a wrapper that gives it the common form
(``W`` first; the two outputs stacked into one array of shape (2, N, H), and that array's gradient
split back into two). :func:`_gradcheck.grader.specs.resolve` applies it to whatever function it finds
under that name, the toolkit's or a student's, so the layouts below describe the wrapped calls.
A wrapper keeps the wrapped function's name, docstring, signature (``inspect.signature``
follows ``__wrapped__``, so ``--starter`` writes the course's signature) and code object (the
checker's "is this the toolkit's own function?" tests read ``__code__``).

``_gradcheck.grader.specs`` appends :func:`build_specs` to its ``SPECS``; this module imports nothing of
it at import time, so either may be imported first.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["build_specs", "ADAPTERS"]


# --- call-form adapters --------------------------------------------------------------------------

class _Adapted:
    """``fn`` called through ``convert(fn, *args)``, looking like ``fn`` to introspection."""

    def __init__(self, fn, convert):
        self.__wrapped__ = fn
        self._convert = convert
        self.__name__ = getattr(fn, "__name__", "layer")
        self.__qualname__ = getattr(fn, "__qualname__", self.__name__)
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__module__ = getattr(fn, "__module__", None)

    @property
    def __code__(self):
        return getattr(self.__wrapped__, "__code__", None)

    @property
    def borrowed(self):
        """What the grader's worker found about the wrapped function (the toolkit's own, imported?)."""
        return getattr(self.__wrapped__, "borrowed", None)

    @property
    def toolkit_file(self):
        return getattr(self.__wrapped__, "toolkit_file", None)

    def __call__(self, *args):
        return self._convert(self.__wrapped__, *args)

    def __repr__(self):
        return f"<{self.__name__} in the checker's call form>"


def _weights_first(fn, W, x):
    return fn(x, W)


def _stacked_outputs(fn, *args):
    res = fn(*args)
    if not isinstance(res, (tuple, list)) or len(res) != 3:
        got = type(res).__name__ + (f" of length {len(res)}" if isinstance(res, (tuple, list)) else "")
        raise TypeError(f"lstm_step_forward must return the triple (next_h, next_c, cache), got {got}")
    next_h, next_c, cache = res
    if not isinstance(next_h, np.ndarray) or not isinstance(next_c, np.ndarray) or next_h.shape != next_c.shape:
        raise TypeError(f"lstm_step_forward must return next_h and next_c as arrays of one shape (N, H), got "
                        f"{_what(next_h)} and {_what(next_c)}")
    return np.stack([next_h, next_c]), cache


def _split_dout(fn, dout, cache):
    if not isinstance(dout, np.ndarray):
        raise TypeError(f"dout must be a numpy ndarray (the gradients of next_h and next_c stacked, shape "
                        f"(2, N, H)), got {type(dout).__name__}")
    if dout.ndim != 3 or dout.shape[0] != 2:
        raise ValueError(f"dout must stack the gradients of next_h and next_c, shape (2, N, H), got shape "
                         f"{dout.shape}")
    return fn(dout[0], dout[1], cache)


def _what(v):
    return f"shape {v.shape}" if isinstance(v, np.ndarray) else type(v).__name__


def _adapter(convert):
    return lambda fn: _Adapted(fn, convert)


ADAPTERS = {
    "word_embedding_forward": _adapter(_weights_first),
    "word_embedding_forward_fast": _adapter(_weights_first),
    "lstm_step_forward": _adapter(_stacked_outputs),
    "lstm_step_backward": _adapter(_split_dout),
}


# --- input builders ------------------------------------------------------------------------------

def _f(rng, shape, dtype, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


def cell_args(N, D, H, gates, with_c=False):
    """(x, prev_h[, prev_c], Wx, Wh, b) of one step; weights scaled so the nonlinearities are not saturated."""
    def make(rng, dtype):
        G = gates * H
        state = [_f(rng, (N, H), dtype)] + ([_f(rng, (N, H), dtype)] if with_c else [])
        return [_f(rng, (N, D), dtype), *state, _f(rng, (D, G), dtype, 0.5 / np.sqrt(D)),
                _f(rng, (H, G), dtype, 0.5 / np.sqrt(H)), _f(rng, (G,), dtype, 0.3)]
    return make


def sequence_args(N, T, D, H, gates):
    """(x, h0, Wx, Wh, b) of a sequence layer."""
    def make(rng, dtype):
        G = gates * H
        return [_f(rng, (N, T, D), dtype), _f(rng, (N, H), dtype), _f(rng, (D, G), dtype, 0.5 / np.sqrt(D)),
                _f(rng, (H, G), dtype, 0.5 / np.sqrt(H)), _f(rng, (G,), dtype, 0.3)]
    return make


def embedding_args(V, D, N, T):
    """(W, x): N * T > V forces repeated words (the case ``dW[x] = dout`` gets wrong)."""
    def make(rng, dtype):
        return [_f(rng, (V, D), dtype), rng.integers(0, V, size=(N, T))]
    return make


def temporal_affine_args(N, T, D, M):
    def make(rng, dtype):
        return [_f(rng, (N, T, D), dtype), _f(rng, (D, M), dtype, 0.5), _f(rng, (M,), dtype)]
    return make


def padding_mask(lengths, T):
    """Caption-style mask: row n is True for its first ``lengths[n]`` steps, then padding."""
    return np.arange(T)[None, :] < np.asarray(lengths)[:, None]


def temporal_loss_args(N, T, V, mask="padding"):
    """(x, y, mask): mask 'padding' (varied lengths, one row fully padded when N > 2), 'random' or 'ones'."""
    def make(rng, dtype):
        if mask == "padding":
            lengths = [T - (n % (T + 1)) for n in range(N)]
            m = padding_mask(lengths, T)
        elif mask == "random":
            m = rng.random((N, T)) < 0.6
        else:
            m = np.ones((N, T), dtype=bool)
        return [_f(rng, (N, T, V), dtype), rng.integers(0, V, size=(N, T)), m]
    return make


def _layouts(Layout) -> dict:
    """Each recurrent family's layouts. Letters as in layers/rnn.py; N, T, D, H (and V, M) distinct
    where it matters, N = 1 and T = 1 covered."""
    return {
        "rnn_step": (
            Layout(cell_args(3, 4, 5, 1), api=True),
            Layout(cell_args(1, 3, 2, 1)),                      # N = 1
            Layout(cell_args(4, 2, 6, 1)),                      # H > D
            Layout(cell_args(2, 5, 1, 1)),                      # H = 1
        ),
        "rnn": (
            Layout(sequence_args(2, 3, 4, 5, 1), api=True),
            Layout(sequence_args(1, 4, 2, 3, 1)),               # N = 1
            Layout(sequence_args(3, 1, 3, 2, 1)),               # T = 1: no gradient through time
            Layout(sequence_args(2, 6, 3, 4, 1)),               # longer sequence
        ),
        "lstm_step": (
            Layout(cell_args(3, 4, 5, 4, with_c=True), api=True),
            Layout(cell_args(1, 3, 2, 4, with_c=True)),
            Layout(cell_args(4, 2, 3, 4, with_c=True)),
        ),
        "lstm": (
            Layout(sequence_args(2, 3, 4, 5, 4), api=True),
            Layout(sequence_args(1, 4, 2, 3, 4)),
            Layout(sequence_args(3, 1, 3, 2, 4)),               # T = 1
            Layout(sequence_args(2, 5, 3, 2, 4)),
        ),
        "word_embedding": (
            Layout(embedding_args(5, 3, 2, 4), api=True),      # 8 words from 5: repeats
            Layout(embedding_args(7, 2, 1, 3)),                # N = 1
            Layout(embedding_args(3, 4, 3, 5)),                # many repeats
            Layout(embedding_args(12, 3, 2, 2)),               # a vocabulary larger than the batch: unused rows
        ),
        "temporal_affine": (
            Layout(temporal_affine_args(2, 3, 4, 5), api=True),
            Layout(temporal_affine_args(1, 4, 3, 2)),
            Layout(temporal_affine_args(3, 1, 2, 6)),          # T = 1
        ),
        "temporal_softmax": (
            Layout(temporal_loss_args(4, 5, 6), api=True),     # padded captions, one row fully padded
            Layout(temporal_loss_args(3, 4, 5, "random")),
            Layout(temporal_loss_args(2, 3, 4, "ones")),
            Layout(temporal_loss_args(1, 6, 3)),                # N = 1, no padding
            Layout(temporal_loss_args(5, 2, 7, "random")),
        ),
    }


def _pair(LayerSpec, name, family, args, layouts, fast=False, loss=False):
    """The reference layer ``name`` (``rnn`` -> rnn_forward/rnn_backward) or its fast twin."""
    suffix = "_fast" if fast else ""
    forward = (name if loss else f"{name}_forward") + suffix
    backward = None if loss else f"{name}_backward{suffix}"
    reference = (name if loss else f"{name}_forward") if fast else None
    twin = (name if loss else f"{name}_forward") + ("" if fast else "_fast")
    compatible = () if loss or name.endswith("_step") else (twin,)
    return LayerSpec(forward, "fast_layers" if fast else "layers", family, forward, backward, args, layouts,
                     reference=reference, compatible_caches=compatible)


def build_specs():
    """The recurrent layers' ``LayerSpec`` tuple (called by ``_gradcheck.grader.specs`` once its classes exist)."""
    from _gradcheck.grader.specs import Layout, LayerSpec, data, inp

    lay = _layouts(Layout)
    step = (inp("x", 2), inp("prev_h", 2), inp("Wx", 2), inp("Wh", 2), inp("b", 1))
    lstm_step = (inp("x", 2), inp("prev_h", 2), inp("prev_c", 2), inp("Wx", 2), inp("Wh", 2), inp("b", 1))
    sequence = (inp("x", 3), inp("h0", 2), inp("Wx", 2), inp("Wh", 2), inp("b", 1))
    embedding = (inp("W", 2), data("x"))  # x of any shape: sample() embeds one word per caption, (N,)
    temporal_affine = (inp("x", 3), inp("w", 2), inp("b", 1))
    temporal_softmax = (inp("x", 3), data("y", 2), data("mask", 2))
    pair = functools.partial(_pair, LayerSpec)
    return (
        pair("rnn_step", "rnn_step", step, lay["rnn_step"]),
        pair("rnn", "rnn", sequence, lay["rnn"]),
        pair("rnn", "rnn", sequence, lay["rnn"], fast=True),
        pair("lstm_step", "lstm_step", lstm_step, lay["lstm_step"]),
        pair("lstm", "lstm", sequence, lay["lstm"]),
        pair("lstm", "lstm", sequence, lay["lstm"], fast=True),
        pair("word_embedding", "word_embedding", embedding, lay["word_embedding"]),
        pair("word_embedding", "word_embedding", embedding, lay["word_embedding"], fast=True),
        pair("temporal_affine", "temporal_affine", temporal_affine, lay["temporal_affine"]),
        pair("temporal_affine", "temporal_affine", temporal_affine, lay["temporal_affine"], fast=True),
        pair("temporal_softmax_loss", "temporal_softmax", temporal_softmax, lay["temporal_softmax"], loss=True),
        pair("temporal_softmax_loss", "temporal_softmax", temporal_softmax, lay["temporal_softmax"], loss=True,
             fast=True),
    )
