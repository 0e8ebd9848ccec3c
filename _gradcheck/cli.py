"""``python -m gradient_check``: check every layer the toolkit ships, or a student's module.

Exit status: 0 when every check passes (or is "not checkable": a random layer without a seed is
not wrong), 1 when any check fails or a layer raises, 2 for usage errors (bad option, module not
found, no toolkit-named function in the module).
"""

from __future__ import annotations

import argparse
import copy
import importlib
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from . import registry
from _rules.tolerances import TOLERANCES, tolerance

from .check import check_layer
from .result import ERROR, FAIL, NOT_CHECKABLE, PASS

__all__ = ["main", "build_parser", "run"]

JSON_SCHEMA = "cnnkit.gradient_check/1"

DESCRIPTION = """\
Check the analytic gradients of every layer in cnnkit (naive and fast) against float64 central
differences on small seeded inputs, and print one row per (layer, input). Besides the numbers, each
check fails a layer that mutates its inputs, dout or cache, or whose backward is not deterministic,
and explains a wrong gradient in one line (a 1/N factor, a sign, a flipped kernel, padding, ...).

With --module, check a student's functions that use the toolkit's names (conv_forward_naive /
conv_backward_naive, affine_forward / affine_backward, max_pool_forward_naive, relu_*,
batchnorm_*, ...): their gradients, and their forward output against the toolkit's."""

EPILOG = """\
pass rule: float64 layers max rel err <= 1e-6, float32 layers <= 1e-3 (numeric side always float64);
rel err = |a-n| / max(|a|+|n|, floor), floor = 1e-2 x the layer's largest gradient (per relative
change of an input) or the rounding-noise bound. Elements within h of a kink are excluded (counted, *).
exit status: 0 all passed ("not checkable" is not a failure), 1 something failed or raised,
2 usage error.
examples:
  python -m gradient_check
  python -m gradient_check --only pool --dtype float32
  python -m gradient_check --module my_layers.py --json grades.json --plot failures/"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gradient_check", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", metavar="NAME", help="check only layers whose name contains NAME (substring)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float64",
                   help="dtype of the layer inputs (default float64)")
    p.add_argument("--seed", type=int, default=0, help="seed for inputs, dout and directions (default 0)")
    p.add_argument("--mode", choices=("full", "directional", "auto"), default="full",
                   help="full: every element; directional: random directions; auto: directional, "
                        "then full on failure (default full)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    p.add_argument("--plot", metavar="DIR", help="write a PNG per failing check into DIR")
    p.add_argument("--module", metavar="PATH_OR_NAME",
                   help="check the functions of this module (a .py file or an importable name)")
    p.add_argument("--no-progress", action="store_true", help="never show progress on stderr")
    return p


class _UsageError(Exception):
    pass


def load_module(spec: str):
    """Import a module from a file path or a dotted name."""
    path = Path(spec)
    if spec.endswith(".py") or path.exists():
        if not path.is_file():
            raise _UsageError(f"--module: no such file {spec!r}")
        name = "student_" + "".join(c if c.isalnum() else "_" for c in path.stem)
        mod_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(mod_spec)
        sys.path.insert(0, str(path.resolve().parent))
        try:
            mod_spec.loader.exec_module(module)
        except Exception as exc:
            raise _UsageError(f"--module: importing {spec} raised {type(exc).__name__}: {exc}") from exc
        finally:
            sys.path.pop(0)
        return module
    try:
        return importlib.import_module(spec)
    except Exception as exc:
        raise _UsageError(f"--module: cannot import {spec!r}: {type(exc).__name__}: {exc}") from exc


def _progress(items, enabled):
    if not enabled:
        yield from items
        return
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        yield from tqdm(items, desc="gradient check", unit="layer", file=sys.stderr, leave=False)
        return
    n = len(items)
    for k, item in enumerate(items, 1):
        sys.stderr.write(f"\r[{k}/{n}] checking...")
        sys.stderr.flush()
        yield item
    sys.stderr.write("\r" + " " * 30 + "\r")


def _forward_vs_reference(entry, student_fwd, ref_fwd, dtype, seed):
    """Compare a student's forward output with the toolkit's on the same inputs; return a row."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    inputs, params = entry.make(rng, np.dtype(dtype))
    row = {"layer": entry.label, "input": "(forward)", "kind": "forward", "worst_index": None,
           "analytic": None, "numeric": None, "kinks_excluded": 0, "warnings": [], "diagnosis": ""}
    try:
        ref = np.asarray(ref_fwd(*[a.copy() for a in inputs], *copy.deepcopy(params))[0], dtype=np.float64)
    except Exception as exc:  # the toolkit's reference should never fail on its own inputs
        row.update(status=ERROR, max_rel_error=None, diagnosis=f"reference raised {exc}")
        return row
    try:
        res = student_fwd(*[a.copy() for a in inputs], *copy.deepcopy(params))
        if res is None or (isinstance(res, tuple) and res[0] is None):
            raise ValueError("forward returned None (not implemented yet?)")
        got = np.asarray(res[0] if isinstance(res, (tuple, list)) else res, dtype=np.float64)
    except Exception as exc:
        row.update(status=ERROR, max_rel_error=None, diagnosis=f"forward raised {type(exc).__name__}: {exc}",
                   time_s=time.perf_counter() - t0)
        return row
    rule = tolerance(dtype)
    if got.shape != ref.shape:
        row.update(status=FAIL, max_rel_error=None,
                   diagnosis=f"forward output has shape {got.shape}, the toolkit's has {ref.shape}")
    else:
        floor = max(rule.grad_frac * float(np.max(np.abs(ref))) if ref.size else 0.0, 1e-300)
        err = np.abs(got - ref) / np.maximum(np.abs(got) + np.abs(ref), floor)
        w = int(np.argmax(err)) if err.size else 0
        e = float(err.flat[w]) if err.size else 0.0
        ok = e <= rule.grad_rtol and np.all(np.isfinite(got))
        row.update(status=PASS if ok else FAIL, max_rel_error=e,
                   worst_index=[int(i) for i in np.unravel_index(w, ref.shape)] if ref.ndim else [],
                   analytic=float(got.flat[w]) if got.size else None,
                   numeric=float(ref.flat[w]) if ref.size else None)
        if not ok:
            row["diagnosis"] = ("forward output differs from the toolkit's reference (the 'analytic' value "
                                "is yours, the 'numeric' one the reference's)")
    row["time_s"] = time.perf_counter() - t0
    return row


def _rows_for(check, label):
    rows = []
    base = {"layer": label, "kind": "gradient"}
    if check.error or check.not_checkable:
        rows.append(dict(base, input="(layer)", status=check.status, max_rel_error=None, worst_index=None,
                         analytic=None, numeric=None, kinks_excluded=0, warnings=list(check.warnings),
                         diagnosis=check.error or check.not_checkable, time_s=check.seconds))
        return rows
    for r in check.inputs:
        d = dict(base, input=r.name)
        d.update(r.to_dict(), status=r.status, warnings=r.warnings + check.warnings)
        rows.append(d)
    for p in check.problems:
        kind = "purity" if "mutated" in p else "determinism"
        rows.append(dict(base, input=f"({kind})", kind=kind, status=FAIL,
                         max_rel_error=None, worst_index=None, analytic=None, numeric=None, kinks_excluded=0,
                         warnings=[], diagnosis=p, time_s=0.0))
    return rows


def run(args) -> tuple[list, list, dict]:
    """Run the checks selected by parsed ``args``; return (rows, checks, meta)."""
    student = load_module(args.module) if args.module else None
    selected = registry.entries(args.only)
    if args.only and not selected:
        raise _UsageError(f"--only {args.only!r} matches no registered layer; names are: "
                          + ", ".join(sorted({e.label for e in registry.ENTRIES})))
    jobs, absent = [], []
    for e in selected:
        if student is not None:
            if not e.classic:
                continue
            fns = registry.resolve(e, student)
            if fns is None:
                if hasattr(student, e.forward):
                    absent.append(f"{e.label} (no {e.backward} in the module)")
                continue
        else:
            fns = registry.resolve(e)
            if fns is None:
                absent.append(e.label)
                continue
        jobs.append((e, fns))
    if student is not None and not jobs:
        raise _UsageError(f"--module {args.module}: no function with a toolkit name found "
                          f"(expected e.g. conv_forward_naive/conv_backward_naive, affine_forward/affine_backward)")
    show = not args.no_progress and sys.stderr.isatty()
    rows, checks = [], []
    dtype = np.dtype(args.dtype)
    for e, (fwd, bwd) in _progress(jobs, show):
        rng = np.random.default_rng(args.seed)
        inputs, params = e.make(rng, dtype)
        chk = check_layer(fwd, bwd, inputs, params, mode=args.mode, seed=args.seed, names=e.names, name=e.label)
        checks.append((e, chk))
        rows += _rows_for(chk, e.label)
        if student is not None and e.compare_forward and not chk.error.startswith("forward"):
            ref = registry.resolve(e)
            if ref is not None:
                rows.append(_forward_vs_reference(e, fwd, ref[0], dtype, args.seed))
    meta = {"absent": absent, "module": getattr(student, "__file__", None) if student else None}
    return rows, checks, meta


def _fmt_index(idx):
    if idx is None:
        return "-"
    return "(" + ", ".join(str(i) for i in idx) + (",)" if len(idx) == 1 else ")")


def format_table(rows) -> str:
    header = ("layer", "input", "max rel err", "worst index", "status", "time")
    body = []
    for r in rows:
        err = "-" if r.get("max_rel_error") is None else f"{r['max_rel_error']:.2e}"
        status = r["status"] + (" *" if r.get("kinks_excluded") else "")
        body.append((r["layer"], r["input"], err, _fmt_index(r.get("worst_index")), status,
                     f"{r.get('time_s', 0.0):.2f}s"))
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for b in body:
        lines.append("  ".join(c.ljust(w) for c, w in zip(b, widths)).rstrip())
    return "\n".join(lines)


def summarize(rows, checks, seconds) -> dict:
    counts = {PASS: 0, FAIL: 0, NOT_CHECKABLE: 0, ERROR: 0}
    for r in rows:
        counts[r["status"]] += 1
    grad_rows = [r for r in rows if r["kind"] == "gradient" and r.get("max_rel_error") is not None]
    worst = max(grad_rows, key=lambda r: r["max_rel_error"], default=None)
    return {
        "layers": len(checks),
        "checks": len(rows),
        "passed": counts[PASS],
        "failed": counts[FAIL],
        "errors": counts[ERROR],
        "not_checkable": counts[NOT_CHECKABLE],
        "kinks_excluded": int(sum(r.get("kinks_excluded", 0) for r in rows)),
        "warnings": int(sum(len(r.get("warnings", [])) for r in rows)),
        "max_rel_error": None if worst is None else worst["max_rel_error"],
        "max_rel_error_at": None if worst is None else f"{worst['layer']} d{worst['input']}",
        "seconds": round(seconds, 3),
        "ok": counts[FAIL] == 0 and counts[ERROR] == 0,
    }


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        rows, checks, meta = run(args)
    except _UsageError as exc:
        print(f"gradient_check: error: {exc}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - t0
    summary = summarize(rows, checks, seconds)
    what = f"module {args.module}" if args.module else "cnnkit layers"
    print(f"gradient check of {what}: dtype {args.dtype}, mode {args.mode}, seed {args.seed}")
    print(format_table(rows))
    details = [r for r in rows if r["status"] != PASS or r.get("warnings")]
    if details:
        print()
        for r in details:
            tag = r["status"] if r["status"] != PASS else "note"
            if r.get("diagnosis"):
                print(f"{tag}: {r['layer']} {r['input']}: {r['diagnosis']}")
            for w in r.get("warnings", []):
                print(f"warning: {r['layer']} {r['input']}: {w}")
    if summary["kinks_excluded"]:
        print(f"* {summary['kinks_excluded']} element(s) within h of a kink (ReLU at 0, pooling near-tie, SVM "
              f"margin) were excluded from the comparison")
    for label in meta["absent"]:
        print(f"not present: {label}")
    worst = "" if summary["max_rel_error"] is None else \
        f"; max rel error {summary['max_rel_error']:.2e} ({summary['max_rel_error_at']})"
    verdict = "OK" if summary["ok"] else "FAILED"
    print(f"\n{verdict}: {summary['checks']} checks over {summary['layers']} layers: {summary['passed']} passed, "
          f"{summary['failed']} failed, {summary['errors']} error{'' if summary['errors'] == 1 else 's'}, "
          f"{summary['not_checkable']} not checkable"
          f"{worst}; {summary['seconds']:.1f} s")
    if args.plot:
        os.makedirs(args.plot, exist_ok=True)
        for e, chk in checks:
            if chk.status in (FAIL, ERROR):
                fname = "".join(c if c.isalnum() or c in "_-" else "_" for c in e.label).strip("_") + ".png"
                chk.plot(os.path.join(args.plot, fname))
    if args.json:
        doc = {
            "schema": JSON_SCHEMA,
            "argv": list(sys.argv[1:] if argv is None else argv),
            "module": meta["module"],
            "dtype": args.dtype,
            "mode": args.mode,
            "seed": args.seed,
            "rules": {str(k): {"rtol": t.grad_rtol, "frac": t.grad_frac} for k, t in TOLERANCES.items()},
            "summary": summary,
            "results": [_jsonable(r) for r in rows],
            "not_present": meta["absent"],
        }
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
    return 0 if summary["ok"] else 1


def _jsonable(row):
    out = {}
    for k, v in row.items():
        if k == "status":
            v = {PASS: "pass", FAIL: "fail", NOT_CHECKABLE: "not_checkable", ERROR: "error"}.get(v, v)
        if isinstance(v, (np.floating, np.integer)):
            v = v.item()
        if isinstance(v, float) and not np.isfinite(v):
            v = None
        if k == "time_s" and isinstance(v, float):
            v = round(v, 4)
        out[k] = v
    return out
