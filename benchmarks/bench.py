"""Side-by-side speed and memory ratios of cnnkit's layers and of whole training iterations.

Every number that is compared is measured in the same run, interleaved round-robin (each round
calls every implementation once, in a rotated order) so that noise from other processes on the
machine lands on all of them alike; each entry is the median of its rounds after one warm-up call.
PyTorch's rounds follow the numpy rounds of the same case instead of being interleaved with them:
its OpenMP threads spin after each op and would slow whatever numpy call came next.

Run from the repository root::

    python benchmarks/bench.py                 # full run (a few minutes)
    python benchmarks/bench.py --quick         # cases A and C only, fewer rounds (< 1 minute)
    python benchmarks/bench.py --json out.json --baseline HEAD~3
    python benchmarks/bench.py --sections train --json new.json --compare old.json
    python benchmarks/bench.py --quick --results benchmarks/RESULTS.md   # append the report, dated

Sections (``--sections``, default all): ``conv`` (cases A-D below), ``memory`` (tracemalloc peaks),
``pool`` (max pool fast vs naive; ThreeLayerConvNet's ReLU + max pool, fused vs unfused), ``train``
(one training iteration of ThreeLayerConvNet and FullyConnectedNet, with and without batchnorm +
dropout, beside PyTorch's same model and with a per-layer breakdown; see ``benchmarks/_train.py``).
To compare with the previous commit, run it with ``--json`` there and pass that file to
``--compare`` here (``--baseline REF`` also times an old ``fast_layers/conv.py`` inside this very
run, for the conv cases).

Columns: ``fwd``, ``bwd`` and ``total`` are median milliseconds (``--stat min``: the fastest round;
the JSON keeps every round); ``/gemm`` divides a total by the bare numpy matrix products of the
same shapes (forward ``(F, K) @ (K, M)``, backward ``(F, M) @ (M, K)`` for dw and
``(K, F) @ (F, M)`` for the column gradient, K = C*HH*WW, M = N*H_out*W_out), the work no
im2col-style convolution can avoid; ``/torch`` divides by PyTorch's CPU ``conv2d``
forward+backward (only when torch is importable; it is never a dependency); ``/v0``
by the first strides implementation (``benchmarks/_v0_conv.py``). ``--baseline REF`` adds the
``fast_layers/conv.py`` of git revision REF, run against the current kernels.

Notation
--------
N : batch size; C : input channels; H, W : input size; F : filters; HH, WW : filter size
K : C*HH*WW, the rows of x_cols; M : N*H_out*W_out, its columns
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime
import glob
import importlib.util
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# The installed cnnkit when there is one; the checkout this script sits in otherwise.
if importlib.util.find_spec("fast_layers") is None:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _train  # noqa: E402
import fast_layers  # noqa: E402
from _v0_conv import conv_backward_v0, conv_forward_v0  # noqa: E402
from _rules.geometry import conv_geometry  # noqa: E402
from layers import conv_backward_naive, conv_forward_naive  # noqa: E402
from winograd import conv_backward_winograd, conv_forward_winograd, winograd_applies  # noqa: E402

# name: (x shape, w shape, stride, pad)
CASES = {
    "A": ((100, 3, 31, 31), (25, 3, 3, 3), 2, 1),  # the classic notebook case
    "B": ((64, 64, 32, 32), (64, 64, 3, 3), 1, 1),
    "C": ((32, 3, 32, 32), (32, 3, 5, 5), 1, 2),
    "D": ((16, 128, 16, 16), (256, 128, 3, 3), 2, 1),
}
POOL_CASES = {
    "2x2 s2": {"pool_height": 2, "pool_width": 2, "stride": 2},
    "3x3 s2": {"pool_height": 3, "pool_width": 3, "stride": 2},
}
POOL_X = (100, 3, 32, 32)
RELU_POOL_X = (50, 32, 32, 32)  # ThreeLayerConvNet's conv output: batch 50, 32 filters, 32x32
DTYPES = (np.float64, np.float32)

STAT_USED = ["median"]  # for the pool table's heading

TARGETS_DOC = [
    ("B float64 fast fwd+bwd <= 1.0x bare im2col GEMMs", "B_f64_gemm"),
    ("B float32 fast fwd+bwd <= 1.0x PyTorch CPU float32", "B_f32_torch"),
    ("A float64 strides fwd+bwd <= 2x bare GEMMs", "A_f64_gemm"),
    ("A naive/fast >= 1000x, forward and backward (float64)", "A_naive_float64"),
    ("A naive/fast >= 1000x, forward and backward (float32)", "A_naive_float32"),
    ("B float64 strides forward peak extra memory <= 1.05x x_cols", "B_f64_mem"),
    ("B float64 winograd fwd+bwd <= 1.0x bare im2col GEMMs", "B_f64_gemm_winograd"),
    ("B float32 winograd fwd+bwd <= 1.0x PyTorch CPU float32", "B_f32_torch_winograd"),
    ("ThreeLayerConvNet iteration float32 <= 1.0x PyTorch", "cnn_float32_torch"),
    ("ThreeLayerConvNet iteration float64 <= 1.0x PyTorch", "cnn_float64_torch"),
    ("FullyConnectedNet bn+dropout iteration float32 <= 1.0x PyTorch", "fcbn_float32_torch"),
    ("FullyConnectedNet bn+dropout iteration float64 <= 1.0x PyTorch", "fcbn_float64_torch"),
]
SECTIONS = ("conv", "memory", "pool", "train")
TARGET_MODELS = {"ThreeLayerConvNet": "cnn", "FC [100,100] bn+dropout": "fcbn"}


# ---------------------------------------------------------------------------------------------
# timing

STAT = {"median": statistics.median, "min": min}


def interleaved(fns, rounds, warmup=1):
    """Seconds of every call of each callable, called round-robin in a rotated order each round."""
    labels = list(fns)
    for label in labels:
        for _ in range(warmup):
            fns[label]()
    times = {label: [] for label in labels}
    for r in range(rounds):
        k = r % len(labels)
        for label in labels[k:] + labels[:k]:
            t0 = time.perf_counter()
            fns[label]()
            times[label].append(time.perf_counter() - t0)
    return times


def once(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# implementations under test

def load_baseline(ref):
    """Import git revision ``ref``'s fast_layers/conv.py as a module beside the current one."""
    try:
        src = subprocess.run(["git", "show", f"{ref}:fast_layers/conv.py"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"note: --baseline {ref}: cannot read fast_layers/conv.py from git ({exc}); skipped")
        return None
    path = Path(tempfile.mkdtemp(prefix="cnnkit_bench_")) / "baseline_conv.py"
    path.write_text(src)
    # A name inside the fast_layers package, so the file's relative imports see the current kernels.
    spec = importlib.util.spec_from_file_location("fast_layers._bench_baseline", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # a revision whose imports no longer exist
        print(f"note: --baseline {ref}: import failed ({exc}); skipped")
        return None
    return module.conv_forward_strides, module.conv_backward_strides


def conv_impls(baseline):
    impls = {
        # What users call: the layer that conv_forward_fast picks for the shape and dtype.
        "fast": (fast_layers.conv_forward_fast, fast_layers.conv_backward_fast),
        "strides": (fast_layers.conv_forward_strides, fast_layers.conv_backward_strides),
        "im2col": (fast_layers.conv_forward_im2col, fast_layers.conv_backward_im2col),
        "v0": (conv_forward_v0, conv_backward_v0),
        # the worked example in benchmarks/winograd.py; 3x3 stride-1 cases only (see applicable())
        "winograd": (conv_forward_winograd, conv_backward_winograd),
    }
    if baseline is not None:
        impls["baseline"] = baseline
    return impls


def torch_module():
    try:
        import torch
    except Exception:  # any import problem just means no torch column
        return None
    return torch


def inputs(case, dtype, seed=0):
    xs, ws, stride, pad = CASES[case]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    return x, w, b, {"stride": stride, "pad": pad}


def applicable(impls, case, dtype):
    """The implementations that compute this case (Winograd: 3x3 filters at stride 1 only)."""
    xs, ws, stride, pad = CASES[case]
    geom = conv_geometry(xs, ws, {"stride": stride, "pad": pad})
    return {name: pair for name, pair in impls.items() if name != "winograd" or winograd_applies(geom, dtype)}


def bench_conv_case(case, dtype, impls, torch, rounds, with_naive, stat):
    """Time every implementation of one case in one interleaved series; return a result dict."""
    impls = applicable(impls, case, dtype)
    x, w, b, cp = inputs(case, dtype)
    out, cache = fast_layers.conv_forward_strides(x, w, b, cp)
    dout = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    caches = {name: fwd(x, w, b, cp)[1] for name, (fwd, _) in impls.items()}
    fns = {}
    for name, (fwd, bwd) in impls.items():
        fns[f"{name} fwd"] = lambda fwd=fwd: fwd(x, w, b, cp)
        fns[f"{name} bwd"] = lambda bwd=bwd, c=caches[name]: bwd(dout, c)
    # Bare GEMMs on C-contiguous operands of the same shapes, numpy allocating the results.
    F = w.shape[0]
    w2 = np.ascontiguousarray(w.reshape(F, -1))
    cols = cache[4]
    g2 = np.ascontiguousarray(dout.transpose(1, 0, 2, 3).reshape(F, -1))
    fns["gemm fwd"] = lambda: w2 @ cols
    fns["gemm dw"] = lambda: g2 @ cols.T
    fns["gemm dcols"] = lambda: w2.T @ g2
    raw = interleaved(fns, rounds)
    if torch is not None:
        tx = torch.from_numpy(x).requires_grad_()
        tw = torch.from_numpy(w).requires_grad_()
        tb = torch.from_numpy(b).requires_grad_()
        td = torch.from_numpy(dout)

        def torch_fwd_bwd():
            tx.grad = tw.grad = tb.grad = None
            torch.nn.functional.conv2d(tx, tw, tb, stride=cp["stride"], padding=cp["pad"]).backward(td)

        def torch_fwd():
            with torch.no_grad():
                torch.nn.functional.conv2d(tx, tw, tb, stride=cp["stride"], padding=cp["pad"])

        # PyTorch runs its own OpenMP pool, whose idle threads spin after every op and would slow
        # whichever numpy call came next, so its rounds follow the numpy ones instead of being
        # interleaved with them (it is still the same run, seconds apart).
        raw.update(interleaved({"torch fwd": torch_fwd, "torch fwd+bwd": torch_fwd_bwd}, rounds))
    med = {label: STAT[stat](ts) for label, ts in raw.items()}
    res = {"case": case, "dtype": np.dtype(dtype).name, "x": list(x.shape), "w": list(w.shape), "impls": list(impls),
           "stride": cp["stride"], "pad": cp["pad"], "x_cols_bytes": int(cols.nbytes),
           "stat_s": med, "stat": stat, "rounds": rounds,
           "median_all_s": {k: statistics.median(v) for k, v in raw.items()},
           "min_all_s": {k: min(v) for k, v in raw.items()}, "times_s": raw}
    res["gemm_total_s"] = med["gemm fwd"] + med["gemm dw"] + med["gemm dcols"]
    if with_naive:
        # Seconds per call: one call each (the loops are ~1000x slower than everything else).
        _, ncache = conv_forward_naive(x, w, b, cp)
        res["naive_s"] = {"fwd": once(lambda: conv_forward_naive(x, w, b, cp)),
                          "bwd": once(lambda: conv_backward_naive(dout, ncache))}
    return res


def peak_memory(fn):
    """(peak, retained) bytes traced while ``fn`` runs, relative to the moment before the call."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        current, peak = tracemalloc.get_traced_memory()
        del result
    finally:
        tracemalloc.stop()
    return peak - base, current - base


def bench_memory(case, dtype, impls):
    x, w, b, cp = inputs(case, dtype)
    out = {}
    K = w[0].size
    for name in [n for n in ("fast", "strides", "v0", "winograd") if n in applicable(impls, case, dtype)]:
        fwd, bwd = impls[name]
        peak_f, kept_f = peak_memory(lambda: fwd(x, w, b, cp))
        res, cache = fwd(x, w, b, cp)
        dout = np.ones_like(res)
        x_cols_bytes = K * res.size // res.shape[1] * res.itemsize  # (K, N*H_out*W_out), whatever the cache holds
        del res
        peak_b, kept_b = peak_memory(lambda: bwd(dout, cache))
        out[name] = {"fwd_peak": peak_f, "fwd_retained": kept_f, "bwd_peak": peak_b, "bwd_retained": kept_b,
                     "x_cols_bytes": int(x_cols_bytes)}
        del cache
    return out


def bench_pool(dtype, rounds, stat):
    try:
        from fast_layers import max_pool_backward_fast, max_pool_forward_fast
        from layers import max_pool_backward_naive, max_pool_forward_naive
    except ImportError as exc:
        print(f"note: max pool not importable ({exc}); pool rows skipped")
        return None
    rows = {}
    x = np.random.default_rng(2).standard_normal(POOL_X).astype(dtype)
    for name, pp in POOL_CASES.items():
        out, cache = max_pool_forward_fast(x, pp)
        _, ncache = max_pool_forward_naive(x, pp)
        dout = np.random.default_rng(3).standard_normal(out.shape).astype(dtype)
        raw = interleaved({"fast fwd": lambda: max_pool_forward_fast(x, pp),
                           "fast bwd": lambda: max_pool_backward_fast(dout, cache)}, rounds)
        med = {label: STAT[stat](ts) for label, ts in raw.items()}
        naive = {"fwd": once(lambda: max_pool_forward_naive(x, pp)),
                 "bwd": once(lambda: max_pool_backward_naive(dout, ncache))}
        rows[name] = {"fast_s": {"fwd": med["fast fwd"], "bwd": med["fast bwd"]}, "naive_s": naive}
    return rows


def bench_relu_pool(dtype, rounds, stat):
    """ThreeLayerConvNet's ReLU + 2x2 max pool: the fused pair layer_utils runs vs the unfused chain."""
    from fast_layers import max_pool_backward_fast, max_pool_forward_fast
    from fast_layers.pool import relu_max_pool_backward, relu_max_pool_forward
    from layers import relu_backward, relu_forward

    a = np.random.default_rng(4).standard_normal(RELU_POOL_X).astype(dtype)
    pp = POOL_CASES["2x2 s2"]
    _, cache = relu_max_pool_forward(a, pp)
    r, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_fast(r, pp)
    dout = np.random.default_rng(5).standard_normal(out.shape).astype(dtype)
    raw = interleaved({
        "fused fwd": lambda: relu_max_pool_forward(a, pp),
        "fused bwd": lambda: relu_max_pool_backward(dout, cache),
        "unfused fwd": lambda: max_pool_forward_fast(relu_forward(a)[0], pp),
        "unfused bwd": lambda: relu_backward(max_pool_backward_fast(dout, pool_cache), relu_cache),
        "copy of x": lambda: a.copy(),
    }, rounds)
    return {label: STAT[stat](ts) for label, ts in raw.items()}


def bench_train(name, dtype, torch, rounds, stat):
    """Time one training iteration of a model, each of its layers alone, and PyTorch's same model."""
    model, X, y, stages = _train.build(name, dtype)
    fns = {"iteration": lambda: model.loss(X, y)}
    for i, (label, fn) in enumerate(stages):
        fns[f"{i:02d} {label}"] = fn
    res = {"model": name, "dtype": np.dtype(dtype).name, "rounds": rounds, "stat": stat}
    if torch is not None and torch.get_num_threads() == 1:
        # One PyTorch thread: no spinning OpenMP pool to slow the next numpy call, so its rounds
        # are interleaved with cnnkit's (the fairest comparison on a busy machine).
        fns["torch"] = _train.torch_iteration(torch, name, model, X, y)
    raw = interleaved(fns, rounds)
    if torch is not None and "torch" not in raw:
        iteration = _train.torch_iteration(torch, name, model, X, y)
        raw["torch"] = interleaved({"torch": iteration}, rounds)["torch"]
    if torch is not None:
        if _train.MODELS[name].get("keep", 1.0) == 1.0:
            mine = model.loss(X, y)[0]
            res["loss_rel_diff_vs_torch"] = abs(mine - _train.torch_loss(torch, name, model, X, y)) / abs(mine)
    med = {label: STAT[stat](ts) for label, ts in raw.items()}
    layers_s = {}
    for label, t in med.items():
        if label[:2].isdigit():
            layers_s[label[3:]] = layers_s.get(label[3:], 0.0) + t
    res.update({"iteration_s": med["iteration"], "torch_s": med.get("torch"), "layers_s": layers_s,
                "times_s": raw})
    return res


# ---------------------------------------------------------------------------------------------
# reporting

def environment(torch):
    env = {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(), "numpy": np.__version__, "cpus": os.cpu_count(),
        "machine": platform.machine(), "have_cython": fast_layers.HAVE_CYTHON,
        "torch": getattr(torch, "__version__", None),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "loadavg_start": os.getloadavg(), "tuning": fast_layers.tuning.current(),
    }
    try:
        env["git"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                    text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "fast_layers", "im2col_cython.pyx"],
                               cwd=ROOT, capture_output=True, text=True).stdout.strip()
        env["git_dirty_fast_layers"] = bool(dirty)
    except (OSError, subprocess.CalledProcessError):
        env["git"] = None
    env["blas"] = blas_info()
    return env


def blas_info():
    """Best effort: name and thread count of the OpenBLAS numpy loaded (read only, nothing set)."""
    pattern = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "*openblas*")
    for lib in glob.glob(pattern):
        try:
            dll = ctypes.CDLL(lib)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                try:
                    core = getattr(dll, f"{prefix}_get_corename{suffix}")
                    threads = getattr(dll, f"{prefix}_get_num_threads{suffix}")
                except AttributeError:
                    continue
                core.restype = ctypes.c_char_p
                return {"library": os.path.basename(lib), "core": core().decode(), "threads": threads()}
    return None


def ms(s):
    return f"{1e3 * s:9.2f}" if s is not None else f"{'-':>9}"


def ratio(a, b):
    return f"{a / b:7.2f}x" if a is not None and b else f"{'-':>8}"


def print_conv(res):
    med = res["stat_s"]
    gemm = res["gemm_total_s"]
    torch_t = med.get("torch fwd+bwd")
    v0 = med["v0 fwd"] + med["v0 bwd"]
    print(f"\n{res['case']} {res['dtype']}: x{tuple(res['x'])} w{tuple(res['w'])} stride {res['stride']} "
          f"pad {res['pad']}  ({res['stat']} of {res['rounds']} rounds)")
    print(f"  {'':16}{'fwd ms':>9}{'bwd ms':>9}{'total ms':>9} {'/gemm':>8} {'/torch':>8} {'/v0':>8}")
    for name in res["impls"]:
        f, b = med[f"{name} fwd"], med[f"{name} bwd"]
        print(f"  {name:16}{ms(f)}{ms(b)}{ms(f + b)} {ratio(f + b, gemm)} {ratio(f + b, torch_t)} "
              f"{ratio(f + b, v0)}")
    print(f"  {'bare GEMMs':16}{ms(med['gemm fwd'])}{ms(med['gemm dw'] + med['gemm dcols'])}{ms(gemm)} "
          f"{ratio(gemm, gemm)} {ratio(gemm, torch_t)} {ratio(gemm, v0)}"
          f"   (dw {1e3 * med['gemm dw']:.2f}, dcols {1e3 * med['gemm dcols']:.2f})")
    if torch_t is not None:
        tf = med["torch fwd"]
        print(f"  {'torch conv2d':16}{ms(tf)}{ms(torch_t - tf)}{ms(torch_t)} {ratio(torch_t, gemm)} "
              f"{ratio(torch_t, torch_t)} {ratio(torch_t, v0)}   (bwd = fwd+bwd minus no-grad fwd)")
    if "naive_s" in res:
        n = res["naive_s"]
        print(f"  {'naive (1 call)':16}{ms(n['fwd'])}{ms(n['bwd'])}{ms(n['fwd'] + n['bwd'])}   "
              f"naive/fast: fwd {n['fwd'] / med['fast fwd']:.0f}x, bwd {n['bwd'] / med['fast bwd']:.0f}x")


def print_memory(case, dtype, mem):
    print(f"\nmemory {case} {np.dtype(dtype).name} (tracemalloc, bytes / x_cols bytes; retained = outputs+cache):")
    for name, m in mem.items():
        xc = m["x_cols_bytes"]
        print(f"  {name:8} x_cols {xc / 2**20:8.1f} MiB | fwd peak {m['fwd_peak'] / xc:5.3f}x retained "
              f"{m['fwd_retained'] / xc:5.3f}x | bwd peak {m['bwd_peak'] / xc:5.3f}x retained "
              f"{m['bwd_retained'] / xc:5.3f}x")


def print_pool(dtype, rows):
    print(f"\nmax pool {np.dtype(dtype).name}, x{POOL_X} (fast: {STAT_USED[0]} of the rounds; naive: 1 call):")
    for name, r in rows.items():
        f, n = r["fast_s"], r["naive_s"]
        print(f"  {name:8} fast fwd {ms(f['fwd'])} bwd {ms(f['bwd'])} | naive fwd {ms(n['fwd'])} "
              f"bwd {ms(n['bwd'])} | speedup fwd {n['fwd'] / f['fwd']:6.0f}x bwd {n['bwd'] / f['bwd']:6.0f}x")


def print_relu_pool(dtype, r):
    print(f"\nReLU + 2x2 max pool {np.dtype(dtype).name}, x{RELU_POOL_X} ({STAT_USED[0]} of the rounds; ms): "
          f"fused fwd {ms(r['fused fwd'])} bwd {ms(r['fused bwd'])} | unfused fwd {ms(r['unfused fwd'])} "
          f"bwd {ms(r['unfused bwd'])} | one copy of x {ms(r['copy of x'])}")


def print_train(res):
    it, tt = res["iteration_s"], res["torch_s"]
    print(f"\n{res['model']} {res['dtype']}: one training iteration, loss + all gradients "
          f"({res['stat']} of {res['rounds']} rounds)")
    line = f"  cnnkit {ms(it)} ms"
    if tt is not None:
        line += f" | PyTorch {ms(tt)} ms | cnnkit/PyTorch {ratio(it, tt)}"
    if "loss_rel_diff_vs_torch" in res:
        line += f" | losses agree to {res['loss_rel_diff_vs_torch']:.1e}"
    print(line)
    total = sum(res["layers_s"].values())
    parts = sorted(res["layers_s"].items(), key=lambda kv: -kv[1])
    print("  per layer, called alone (ms, % of their sum " f"{1e3 * total:.2f} ms): "
          + ", ".join(f"{k} {1e3 * v:.2f} ({100 * v / total:.0f}%)" for k, v in parts))


def compare_with(previous_path, results, trains):
    """Print this run's conv and training times divided by those of an earlier run's JSON record."""
    try:
        prev = json.loads(Path(previous_path).read_text())
    except (OSError, ValueError) as exc:
        print(f"note: --compare {previous_path}: cannot read it ({exc}); skipped")
        return
    print(f"\nthis run / {previous_path} (git {prev.get('environment', {}).get('git')}, "
          f"load {prev.get('environment', {}).get('loadavg_start', ['?'])[0]}); < 1 is faster now:")
    old_conv = {(r["case"], r["dtype"]): r for r in prev.get("conv", [])}
    for r in results:
        o = old_conv.get((r["case"], r["dtype"]))
        if o:
            impl = "fast" if "fast fwd" in o["stat_s"] else "strides"  # records from before "fast" was timed
            now = r["stat_s"]["fast fwd"] + r["stat_s"]["fast bwd"]
            then = o["stat_s"][f"{impl} fwd"] + o["stat_s"][f"{impl} bwd"]
            print(f"  conv {r['case']} {r['dtype']:8} fast fwd+bwd {ratio(now, then)} (then: {impl})")
    old_train = {(r["model"], r["dtype"]): r for r in prev.get("train", [])}
    for r in trains:
        o = old_train.get((r["model"], r["dtype"]))
        if o:
            print(f"  {r['model']:24} {r['dtype']:8} iteration {ratio(r['iteration_s'], o['iteration_s'])}")


def targets(results, memory, trains=()):
    """Evaluate the targets (issues 5 and 13) from this run's numbers; absent where not run."""
    by = {(r["case"], r["dtype"]): r for r in results}
    out = {}

    def total(r, name):
        return r["stat_s"][f"{name} fwd"] + r["stat_s"][f"{name} bwd"]

    r = by.get(("B", "float64"))
    if r:
        v = total(r, "fast") / r["gemm_total_s"]
        out["B_f64_gemm"] = (v, v <= 1.0, f"{v:.2f}x")
    r = by.get(("B", "float32"))
    if r and "torch fwd+bwd" in r["stat_s"]:
        v = total(r, "fast") / r["stat_s"]["torch fwd+bwd"]
        out["B_f32_torch"] = (v, v <= 1.0, f"{v:.2f}x torch")
    r = by.get(("B", "float64"))
    if r and "winograd" in r["impls"]:
        v = total(r, "winograd") / r["gemm_total_s"]
        out["B_f64_gemm_winograd"] = (v, v <= 1.0, f"{v:.2f}x")
    r = by.get(("B", "float32"))
    if r and "winograd" in r["impls"] and "torch fwd+bwd" in r["stat_s"]:
        v = total(r, "winograd") / r["stat_s"]["torch fwd+bwd"]
        out["B_f32_torch_winograd"] = (v, v <= 1.0, f"{v:.2f}x torch")
    r = by.get(("A", "float64"))
    if r:
        v = total(r, "strides") / r["gemm_total_s"]
        out["A_f64_gemm"] = (v, v <= 2.0, f"{v:.2f}x")
    for dtype in ("float64", "float32"):
        r = by.get(("A", dtype))
        if r and "naive_s" in r:
            f = r["naive_s"]["fwd"] / r["stat_s"]["fast fwd"]
            b = r["naive_s"]["bwd"] / r["stat_s"]["fast bwd"]
            out[f"A_naive_{dtype}"] = (min(f, b), min(f, b) >= 1000, f"fwd {f:.0f}x, bwd {b:.0f}x")
    for r in trains:
        key = TARGET_MODELS.get(r["model"])
        if key and r["torch_s"]:
            v = r["iteration_s"] / r["torch_s"]
            out[f"{key}_{r['dtype']}_torch"] = (v, v <= 1.0, f"{v:.2f}x PyTorch")
    m = memory.get(("B", "float64"))
    if m:
        v = m["strides"]["fwd_peak"] / m["strides"]["x_cols_bytes"]
        out["B_f64_mem"] = (v, v <= 1.05, f"{v:.3f}x (floor with out separate: 1+F/K = 1.111x)")
    return out


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="cases A and C, fewer rounds (a minute or two)")
    ap.add_argument("--json", metavar="PATH", help="also write every number to this JSON file")
    ap.add_argument("--results", metavar="PATH",
                    help="append this run's report to PATH (benchmarks/RESULTS.md), headed by date, commit and machine")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds per case (default 9, quick 5)")
    ap.add_argument("--cases", default=None, help="comma-separated subset of " + ",".join(CASES))
    ap.add_argument("--sections", default=",".join(SECTIONS),
                    help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)")
    ap.add_argument("--baseline", metavar="REF", default=None,
                    help="also time fast_layers/conv.py of this git revision (e.g. HEAD~1)")
    ap.add_argument("--compare", metavar="JSON", default=None,
                    help="divide this run's conv and training times by those of an earlier --json record")
    ap.add_argument("--no-torch", action="store_true", help="leave PyTorch out even if importable")
    ap.add_argument("--threads", type=int, default=None,
                    help="run numpy's BLAS (fast_layers.tuning blas_threads) and PyTorch with this many threads")
    ap.add_argument("--malloc-keep", type=int, default=None, metavar="BYTES",
                    help="opt in to fast_layers.tuning malloc_keep_bytes (glibc keeps freed buffers warm)")
    ap.add_argument("--stat", choices=sorted(STAT), default="median",
                    help="statistic of the rounds used in the table and targets (JSON keeps both)")
    args = ap.parse_args(argv)
    # Bad values are usage errors (message + exit status 2), never a traceback.
    args.cases = args.cases.split(",") if args.cases else (["A", "C"] if args.quick else list(CASES))
    bad = [c for c in args.cases if c not in CASES]
    if bad:
        ap.error(f"--cases: unknown case(s) {','.join(bad)}; choose from {','.join(CASES)}")
    args.sections = args.sections.split(",")
    bad = [c for c in args.sections if c not in SECTIONS]
    if bad:
        ap.error(f"--sections: unknown section(s) {','.join(bad)}; choose from {','.join(SECTIONS)}")
    if args.malloc_keep is not None and args.malloc_keep < 0:
        ap.error(f"--malloc-keep must be a non-negative integer, got {args.malloc_keep}")
    if args.threads is not None and args.threads < 1:
        ap.error(f"--threads must be a positive integer, got {args.threads}")
    if args.rounds is not None and args.rounds < 1:
        ap.error(f"--rounds must be a positive integer, got {args.rounds}")
    args.rounds = args.rounds or (5 if args.quick else 9)
    return args


def run_sections(args, torch, impls):
    """Run and print the chosen sections; return (conv results, memory, pools, trains)."""
    results, memory, pools, trains = [], {}, {}, []
    if "conv" in args.sections:
        for case in args.cases:
            for dtype in DTYPES:
                res = bench_conv_case(case, dtype, impls, torch, args.rounds, with_naive=(case == "A"),
                                      stat=args.stat)
                results.append(res)
                print_conv(res)
    if "memory" in args.sections:
        for case in args.cases:
            for dtype in DTYPES:
                memory[(case, np.dtype(dtype).name)] = m = bench_memory(case, dtype, impls)
                print_memory(case, dtype, m)
    if "pool" in args.sections:
        for dtype in DTYPES:
            rows = bench_pool(dtype, args.rounds, args.stat)
            if rows is not None:
                pools[np.dtype(dtype).name] = rows
                print_pool(dtype, rows)
        for dtype in DTYPES:
            pools[f"relu+2x2 {np.dtype(dtype).name}"] = r = bench_relu_pool(dtype, args.rounds, args.stat)
            print_relu_pool(dtype, r)
    if "train" in args.sections:
        for name in _train.MODELS:
            for dtype in (np.float32, np.float64):
                trains.append(bench_train(name, dtype, torch, args.rounds, args.stat))
                print_train(trains[-1])
    return results, memory, pools, trains


class _Tee(io.TextIOBase):
    """Write to the terminal and keep a copy (the report --results appends)."""

    def __init__(self, terminal):
        self.terminal, self.copy = terminal, io.StringIO()

    def write(self, text):
        self.copy.write(text)
        return self.terminal.write(text)

    def flush(self):
        self.terminal.flush()


def append_results(path, env, argv, report):
    """Append one dated section to the results file: the commit, the machine, the command and the report."""
    head = (f"\n## {env['date_utc']} · git {env.get('git')}{' (fast_layers modified)' if env.get('git_dirty_fast_layers') else ''}"
            f" · {env['machine']}, {env['cpus']} CPUs, {env['blas']}\n\n"
            f"`python benchmarks/bench.py {' '.join(argv)}` (load average "
            f"{env['loadavg_start'][0]:.2f} -> {env['loadavg_end'][0]:.2f})\n\n")
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(head + "```text\n" + report.strip("\n") + "\n```\n")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        env = _run(args)
    if args.results:
        append_results(args.results, env, argv, tee.copy.getvalue())
        print(f"appended this run to {args.results}")


def _run(args):
    STAT_USED[0] = args.stat
    torch = None if args.no_torch else torch_module()
    if torch is None and not args.no_torch:
        print("note: torch not importable; no PyTorch column")
    if args.malloc_keep is not None:
        fast_layers.tuning.set(malloc_keep_bytes=args.malloc_keep)
    if args.threads is not None:
        fast_layers.tuning.set(blas_threads=args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    baseline = load_baseline(args.baseline) if args.baseline else None
    impls = conv_impls(baseline)
    env = environment(torch)
    print(f"cnnkit bench {env['date_utc']}  git {env.get('git')}  numpy {env['numpy']}  blas {env['blas']}  "
          f"torch {env['torch']} ({env['torch_threads']} threads)  cython {env['have_cython']}  "
          f"load average {' '.join(f'{v:.2f}' for v in env['loadavg_start'])}  tuning {fast_layers.tuning.current()}")

    results, memory, pools, trains = run_sections(args, torch, impls)
    env["loadavg_end"] = os.getloadavg()
    tg = targets(results, memory, trains)
    print(f"\ntargets ({args.stat}s of this run; load average {env['loadavg_start'][0]:.2f} -> {env['loadavg_end'][0]:.2f}):")
    for doc, key in TARGETS_DOC:
        if key in tg:
            _, ok, text = tg[key]
            print(f"  [{'met' if ok else 'NOT met'}] {doc}: {text}")
        else:
            print(f"  [not run] {doc}")
    if args.compare:
        compare_with(args.compare, results, trains)
    if args.json:
        payload = {"environment": env, "conv": results,
                   "memory": [{"case": c, "dtype": d, **m} for (c, d), m in memory.items()],
                   "max_pool": pools, "train": trains,
                   "targets": {k: {"value": v, "met": ok, "text": t} for k, (v, ok, t) in tg.items()}}
        Path(args.json).write_text(json.dumps(payload, indent=2, default=float))
        print(f"wrote {args.json}")
    return env


if __name__ == "__main__":
    main()
