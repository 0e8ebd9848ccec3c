"""Argument checks of the recurrent layers (``layers/rnn.py`` and their fast twins), each message once.

Notation as in ``layers/rnn.py``: N batch, T time steps, D input features, H hidden features,
V vocabulary size, M output features; an LSTM's weights have 4H columns (gates i, f, o, g).
"""

from __future__ import annotations

import numpy as np

from .geometry import check_array, check_index_range, float_dtype, refuse_subclass

__all__ = [
    "check_cell", "check_sequence", "check_weights", "check_embedding", "check_words", "check_states",
    "check_prev_c", "check_dnext_c", "check_temporal_affine", "check_temporal_scores",
]


def check_cell(x, prev_h, Wx, Wh, b, gates):
    """Validate one step's arrays (x (N, D), prev_h (N, H), Wx (D, G), Wh (H, G), b (G,), G = gates*H)."""
    check_array(x, "x", 2, "(N, D)")
    check_array(prev_h, "prev_h", 2, "(N, H)")
    check_weights(x.shape[1], prev_h.shape[1], Wx, Wh, b, gates)
    if prev_h.shape[0] != x.shape[0]:
        raise ValueError(f"prev_h must have shape (N, H) with N = {x.shape[0]} rows like x (shape {x.shape}), "
                         f"got shape {prev_h.shape}")
    return x.shape[0], x.shape[1], prev_h.shape[1]


def check_sequence(x, h0, Wx, Wh, b, gates):
    """Validate a sequence's arrays (x (N, T, D), h0 (N, H) and the weights); return (N, T, D, H)."""
    check_array(x, "x", 3, "(N, T, D)")
    check_array(h0, "h0", 2, "(N, H)")
    N, T, D = x.shape
    if N < 1 or T < 1 or D < 1:
        raise ValueError(f"x must have at least one sequence, one time step and one feature, got shape {x.shape}")
    if h0.shape[0] != N:
        raise ValueError(f"h0 must have shape (N, H) with N = {N} rows like x (shape {x.shape}), got shape {h0.shape}")
    check_weights(D, h0.shape[1], Wx, Wh, b, gates)
    return N, T, D, h0.shape[1]


def check_weights(D, H, Wx, Wh, b, gates):
    """Check Wx (D, G), Wh (H, G) and b (G,) with G = gates * H (1 for a tanh RNN, 4 for an LSTM)."""
    check_array(Wx, "Wx", 2, "(D, H)" if gates == 1 else "(D, 4H)")
    check_array(Wh, "Wh", 2, "(H, H)" if gates == 1 else "(H, 4H)")
    check_array(b, "b", 1, "(H,)" if gates == 1 else "(4H,)")
    if H < 1:
        raise ValueError(f"the hidden state must have H >= 1 features, got H = {H}")
    G = gates * H
    width = "H" if gates == 1 else "4H"
    if Wx.shape != (D, G):
        raise ValueError(f"Wx must have shape (D, {width}) = ({D}, {G}) for inputs of D = {D} features and a hidden "
                         f"state of H = {H}, got shape {Wx.shape}")
    if Wh.shape != (H, G):
        raise ValueError(f"Wh must have shape (H, {width}) = ({H}, {G}) for a hidden state of H = {H}, "
                         f"got shape {Wh.shape}")
    if b.shape != (G,):
        raise ValueError(f"b must have shape ({width},) = ({G},) to match Wx shape {Wx.shape}, got shape {b.shape}")


def check_embedding(W):
    """Validate a word-vector matrix W (V, D), V and D >= 1; return (V, D)."""
    check_array(W, "W", 2, "(V, D) of word vectors")
    if W.shape[0] < 1 or W.shape[1] < 1:
        raise ValueError(f"W must hold at least one word vector of at least one dimension, got shape {W.shape}")
    return W.shape


def check_words(x, V):
    """Validate word indices: an integer array of any shape with every entry in [0, V)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a numpy ndarray of integer word indices, got {type(x).__name__}")
    refuse_subclass(x, "x")
    if x.dtype.kind not in "iu":
        raise TypeError(f"x must hold integer word indices, got dtype {x.dtype}")
    check_index_range(x, V, "x", "word indices", "V")


def check_states(a, shape, name):
    """Check that the cached array ``name`` (hidden states, cell states, gates) has ``shape``."""
    check_array(a, f"cache {name}", len(shape))
    if a.shape != shape:
        raise ValueError(f"cache {name} has shape {a.shape}, expected {shape}")


def check_prev_c(prev_c, shape):
    """Check that the LSTM's previous cell state has the shape of its previous hidden state."""
    check_array(prev_c, "prev_c", 2, "(N, H)")
    if prev_c.shape != shape:
        raise ValueError(f"prev_c must have the shape of prev_h, (N, H) = {shape}, got shape {prev_c.shape}")


def check_dnext_c(dnext_c, shape):
    """Check the upstream gradient of the LSTM step's cell state (shape of next_c)."""
    check_array(dnext_c, "dnext_c")
    if dnext_c.shape != shape:
        raise ValueError(f"dnext_c has shape {dnext_c.shape}, but next_c of lstm_step_forward has shape {shape}")


def check_temporal_affine(x, w, b):
    """Validate x (N, T, D), w (D, M), b (M,); return (N, T, D, M)."""
    check_array(x, "x", 3, "(N, T, D)")
    check_array(w, "w", 2, "(D, M)")
    check_array(b, "b", 1, "(M,)")
    N, T, D = x.shape
    if min(x.shape) < 1:
        raise ValueError(f"x must have at least one sequence, one time step and one feature, got shape {x.shape}")
    if w.shape[0] != D:
        raise ValueError(f"w must have shape (D, M) with D = {D} (x has shape {x.shape}), got shape {w.shape}")
    if b.shape != (w.shape[1],):
        raise ValueError(f"b must have shape (M,) = ({w.shape[1]},) to match w shape {w.shape}, got shape {b.shape}")
    return N, T, D, w.shape[1]


def check_temporal_scores(x, y, mask):
    """Validate the arguments of a temporal softmax; return (N, T, V) and the mask as 0/1 floats."""
    check_array(x, "x", 3, "(N, T, V) of scores")
    N, T, V = x.shape
    if min(x.shape) < 1:
        raise ValueError(f"x must have at least one sequence, one time step and one class, got shape {x.shape}")
    for name, a in (("y", y), ("mask", mask)):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{name} must be a numpy ndarray of shape (N, T), got {type(a).__name__}")
        refuse_subclass(a, name)
        if a.shape != (N, T):
            raise ValueError(f"{name} must have shape (N, T) = {(N, T)}, one entry per time step of x "
                             f"(shape {x.shape}), got shape {a.shape}")
    if y.dtype.kind not in "iu":
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    check_index_range(y, V, "y", "labels", "V")
    if mask.dtype.kind not in "biuf":
        raise TypeError(f"mask must be a boolean array (True where the step counts), got dtype {mask.dtype}")
    float_dtype(mask)  # refuses extended precision as for any other array
    if mask.dtype.kind != "b" and not np.all((mask == 0) | (mask == 1)):
        raise ValueError("mask must be boolean, or hold only 0 and 1; got values "
                         f"{np.unique(mask[(mask != 0) & (mask != 1)])[:5]}")
    return (N, T, V), mask.astype(float_dtype(x))
