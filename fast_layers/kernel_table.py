"""The compiled kernels, one row each: the table the dispatch, the fuzzer and the kernel tests read.

A row names the kernel the layers call (``name``, also the name of its numpy twin in
``fast_layers._kernels_numpy``), its compiled function in ``im2col_cython`` (``compiled``, the
CS231n name), the argument check both run before any loop (``check``, from
``_rules.kernel_args``: it takes the kernel's positional arguments, and the fuzzer checks that
it alone refuses every bad call the kernel refuses), how to build a small valid call (``example``), whether it takes
``parallel=`` (its thread rule: the layers pass ``parallel=True`` only for data of at least
``tuning.PARALLEL_KERNEL_BYTES``), which of its arguments it writes into (``writes``), and its
memory budget (``budget``: the bytes of the array it returns, computed from its arguments before
it runs; a kernel that writes into an array it is given allocates nothing). The layers' own
budgets in ``fast_layers._budget`` count these outputs among their buffers.

Adding a kernel: write it in ``im2col_cython.pyx``, its twin in ``_kernels_numpy``, its check
in ``_rules.kernel_args``, and one row below; ``fast_layers._kernels`` exports it, and the
fuzzer, the thread-safety, no-mutation and budget tests pick it up.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Callable

import numpy as np

from _rules import kernel_args
from _rules.geometry import kernel_geometry

from . import _kernels_numpy

__all__ = ["Kernel", "KERNELS", "Example", "EXAMPLE", "TWINS", "kernel", "compiled_module"]


@dataclass(frozen=True)
class Example:
    """The geometry of an example call: images (N, C, H, W), a HH x WW window, pad, stride, dilation."""

    N: int = 2
    C: int = 3
    H: int = 5
    W: int = 5
    HH: int = 3
    WW: int = 3
    pad: object = 1
    stride: object = 1
    dilation: object = 1

    def out_size(self):
        """(H_out, W_out) of a convolution window of this geometry."""
        g = kernel_geometry(self.N, self.C, self.H, self.W, self.HH, self.WW, self.pad, self.stride,
                                        self.dilation)
        return g.H_out, g.W_out

    def pool_out_size(self):
        """(H_out, W_out) of a pooling window of this geometry (no padding, no dilation)."""
        g = kernel_args.pool_shape_args((self.N, self.C, self.H, self.W), self.HH, self.WW, self.stride)
        return g.H_out, g.W_out


# The fuzzer's base call: x (2, 3, 5, 5), a 3x3 window, pad 1, stride 1 (a 5x5 conv output, 3x3 pool output).
EXAMPLE = Example()


@dataclass(frozen=True)
class Kernel:
    """One compiled kernel and everything the toolkit and its tests need to know about it."""

    name: str
    compiled: str
    check: Callable
    example: Callable = None   # example(rng, Example) -> list of the positional arguments of a valid call
    threads: bool = False
    writes: tuple = ()
    budget: Callable = None    # budget(*args) -> bytes the compiled kernel allocates (what it returns)

    @property
    def twin(self):
        """The numpy twin (same signature, check and result)."""
        return getattr(_kernels_numpy, self.name)

    def of(self, module):
        """This kernel in ``module``: the compiled extension, ``_kernels_numpy`` or :data:`TWINS`."""
        if module is _kernels_numpy:
            return self.twin
        return getattr(module, self.compiled)


def _images(rng, e):
    return rng.standard_normal((e.N, e.C, e.H, e.W))


def _cols6(rng, e):
    return rng.standard_normal((e.C, e.HH, e.WW, e.N, *e.out_size()))


def _cols2(rng, e):
    H_out, W_out = e.out_size()
    return rng.standard_normal((e.C * e.HH * e.WW, H_out * W_out * e.N))


def _pooled(rng, e):
    return rng.standard_normal((e.N, e.C, *e.pool_out_size()))


def _sizes(e):
    return [e.N, e.C, e.H, e.W, e.HH, e.WW]


def _bytes(dtype_of, *shape):
    return int(np.prod(shape, dtype=np.int64)) * np.dtype(np.result_type(dtype_of, np.float32)).itemsize


def _cols_budget(x, HH, WW, pad, stride, dilation=1, *_):
    g = kernel_geometry(*x.shape, HH, WW, pad, stride, dilation)
    return _bytes(x, g.C * g.HH * g.WW, g.N * g.H_out * g.W_out)


def _image_budget(cols, N, C, H, W, *_):
    return _bytes(cols, N, C, H, W)


def _pooled_budget(x, HH, WW, stride):
    g = kernel_args.pool_shape_args(tuple(x.shape), HH, WW, stride)
    return _bytes(x, g.N, g.C, g.H_out, g.W_out)


def _nothing(*_):
    return 0


KERNELS = (
    Kernel("im2col", "im2col_cython", kernel_args.im2col_args,
           lambda rng, e: [_images(rng, e), e.HH, e.WW, e.pad, e.stride, e.dilation], budget=_cols_budget),
    Kernel("col2im", "col2im_cython", kernel_args.col2im_args,
           lambda rng, e: [_cols2(rng, e), *_sizes(e), e.pad, e.stride, e.dilation], budget=_image_budget),
    Kernel("col2im_6d", "col2im_6d_cython", kernel_args.col2im_6d_args,
           lambda rng, e: [_cols6(rng, e), *_sizes(e), e.pad, e.stride, e.dilation], budget=_image_budget),
    Kernel("im2col_6d", "im2col_6d_cython", kernel_args.im2col_6d_args,
           lambda rng, e: [_images(rng, e), e.HH, e.WW, e.pad, e.stride, e.dilation,
                           np.zeros((e.C, e.HH, e.WW, e.N, *e.out_size()))], threads=True, writes=(6,),
           budget=_nothing),
    Kernel("col2im_6d_add", "col2im_6d_add_cython", kernel_args.col2im_6d_add_args,
           lambda rng, e: [_cols6(rng, e), np.zeros((e.N, e.C, e.H, e.W)), e.pad, e.stride, e.dilation],
           threads=True, writes=(1,), budget=_nothing),
    Kernel("max_pool_forward", "max_pool_forward_cython", kernel_args.pool_args,
           lambda rng, e: [_images(rng, e), e.HH, e.WW, e.stride], threads=True, budget=_pooled_budget),
    Kernel("max_pool_backward", "max_pool_backward_cython", kernel_args.max_pool_backward_args,
           lambda rng, e: [_images(rng, e), _pooled(rng, e), e.HH, e.WW, e.stride], threads=True,
           budget=lambda x, dout, *_: _bytes(np.result_type(x, dout), *x.shape)),
    Kernel("avg_pool_forward", "avg_pool_forward_cython", kernel_args.pool_args,
           lambda rng, e: [_images(rng, e), e.HH, e.WW, e.stride], threads=True, budget=_pooled_budget),
    Kernel("avg_pool_backward", "avg_pool_backward_cython", kernel_args.avg_pool_backward_args,
           lambda rng, e: [_pooled(rng, e), (e.N, e.C, e.H, e.W), e.HH, e.WW, e.stride], threads=True,
           budget=lambda dout, x_shape, *_: _bytes(dout, *x_shape)),
)

# The numpy twins under their compiled names: one test body runs against either implementation.
TWINS = types.SimpleNamespace(**{k.compiled: k.twin for k in KERNELS}, __name__="numpy twins")


def kernel(name: str) -> Kernel:
    """The row named ``name`` (the dispatch name, e.g. ``'im2col_6d'``, or the compiled one)."""
    for k in KERNELS:
        if name in (k.name, k.compiled):
            return k
    raise LookupError(f"no kernel named {name!r} in fast_layers.kernel_table.KERNELS")


def compiled_module():
    """The compiled extension ``im2col_cython``, or None when it is not built."""
    try:
        import im2col_cython
    except ImportError:
        return None
    return im2col_cython
