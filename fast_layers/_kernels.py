"""Choose the compiled kernels when they import, the numpy twins otherwise.

This is the one place that decides. It warns exactly once (at first import) when the fallback is
used, naming the reason and how to build the extension, so a missing build never surfaces later
as a confusing ``NameError`` inside a backward pass.
"""

from __future__ import annotations

import os
import warnings

from . import _kernels_numpy

__all__ = [
    "HAVE_CYTHON", "FALLBACK_REASON", "im2col", "col2im", "col2im_6d", "im2col_6d", "col2im_6d_add",
    "kernel_module", "max_pool_forward", "max_pool_backward", "avg_pool_forward", "avg_pool_backward",
]

HAVE_CYTHON = False
FALLBACK_REASON = ""

if os.environ.get("CNNKIT_DISABLE_CYTHON", "").strip() not in ("", "0"):
    FALLBACK_REASON = "disabled by CNNKIT_DISABLE_CYTHON"
    kernel_module = _kernels_numpy
else:
    try:
        import im2col_cython as kernel_module  # noqa: N813

        HAVE_CYTHON = True
    except ImportError as exc:
        FALLBACK_REASON = f"import failed: {exc}"
        kernel_module = _kernels_numpy

if not HAVE_CYTHON:
    warnings.warn(
        "cnnkit: using the pure-numpy kernels instead of the compiled im2col_cython extension "
        f"({FALLBACK_REASON}). Results are identical but slower. To build it, run "
        "`pip install -e .` from the cnnkit checkout (needs a C compiler).",
        RuntimeWarning,
        stacklevel=2,
    )

im2col = kernel_module.im2col_cython
col2im = kernel_module.col2im_cython
col2im_6d = kernel_module.col2im_6d_cython
im2col_6d = kernel_module.im2col_6d_cython
col2im_6d_add = kernel_module.col2im_6d_add_cython
max_pool_forward = kernel_module.max_pool_forward_cython
max_pool_backward = kernel_module.max_pool_backward_cython
avg_pool_forward = kernel_module.avg_pool_forward_cython
avg_pool_backward = kernel_module.avg_pool_backward_cython
