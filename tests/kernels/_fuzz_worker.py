"""Feed invalid arguments to the public kernels; run in a subprocess by test_kernel_fuzz.py.

Usage: ``python -m tests.kernels._fuzz_worker --seed S --random N --log PATH [--crash]``
from the repository root.

Every case calls one kernel of ``fast_layers.kernel_table`` (compiled ``im2col_cython`` and its
numpy twin) with one or more invalid arguments. The call must raise ``ValueError``, ``TypeError``
or ``MemoryError`` with a non-empty message; both implementations and the kernel's argument check
alone must raise the same type; and no "unraisable" exception (an out-of-bounds index caught
inside a nogil kernel of a bounds-checked build) may be reported. Anything else is recorded as a
failure. The case about to run is written to the log file first, so that if the process dies
(segfault, abort) the parent test can say which call killed it. The summary is one JSON object
on the last line of stdout.
"""

from __future__ import annotations

import argparse
import faulthandler
import inspect
import json
import sys

import numpy as np

from fast_layers.kernel_table import EXAMPLE, KERNELS, TWINS
from fast_layers.kernel_table import kernel as kernel_row

ALLOWED = (ValueError, TypeError, MemoryError)

# A valid call of each kernel (its example in the kernel table, on the table's EXAMPLE geometry:
# x (2, 3, 5, 5), a 3x3 window, pad 1, stride 1); every case replaces one or more of its arguments.
N, C, H, W, HH, WW = (getattr(EXAMPLE, a) for a in ("N", "C", "H", "W", "HH", "WW"))
H_OUT, W_OUT = EXAMPLE.out_size()
K = C * HH * WW


def _base_args(rng):
    """``(names, args)``: each kernel's (compiled name) positional parameter names and valid arguments."""
    names, base = {}, {}
    for k in KERNELS:
        args = k.example(rng, EXAMPLE)
        names[k.compiled] = list(inspect.signature(k.twin).parameters)[:len(args)]
        base[k.compiled] = args
    return names, base


def _bad_arrays(a):
    """Invalid replacements for an array argument of shape ``a.shape`` (4-D image, 2-D or 6-D cols)."""
    bad = [
        ("None", None), ("float", 3.0), ("str", "abc"), ("list", a.tolist()),
        ("tuple", tuple(a.reshape(-1)[:3])),
        ("complex", a.astype(np.complex128)), ("object", a.astype(object)),
        ("str dtype", a.astype(str)), ("bytes dtype", a.astype("S8")),
        ("datetime64", np.zeros(a.shape, dtype="datetime64[s]")),
        ("timedelta64", np.zeros(a.shape, dtype="timedelta64[s]")),
        ("longdouble", a.astype(np.longdouble)) if np.dtype(np.longdouble) != np.float64 else
        ("complex64", a.astype(np.complex64)),
        ("structured", np.zeros(a.shape, dtype=[("u", "f8"), ("v", "f8")])),
        ("0-d", np.array(1.0)), ("1-d", a.reshape(-1)),
        ("one axis less", a[0]), ("one axis more", a[None]),
    ]
    for ax in range(a.ndim):
        shape = list(a.shape)
        shape[ax] = 0
        bad.append((f"axis {ax} empty", np.zeros(shape)))
    return bad


def _bad_cols(a):
    """Invalid cols: everything in _bad_arrays plus shapes that do not match the geometry."""
    bad = _bad_arrays(a)
    for ax in range(a.ndim):
        for delta in (-1, 1):
            shape = list(a.shape)
            shape[ax] += delta
            bad.append((f"axis {ax} {delta:+d}", np.zeros(shape)))
    bad.append(("transposed", np.zeros(a.shape[::-1])))
    if a.ndim == 6:
        # Same size, N and C swapped: the layout error a caller is most likely to make.
        bad.append(("N and C swapped", np.zeros((a.shape[3], *a.shape[1:3], a.shape[0], *a.shape[4:]))))
    return bad


BAD_SIZES = [
    ("0", 0), ("-1", -1), ("-2**63", -(2**63)), ("1.5", 1.5), ("3.0", 3.0), ("np.float64(3)", np.float64(3.0)),
    ("nan", float("nan")), ("inf", float("inf")), ("-inf", float("-inf")), ("None", None), ("'3'", "3"),
    ("True", True), ("np.bool_", np.True_), ("(3,)", (3,)), ("(3, 3)", (3, 3)), ("3j", 3j),
    ("2**63", 2**63), ("2**64", 2**64), ("10**30", 10**30),
]

BAD_PAIRS = [
    ("-1", -1), ("(1, -1)", (1, -1)), ("(-1, 1)", (-1, 1)), ("(1, 2, 3)", (1, 2, 3)), ("()", ()),
    ("[1]", [1]), ("nan", float("nan")), ("inf", float("inf")), ("(nan, 1)", (float("nan"), 1)),
    ("'1'", "1"), ("None", None), ("1.5", 1.5), ("(1.5, 1)", (1.5, 1)), ("True", True),
    ("(True, 1)", (True, 1)), ("1j", 1j), ("{1: 1}", {1: 1}), ("array 2x1", np.ones((2, 1), dtype=int)),
    ("array float", np.array([1.0, 1.0])), ("-2**63", -(2**63)),
    # Beyond int32: would overflow C integers further down (OverflowError), must be a ValueError.
    ("2**31", 2**31), ("(1, 2**63)", (1, 2**63)), ("2**64", 2**64),
]
# Invalid only for stride and dilation, which must be >= 1 (pad may be 0).
BAD_POSITIVE_PAIRS = [("0", 0), ("(0, 1)", (0, 1)), ("(1, 0)", (1, 0)), ("np.int8(0)", np.int8(0))]
# Pads that make the output larger than any machine: must fail cleanly, never allocate.
BAD_HUGE_PADS = [("pad 2**62", 2**62), ("pad 2**63", 2**63), ("pad (1, 10**30)", (1, 10**30))]


def _bad_out(a, kernel):
    """Invalid caller-provided output buffers: the kernels write into them without bounds checks."""
    optional = ("im2col_6d_cython",)
    bad = [(label, v) for label, v in _bad_cols(a) if not (label == "None" and kernel in optional)]
    ro = a.copy()
    ro.flags.writeable = False
    bad += [
        ("float32 for float64 data", a.astype(np.float32)), ("int64", a.astype(np.int64)),
        ("float16", a.astype(np.float16)), ("read-only", ro),
        ("Fortran order", np.asfortranarray(np.zeros(a.shape))),
        ("negative strides", np.zeros(a.shape)[..., ::-1]),
        ("sliced", np.zeros(a.shape[:-1] + (2 * a.shape[-1],))[..., ::2]),
        ("zero strides", np.broadcast_to(np.zeros(a.shape[1:]), a.shape)),
        ("byte-swapped", np.zeros(a.shape, dtype=">f8")),
        ("list", a.tolist()),
    ]
    return bad


BAD_SHAPES = [
    ("None", None), ("list", [N, C, H, W]), ("3 axes", (N, C, H)), ("5 axes", (N, C, H, W, 1)),
    ("H 0", (N, C, 0, W)), ("W -1", (N, C, H, -1)), ("H 5.5", (N, C, 5.5, W)), ("H True", (N, C, True, W)),
    ("'abc'", "abc"), ("H 10**30 (dout for 5)", (N, C, 10**30, W)), ("H 6 (dout for 5)", (N, C, H + 1, W)),
    ("N 3 (dout for 2)", (N + 1, C, H, W)), ("H 2 (smaller than the window)", (N, C, 2, W)),
]


def _bad_values(kernel, name, value):
    if name == "x_shape":
        return BAD_SHAPES
    if name == "dout":
        return _bad_cols(value)
    if name in ("pool_height", "pool_width"):
        extra = [("larger than the input", H + 1)]
        if "backward" in kernel:
            extra.append(("2 (dout for 3)", 2))
        return BAD_SIZES + extra
    if name == "out":
        return _bad_out(value, kernel)
    if kernel == "col2im_6d_add_cython" and name == "cols":
        return _bad_cols(value) + [("float32 cols for float64 out", value.astype(np.float32))]
    if name == "x":
        return _bad_arrays(value)
    if name == "cols":
        out = _bad_cols(value)
        if kernel == "col2im_cython" or kernel == "col2im_6d_cython":
            out.append(("im2col-shaped cols for the other kernel",
                        np.zeros((C, HH, WW, N, H_OUT, W_OUT)) if kernel == "col2im_cython"
                        else np.zeros((K, H_OUT * W_OUT * N))))
        return out
    if name in ("padding", "pad"):
        if kernel in ("im2col_cython", "im2col_6d_cython"):
            return BAD_PAIRS + BAD_HUGE_PADS
        # For col2im the cols no longer match the geometry.
        return BAD_PAIRS + BAD_HUGE_PADS + [("pad 2 (cols for pad 1)", 2), ("pad (1, 0)", (1, 0))]
    if name in ("stride", "dilation"):
        forward_only = ("im2col_cython", "im2col_6d_cython", "max_pool_forward_cython", "avg_pool_forward_cython")
        extra = [] if kernel in forward_only else [(f"{name} 2 (cols for 1)", 2)]
        return BAD_PAIRS + BAD_POSITIVE_PAIRS + extra
    # One of the int sizes.
    extra = []
    if kernel in ("col2im_cython", "col2im_6d_cython"):
        extra = [(f"{name} + 1 (cols for {value})", value + 1)]
    if name in ("field_height", "field_width") and kernel in ("im2col_cython", "im2col_6d_cython"):
        extra = [("larger than the padded input", H + 3)]
    return BAD_SIZES + extra


def _geometry_dependent(label):
    """True for corruptions that are invalid only relative to the rest of the geometry."""
    return ("cols for" in label or "dout for" in label or "than the" in label or label in ("pad (1, 0)", "transposed", "N and C swapped")
            or (label.startswith("axis") and not label.endswith("empty")))


def _off_by_one_case(rng):
    """A valid random geometry with the cols (or out) array one element too short or long on one axis."""
    n, c = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    hh, ww = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    (sh, sw), (ph, pw), (dh, dw) = rng.integers(1, 4, 2), rng.integers(0, 3, 2), rng.integers(1, 3, 2)
    h = int(rng.integers(max(1, dh * (hh - 1) + 1 - 2 * ph), 9))
    w = int(rng.integers(max(1, dw * (ww - 1) + 1 - 2 * pw), 9))
    ho, wo = (h + 2 * ph - dh * (hh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (ww - 1) - 1) // sw + 1
    geo = ((int(ph), int(pw)), (int(sh), int(sw)), (int(dh), int(dw)))
    kernel = ("col2im_cython", "col2im_6d_cython", "im2col_6d_cython", "col2im_6d_add_cython")[rng.integers(4)]
    shape6 = [c, hh, ww, n, ho, wo]
    shape = {"col2im_cython": [c * hh * ww, ho * wo * n]}.get(kernel, shape6)
    ax = int(rng.integers(len(shape)))
    delta = int(rng.choice([-1, 1])) if shape[ax] > 1 else 1
    wrong = list(shape)
    wrong[ax] += delta
    bad = np.zeros(wrong)
    label = f"shape {tuple(wrong)} for {tuple(shape)}"
    if kernel == "col2im_cython":
        return kernel, [bad, n, c, h, w, hh, ww, *geo], f"{kernel}(cols={label})"
    if kernel == "col2im_6d_cython":
        return kernel, [bad, n, c, h, w, hh, ww, *geo], f"{kernel}(cols={label})"
    if kernel == "im2col_6d_cython":
        x = np.zeros((n, c, h, w))
        return kernel, [x, hh, ww, *geo, bad], f"{kernel}(out={label})"
    # col2im_6d_add: cols off by one against out; HH/WW come from cols, so only other axes count.
    if ax in (1, 2):
        wrong[ax] -= delta
        wrong[0] += 1
        bad = np.zeros(wrong)
        label = f"shape {tuple(wrong)} for {tuple(shape)}"
    return kernel, [bad, np.zeros((n, c, h, w)), *geo], f"{kernel}(cols={label})"


def _call_check(kernel, args):
    """The exception type the kernel's argument check (its row in the kernel table) raises, or None."""
    try:
        kernel_row(kernel).check(*args)
    except BaseException as exc:  # noqa: BLE001 - compared with what the kernel raised
        return type(exc).__name__
    return None


def _call(module, kernel, args):
    try:
        getattr(module, kernel)(*args)
    except ALLOWED as exc:
        return type(exc).__name__, str(exc)
    except BaseException as exc:  # noqa: BLE001 - the point is to catch everything else
        return type(exc).__name__, f"NOT ALLOWED: {exc!r}"
    return None, "returned normally"


def run(seed: int, n_random: int, log_path: str) -> dict:
    import im2col_cython as compiled

    rng = np.random.default_rng(seed)
    names, base = _base_args(rng)
    def make_case(kernel, corrupt, args=None):
        args = list(base[kernel] if args is None else args)
        for i, (_, _, bad) in corrupt.items():
            args[i] = bad
        desc = f"{kernel}(" + ", ".join(f"{name}={label}" for name, label, _ in corrupt.values()) + ")"
        return kernel, args, desc

    cases = []
    for kernel, arg_names in names.items():
        for i, name in enumerate(arg_names):
            for label, bad in _bad_values(kernel, name, base[kernel][i]):
                cases.append(make_case(kernel, {i: (name, label, bad)}))
    # Random combinations of two or three invalid arguments in one call.
    for _ in range(n_random):
        kernel = list(names)[rng.integers(len(names))]
        k = int(rng.integers(2, 4))
        picks = [int(i) for i in rng.choice(len(names[kernel]), size=k, replace=False)]
        if kernel == "col2im_6d_add_cython" and 0 in picks and 1 in picks:
            # cols and out may be resized consistently (out W+1 with cols WW+1 is a valid call).
            picks.remove(1)
        corrupt, geometric = {}, False
        for i in picks:
            options = _bad_values(kernel, names[kernel][i], base[kernel][i])
            if geometric:
                # Two geometry mismatches can cancel (N+1 with cols one image longer is valid).
                options = [o for o in options if not _geometry_dependent(o[0])]
            label, bad = options[rng.integers(len(options))]
            geometric = geometric or _geometry_dependent(label)
            corrupt[int(i)] = (names[kernel][i], label, bad)
        cases.append(make_case(kernel, corrupt))
    # Random valid geometries whose column / output arrays are off by one on one axis: the
    # shape checks must hold for every geometry, not only for the base one above.
    for _ in range(n_random):
        cases.append(_off_by_one_case(rng))
    failures, per_kernel = [], {k: 0 for k in names}
    # An out-of-bounds index inside a nogil kernel of a bounds-checked build cannot propagate
    # (the kernels are noexcept): Python reports it as "unraisable". Count those as failures.
    unraisable = []
    sys.unraisablehook = lambda info: unraisable.append(f"{info.exc_type.__name__}: {info.exc_value}")
    with open(log_path, "w") as log:
        for number, (kernel, args, desc) in enumerate(cases):
            desc = f"case {number}: {desc}"
            results = {}
            for mod_name, module in (("compiled", compiled), ("numpy", TWINS)):
                log.write(f"{desc} [{mod_name}]\n")
                log.flush()
                results[mod_name] = _call(module, kernel, args)
                if unraisable:
                    failures.append(f"{desc} [{mod_name}]: unraisable exception in the kernel: {unraisable}")
                    unraisable.clear()
                kind, msg = results[mod_name]
                if kind is None or msg.startswith("NOT ALLOWED") or not msg.strip():
                    failures.append(f"{desc} [{mod_name}]: {kind}: {msg[:300]}")
            if results["compiled"][0] != results["numpy"][0]:
                failures.append(f"{desc}: compiled raised {results['compiled'][0]} but the numpy twin "
                                f"raised {results['numpy'][0]}")
            checked = _call_check(kernel, args)
            if checked != results["compiled"][0]:
                failures.append(f"{desc}: compiled raised {results['compiled'][0]} but its argument check "
                                f"alone raised {checked}: the kernel must refuse a call in its check")
            per_kernel[kernel] += 1
        log.write("done\n")
    return {"cases": len(cases), "calls": 2 * len(cases), "per_kernel": per_kernel,
            "kernels": sorted(names), "failures": failures}


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random", type=int, default=150)
    parser.add_argument("--log", required=True)
    parser.add_argument("--crash", action="store_true",
                        help="die with SIGSEGV after logging a case (checks that the parent notices)")
    opts = parser.parse_args(argv)
    faulthandler.enable()
    if opts.crash:
        import ctypes

        with open(opts.log, "w") as log:
            log.write("case 0: deliberate crash\n")
        ctypes.string_at(0)
    summary = run(opts.seed, opts.random, opts.log)
    print(json.dumps(summary))
    # Non-zero on any failure, so the worker can also run on its own (e.g. a long CI fuzz).
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
