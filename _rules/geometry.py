"""Geometry and input validation shared by every convolution and pooling implementation.

Every public layer function (naive, im2col, strides, and the Python side of the compiled
kernels) asks this module for the output size and for the normalized stride / pad /
dilation, so each rule and each error message exists exactly once.

Notation
--------
N : batch size
C : input channels
H, W : input height and width
F : number of filters
HH, WW : filter (or pooling window) height and width
H_out, W_out : output height and width
"""

from __future__ import annotations

import numbers
import sys
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ConvGeometry",
    "PoolGeometry",
    "conv_geometry",
    "check_conv_inputs",
    "pool_geometry",
    "pool_windows",
    "as_pair",
    "float_dtype",
    "check_array",
    "check_dout",
    "refuse_subclass",
    "scalar_value",
    "check_flag",
    "check_param_dict",
    "check_index_range",
    "kernel_geometry",
]

_FLOAT32, _FLOAT64 = np.dtype(np.float32), np.dtype(np.float64)
_SUPPORTED_FLOATS = (_FLOAT32, _FLOAT64)
# Upper bound on any stride / pad / dilation (int32 max).
_MAX_HYPERPARAM = 2**31 - 1


def scalar_value(value):
    """Return the element of a 0-d array (``np.array(1)`` -> ``np.int64(1)``); anything else unchanged.

    A 0-d array is how numpy often hands back "a number" (``x.sum()`` of an array of arrays,
    ``np.asarray(1)``, a value read from a saved ``.npz``), so every hyper-parameter that takes a
    Python number takes one too.
    """
    if type(value) is np.ndarray and value.ndim == 0:
        return value[()]
    return value


def _is_int(value) -> bool:
    # bool is an Integral in Python, but stride=True is almost certainly a mistake.
    value = scalar_value(value)
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_flag(value, name: str) -> bool:
    """Return ``value`` as a Python bool if it is one (``True``/``False``, ``np.bool_``, 0-d bool array).

    Flags such as ``input_grad`` take no truthy stand-ins: ``input_grad="no"`` or ``input_grad=0`` is
    more likely a misplaced argument than a request, so it is refused with a TypeError.
    """
    value = scalar_value(value)
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r} of type {type(value).__name__}")
    return bool(value)


def as_pair(value, name: str, minimum: int) -> tuple[int, int]:
    """Normalize an int or an ``(h, w)`` pair of ints to a pair, checking a lower bound.

    Parameters
    ----------
    value : int or sequence of two ints
        The user's value, e.g. ``conv_param['stride']``.
    name : str
        The key name, used in the error message.
    minimum : int
        Smallest allowed value (1 for stride and dilation, 0 for pad).

    Returns
    -------
    (int, int)
        The value for the height axis and for the width axis.
    """
    value = scalar_value(value)
    if _is_int(value):
        pair = (int(value), int(value))
    elif (isinstance(value, (tuple, list)) or type(value) is np.ndarray and value.ndim == 1) and len(value) == 2 \
            and all(_is_int(v) for v in value):
        pair = (int(scalar_value(value[0])), int(scalar_value(value[1])))
    else:
        kind = "a positive int" if minimum >= 1 else "a non-negative int"
        raise TypeError(f"{name} must be {kind} or a pair (h, w) of such ints, got {value!r}")
    if pair[0] < minimum or pair[1] < minimum:
        bound = f">= {minimum}"
        raise ValueError(f"{name} must be {bound} on both axes, got {value!r}")
    if pair[0] > _MAX_HYPERPARAM or pair[1] > _MAX_HYPERPARAM:
        # Larger values overflow the C integers of np.pad, as_strided strides and the kernels
        # (OverflowError deep inside a layer); no real image needs them.
        raise ValueError(f"{name} must be <= {_MAX_HYPERPARAM} on both axes, got {value!r}")
    return pair


def float_dtype(*dtypes) -> np.dtype:
    """Return the floating dtype a layer computes in for inputs of the given dtypes.

    float32 stays float32, float64 stays float64, mixed floats promote the numpy way, integer
    and bool inputs are promoted (an int bias with float64 images gives float64), and float16
    is computed in float32. Complex, object and extended-precision dtypes raise ``TypeError``.

    Parameters
    ----------
    *dtypes : dtype-like or ndarray
        The inputs' dtypes (arrays are accepted and their dtype is used).

    Returns
    -------
    numpy.dtype
        float32 or float64.
    """
    # Fast path for the common case, arrays that already share one supported float dtype: a
    # model's layers call this ~20 times per iteration and result_type costs ~4 us each time.
    # (Identity tests: numpy keeps one dtype object per native builtin type, and `==` is slower.)
    first = dtypes[0].dtype if dtypes and type(dtypes[0]) is np.ndarray else None
    if first is _FLOAT32 or first is _FLOAT64:
        for d in dtypes:
            if type(d) is not np.ndarray or d.dtype is not first:
                break
        else:
            return first
    resolved = []
    for d in dtypes:
        dt = d.dtype if isinstance(d, (np.ndarray, np.generic)) else np.dtype(d)
        if dt.kind not in "biuf":
            raise TypeError(
                f"expected real numeric arrays (float32, float64, int or bool), got dtype {dt}"
            )
        resolved.append(dt)
    # Promoting with float16 turns ints into a float without widening float32.
    out = np.result_type(*resolved, np.float16)
    if out == np.float16:
        out = np.dtype(np.float32)
    if out not in _SUPPORTED_FLOATS:
        raise TypeError(f"dtype {out} is not supported; use float32 or float64")
    return np.dtype(out)


def refuse_subclass(a, name: str) -> None:
    """Raise ``TypeError`` if ``a`` is an ndarray subclass whose arithmetic would silently change a layer.

    * ``np.matrix``: ``*`` is a matrix product and every reduction stays 2-D, so a layer would
      return wrong values or wrong shapes (dropout's mask multiplication, batchnorm's mean);
    * masked arrays: the layers would compute with the values hidden under the mask.

    Other subclasses (``np.memmap``, views of plain arrays) behave like ndarrays and pass.
    """
    if type(a) is np.ndarray:
        return
    if isinstance(a, np.matrix):
        raise TypeError(
            f"{name} is a numpy.matrix of shape {a.shape}; the layers take plain ndarrays (with a matrix, "
            f"* is a matrix product and reductions stay 2-D): pass np.asarray({_expr(name)}) instead"
        )
    # numpy imports numpy.ma lazily; until something has imported it no masked array exists,
    # and the layers should not pay for that import (~1 MB, a few ms) on their first call.
    ma = sys.modules.get("numpy.ma")
    if ma is not None and isinstance(a, ma.MaskedArray):
        raise TypeError(
            f"{name} is a masked array of shape {a.shape}; the layers would compute with the values hidden "
            f"under its mask: pass a plain ndarray, e.g. {_expr(name)}.filled(0) or np.asarray({_expr(name)})"
        )


def check_index_range(indices, size: int, name: str, kind: str, bound: str) -> None:
    """Raise ``ValueError`` naming the first entry of ``indices`` outside [0, size).

    The one range check of word indices and class labels (embeddings, captions, softmax losses).

    Parameters
    ----------
    indices : ndarray of int, any shape
        Already checked to hold integers.
    size : int
        The number of words or classes.
    name : str
        The array's name in the message, e.g. ``"y"``; the first bad entry is shown as ``y[i, j]``.
    kind : str
        What the entries are, e.g. ``"labels"``.
    bound : str
        The letter of ``size`` in the documentation, e.g. ``"V"`` or ``"C"``.
    """
    bad = (indices < 0) | (indices >= size)
    if bad.any():
        # argwhere walks in C order, so this is the first bad entry as the array is printed.
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{kind} must lie in [0, {bound}) = [0, {size}); {name}[{', '.join(map(str, where))}] = "
                         f"{int(indices[where])} is out of range")


def _expr(name: str) -> str:
    # "cache x" / "dout" / "bn_param['running_mean']": the last word is what the caller typed.
    return name.split()[-1]


def check_array(a, name: str, ndim: int | None = None, shape_doc: str | None = None) -> np.ndarray:
    """Check that ``a`` is a real numeric ndarray (optionally of a given ndim) and return it.

    Lists and other array-likes are refused with a ``TypeError``: silently converting them
    would hide a caller passing the wrong object; so are ``np.matrix`` and masked arrays
    (:func:`refuse_subclass`). The array is never copied or modified.
    """
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy ndarray, got {type(a).__name__}")
    refuse_subclass(a, name)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must have a real numeric dtype (float32/float64), got dtype {a.dtype}")
    if ndim is not None and a.ndim != ndim:
        doc = f" {shape_doc}" if shape_doc else ""
        raise ValueError(f"{name} must be {ndim}-D{doc}, got shape {a.shape}")
    return a


def check_dout(dout, expected_shape: tuple, what: str = "the forward output") -> np.ndarray:
    """Check that an upstream gradient has the shape of the forward output."""
    check_array(dout, "dout")
    if tuple(dout.shape) != tuple(expected_shape):
        raise ValueError(
            f"dout has shape {tuple(dout.shape)}, but {what} has shape {tuple(expected_shape)}"
        )
    return dout


def check_param_dict(param, name: str, required: tuple[str, ...]) -> None:
    """Check that a CS231n-style parameter dict is a dict holding the required keys."""
    if not isinstance(param, dict):
        raise TypeError(f"{name} must be a dict, got {type(param).__name__}")
    missing = [k for k in required if k not in param]
    if missing:
        raise ValueError(f"{name} is missing required key(s) {missing}; got keys {sorted(param)}")


@dataclass(frozen=True)
class ConvGeometry:
    """Validated shapes and hyper-parameters of one 2-D convolution.

    All fields are plain ints; ``stride``, ``pad`` and ``dilation`` are ``(h, w)`` pairs.
    """

    N: int
    C: int
    H: int
    W: int
    F: int
    HH: int
    WW: int
    stride: tuple[int, int]
    pad: tuple[int, int]
    dilation: tuple[int, int]
    H_out: int
    W_out: int

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        """Shape ``(N, F, H_out, W_out)`` of the convolution output."""
        return (self.N, self.F, self.H_out, self.W_out)

    @property
    def cols_shape(self) -> tuple[int, int]:
        """Shape ``(C*HH*WW, N*H_out*W_out)`` of the im2col matrix."""
        return (self.C * self.HH * self.WW, self.N * self.H_out * self.W_out)


def _output_size(size: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    # Floor semantics, as in PyTorch: trailing rows/columns that a window cannot reach are dropped.
    span = dilation * (kernel - 1) + 1
    return (size + 2 * pad - span) // stride + 1


def conv_geometry(x_shape, w_shape, conv_param) -> ConvGeometry:
    """Validate a convolution's shapes and ``conv_param`` and compute its output size.

    Parameters
    ----------
    x_shape : tuple of int, (N, C, H, W)
        Shape of the input images.
    w_shape : tuple of int, (F, C, HH, WW)
        Shape of the filters.
    conv_param : dict
        ``'stride'`` and ``'pad'`` (required, as in CS231n), ``'dilation'`` (optional, default 1);
        each an int or an ``(h, w)`` pair.

    Returns
    -------
    ConvGeometry

    Raises
    ------
    ValueError, TypeError
        With the offending value in the message.
    """
    x_shape = tuple(int(s) for s in x_shape)
    w_shape = tuple(int(s) for s in w_shape)
    if len(x_shape) != 4:
        raise ValueError(f"x must be 4-D (N, C, H, W), got shape {x_shape}")
    if len(w_shape) != 4:
        raise ValueError(f"w must be 4-D (F, C, HH, WW), got shape {w_shape}")
    if min(x_shape) < 1:
        raise ValueError(f"every dimension of x (N, C, H, W) must be >= 1, got shape {x_shape}")
    if min(w_shape) < 1:
        raise ValueError(f"every dimension of w (F, C, HH, WW) must be >= 1, got shape {w_shape}")
    N, C, H, W = x_shape
    F, Cw, HH, WW = w_shape
    if Cw != C:
        raise ValueError(
            f"channel mismatch: x has C={C} channels (shape {x_shape}) but w expects "
            f"{Cw} (shape {w_shape}); x.shape[1] must equal w.shape[1]"
        )
    check_param_dict(conv_param, "conv_param", ("stride", "pad"))
    stride = as_pair(conv_param["stride"], "conv_param['stride']", 1)
    pad = as_pair(conv_param["pad"], "conv_param['pad']", 0)
    dilation = as_pair(conv_param.get("dilation", 1), "conv_param['dilation']", 1)
    H_out = _output_size(H, HH, stride[0], pad[0], dilation[0])
    W_out = _output_size(W, WW, stride[1], pad[1], dilation[1])
    if H_out < 1 or W_out < 1:
        raise ValueError(
            f"the output would be empty: input {H}x{W} with pad {pad} is smaller than the "
            f"dilated {HH}x{WW} filter (dilation {dilation}); output size would be {H_out}x{W_out}"
        )
    return ConvGeometry(N, C, H, W, F, HH, WW, stride, pad, dilation, H_out, W_out)


def check_conv_inputs(x, w, b, conv_param, where: str = "") -> ConvGeometry:
    """Validate a convolution's x, w, b and ``conv_param``; return the geometry.

    Every convolution checks its forward arguments here, and its backward the same entries of
    its cache (``where="cache "`` puts that word before each name in the messages).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, HH, WW)
    b : ndarray, shape (F,)
    conv_param : dict
    where : str, optional
    """
    check_array(x, f"{where}x", 4, "(N, C, H, W)")
    check_array(w, f"{where}w", 4, "(F, C, HH, WW)")
    check_array(b, f"{where}b")
    geom = conv_geometry(x.shape, w.shape, conv_param)
    if b.shape != (geom.F,):
        raise ValueError(f"{where}b must have shape (F,) = ({geom.F},), one bias per filter, got shape {b.shape}")
    return geom


@dataclass(frozen=True)
class PoolGeometry:
    """Validated shapes and hyper-parameters of one 2-D pooling window sweep."""

    N: int
    C: int
    H: int
    W: int
    HH: int
    WW: int
    stride: tuple[int, int]
    H_out: int
    W_out: int

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        """Shape ``(N, C, H_out, W_out)`` of the pooling output."""
        return (self.N, self.C, self.H_out, self.W_out)

    @property
    def tiles(self) -> bool:
        """True when windows do not overlap and cover the input exactly (reshape fast path)."""
        return (
            self.stride == (self.HH, self.WW)
            and self.H == self.HH * self.H_out
            and self.W == self.WW * self.W_out
        )


def pool_geometry(x_shape, pool_param) -> PoolGeometry:
    """Validate a pooling layer's input shape and ``pool_param`` and compute its output size.

    Parameters
    ----------
    x_shape : tuple of int, (N, C, H, W)
    pool_param : dict
        ``'pool_height'``, ``'pool_width'`` and ``'stride'`` (int or ``(h, w)`` pair), as in CS231n.

    Returns
    -------
    PoolGeometry
    """
    x_shape = tuple(int(s) for s in x_shape)
    if len(x_shape) != 4:
        raise ValueError(f"x must be 4-D (N, C, H, W), got shape {x_shape}")
    if min(x_shape) < 1:
        raise ValueError(f"every dimension of x (N, C, H, W) must be >= 1, got shape {x_shape}")
    check_param_dict(pool_param, "pool_param", ("pool_height", "pool_width", "stride"))
    HH = scalar_value(pool_param["pool_height"])
    WW = scalar_value(pool_param["pool_width"])
    for key, v in (("pool_height", HH), ("pool_width", WW)):
        if not _is_int(v):
            raise TypeError(f"pool_param['{key}'] must be a positive int, got {v!r}")
        if v < 1:
            raise ValueError(f"pool_param['{key}'] must be >= 1, got {v!r}")
    HH, WW = int(HH), int(WW)
    stride = as_pair(pool_param["stride"], "pool_param['stride']", 1)
    N, C, H, W = x_shape
    if HH > H or WW > W:
        raise ValueError(
            f"the pooling window {HH}x{WW} is larger than the input {H}x{W} (x shape {x_shape})"
        )
    H_out = (H - HH) // stride[0] + 1
    W_out = (W - WW) // stride[1] + 1
    return PoolGeometry(N, C, H, W, HH, WW, stride, H_out, W_out)


def _as_size(value, name: str) -> int:
    value = scalar_value(value)
    if not _is_int(value):
        raise TypeError(f"{name} must be a positive int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    return int(value)


def kernel_geometry(N, C, H, W, HH, WW, padding, stride, dilation=1) -> ConvGeometry:
    """Validate the loose arguments of an im2col/col2im kernel call and return its geometry.

    The kernels take sizes as separate ints (the CS231n signatures); this checks each one and
    then applies exactly the same rules as :func:`conv_geometry`.
    """
    sizes = [
        _as_size(v, name)
        for v, name in ((N, "N"), (C, "C"), (H, "H"), (W, "W"), (HH, "field_height"), (WW, "field_width"))
    ]
    N, C, H, W, HH, WW = sizes
    # Checked here first so that errors name the kernel's own argument names.
    stride = as_pair(stride, "stride", 1)
    padding = as_pair(padding, "padding", 0)
    dilation = as_pair(dilation, "dilation", 1)
    return conv_geometry(
        (N, C, H, W), (1, C, HH, WW), {"stride": stride, "pad": padding, "dilation": dilation}
    )


def pool_windows(geom):
    """Yield ``(i, j, rows, cols)``: each output pixel of a pool and the slices of x its window covers.

    ``geom`` is a :class:`PoolGeometry`; the naive pools and the fast pools' numpy twins both loop over it.
    """
    sh, sw = geom.stride
    for i in range(geom.H_out):
        for j in range(geom.W_out):
            yield i, j, slice(i * sh, i * sh + geom.HH), slice(j * sw, j * sw + geom.WW)
