"""Side-by-side speed of the recurrent layers: fast twins (fast_layers/rnn.py) vs references (layers/rnn.py).

Each case times forward + backward of the reference and of the fast twin, interleaved round-robin
(every round calls each implementation once, in a rotated order, so that load from other processes
lands on both alike) and reports the median of the rounds after one warm-up call, the ratio
naive / fast, and the load average before and after. The word embedding's backward is also timed
with ``np.add.at`` (the course's hint), the obvious vectorized alternative to the sorted sum.

Run from the repository root::

    python benchmarks/bench_rnn.py             # captioning sizes (COCO: V = 1004, T = 16), ~1 minute
    python benchmarks/bench_rnn.py --quick     # smaller sizes, 3 rounds
    python benchmarks/bench_rnn.py --json out.json

Notation: N batch, T time steps, D input (word vector) dimension, H hidden dimension, V vocabulary.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# The installed cnnkit when there is one; the checkout this script sits in otherwise.
if importlib.util.find_spec("fast_layers") is None:
    sys.path.insert(0, str(ROOT))

import fast_layers as F  # noqa: E402
import layers as L  # noqa: E402


def _sequence(rng, N, T, D, H, gates, dtype):
    G = gates * H
    return [rng.standard_normal((N, T, D)).astype(dtype), rng.standard_normal((N, H)).astype(dtype),
            (rng.standard_normal((D, G)) / np.sqrt(D)).astype(dtype),
            (rng.standard_normal((H, G)) / np.sqrt(H)).astype(dtype), np.zeros(G, dtype)]


def _fwd_bwd(forward, backward, args):
    def run():
        out, cache = forward(*args)
        backward(np.ones_like(out), cache)
    return run


def _embedding_add_at(x, W):
    def run():
        out, _ = F.word_embedding_forward_fast(x, W)
        dW = np.zeros_like(W)
        np.add.at(dW, x, np.ones_like(out))
    return run


def cases(size, dtype):
    """``(name, shape text, {implementation: callable})`` for every layer."""
    rng = np.random.default_rng(0)
    N, T, D, H, V = size
    out = []
    for cell, gates in (("rnn", 1), ("lstm", 4)):
        args = _sequence(rng, N, T, D, H, gates, dtype)
        out.append((f"{cell} fwd+bwd", f"N={N} T={T} D={D} H={H}", {
            "naive": _fwd_bwd(getattr(L, f"{cell}_forward"), getattr(L, f"{cell}_backward"), args),
            "fast": _fwd_bwd(getattr(F, f"{cell}_forward_fast"), getattr(F, f"{cell}_backward_fast"), args)}))
    x, w, b = rng.standard_normal((N, T, H)).astype(dtype), rng.standard_normal((H, V)).astype(dtype), \
        np.zeros(V, dtype)
    out.append(("temporal_affine fwd+bwd", f"N={N} T={T} D={H} M={V}", {
        "naive": _fwd_bwd(L.temporal_affine_forward, L.temporal_affine_backward, (x, w, b)),
        "fast": _fwd_bwd(F.temporal_affine_forward_fast, F.temporal_affine_backward_fast, (x, w, b))}))
    scores, y = rng.standard_normal((N, T, V)).astype(dtype), rng.integers(0, V, size=(N, T))
    mask = rng.random((N, T)) < 0.8
    out.append(("temporal_softmax_loss", f"N={N} T={T} V={V}", {
        "naive": lambda: L.temporal_softmax_loss(scores, y, mask),
        "fast": lambda: F.temporal_softmax_loss_fast(scores, y, mask)}))
    words, W = rng.integers(0, V, size=(N, T)), rng.standard_normal((V, D)).astype(dtype)
    out.append(("word_embedding fwd+bwd", f"N={N} T={T} V={V} D={D}", {
        "naive": _fwd_bwd(L.word_embedding_forward, L.word_embedding_backward, (words, W)),
        "fast": _fwd_bwd(F.word_embedding_forward_fast, F.word_embedding_backward_fast, (words, W)),
        "np.add.at": _embedding_add_at(words, W)}))
    return out


def measure(impls, rounds):
    """Median seconds per implementation over ``rounds`` interleaved rounds (after one warm-up each)."""
    names = list(impls)
    for fn in impls.values():
        fn()
    times = {n: [] for n in names}
    for r in range(rounds):
        for n in names[r % len(names):] + names[:r % len(names)]:
            t0 = time.perf_counter()
            impls[n]()
            times[n].append(time.perf_counter() - t0)
    return {n: statistics.median(v) for n, v in times.items()}, times


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 3 rounds")
    parser.add_argument("--rounds", type=_positive, default=None, help="rounds per case (default 7, quick 3)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                        help="dtype of the inputs (default float32, the captioning model's)")
    parser.add_argument("--json", help="write every round's times to this file")
    args = parser.parse_args(argv)
    size = (10, 6, 32, 48, 100) if args.quick else (50, 16, 256, 512, 1004)
    rounds = args.rounds or (3 if args.quick else 7)
    load_before = os.getloadavg()
    print(f"recurrent layers, {args.dtype}, median of {rounds} interleaved rounds; numpy {np.__version__}, "
          f"{platform.machine()}, {os.cpu_count()} cpus; load average {load_before[0]:.2f}")
    print(f"{'layer':<26}{'shape':<28}{'naive ms':>10}{'fast ms':>10}{'naive/fast':>12}{'  other'}")
    report = {"dtype": args.dtype, "rounds": rounds, "size": size, "load_before": load_before, "cases": []}
    for name, shape, impls in cases(size, np.dtype(args.dtype)):
        med, every = measure(impls, rounds)
        other = "  ".join(f"{k} {v * 1e3:.2f} ms (/fast {v / med['fast']:.1f})" for k, v in med.items()
                          if k not in ("naive", "fast"))
        print(f"{name:<26}{shape:<28}{med['naive'] * 1e3:>10.2f}{med['fast'] * 1e3:>10.2f}"
              f"{med['naive'] / med['fast']:>12.1f}  {other}")
        report["cases"].append({"layer": name, "shape": shape, "median_s": med, "rounds_s": every})
    report["load_after"] = os.getloadavg()
    print(f"load average after: {report['load_after'][0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
