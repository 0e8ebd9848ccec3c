"""Choose the compiled kernels when they import, the numpy twins otherwise.

This is the one place that decides. It exports every row of ``fast_layers.kernel_table`` under
the row's name (``im2col_6d``, ``max_pool_forward``, ...). It warns exactly once (at first
import) when the fallback is used, naming the reason and how to build the extension, so a
missing build never surfaces later as a confusing ``NameError`` inside a backward pass.
"""

from __future__ import annotations

import os
import warnings

from . import _kernels_numpy
from .kernel_table import KERNELS

__all__ = ["HAVE_CYTHON", "FALLBACK_REASON", "kernel_module"] + [k.name for k in KERNELS]

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

globals().update({k.name: k.of(kernel_module) for k in KERNELS})
