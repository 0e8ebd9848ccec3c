"""``--submissions DIR``: grade a folder of submissions, N at a time, into a gradebook.

Each entry of DIR is one student: a ``.py`` file, or a folder (graded at ``--module NAME`` inside
it, else as a package if it has an ``__init__.py``, else its one ``.py`` file). Every submission is
graded by its own grading process (``python -m _gradcheck --module ...``, which runs the student's
code in its own worker), in its own process group with a wall-clock bound, so a broken or hostile
submission can stop or alter nothing but its own row. Results: one JSON report per student in
``--reports DIR``, a CSV gradebook (one row per student, one column per layer), and a summary of
the commonest failures across the class.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from _gradcheck.grader.rows import RANK, STATUS_JSON

__all__ = ["Submission", "Graded", "discover", "grade_all", "write_gradebook", "common_failures"]


@dataclass
class Submission:
    student: str
    cwd: Path
    module: str | None            # the --module argument, None when the submission holds nothing to grade
    problem: str = ""


@dataclass
class Graded:
    student: str
    exit: int | None
    report: dict | None
    problem: str = ""
    seconds: float = 0.0
    layers: dict = field(default_factory=dict)  # layer -> pass | fail | error | not_checkable


def discover(folder: Path, module: str | None) -> list:
    """One :class:`Submission` per entry of ``folder`` (hidden entries skipped), sorted by name."""
    out = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        if entry.is_file():
            if entry.suffix == ".py":
                out.append(Submission(entry.stem, folder, str(entry)))
            continue
        if not entry.is_dir():
            continue
        if module:
            target = entry / module
            out.append(Submission(entry.name, entry, module) if target.exists()
                       else Submission(entry.name, entry, None, f"no {module} in the submission"))
        elif (entry / "__init__.py").is_file():
            out.append(Submission(entry.name, folder, str(entry)))
        else:
            files = sorted(p.name for p in entry.glob("*.py"))
            out.append(Submission(entry.name, entry, files[0]) if len(files) == 1 else
                       Submission(entry.name, entry, None, f"{len(files)} .py files and no --module to pick one"))
    return out


# The reports hold the JSON status words: rank those as rows.RANK ranks the statuses they stand for.
_JSON_RANK = {STATUS_JSON[status]: rank for status, rank in RANK.items()}


def _status(s: str) -> str:
    # A report comes from another process: a word it should not hold counts as an error.
    return s if s in _JSON_RANK else "error"


def grade_one(sub: Submission, reports: Path, options: list, bound: float) -> Graded:
    """Grade one submission in a grading process of its own; never raises."""
    if sub.module is None:
        return Graded(sub.student, None, None, sub.problem)
    report = reports / f"{sub.student}.json"
    with contextlib.suppress(FileNotFoundError):
        report.unlink()
    cmd = [sys.executable, "-m", "_gradcheck", "--module", sub.module, "--json", str(report), "--no-progress",
           *options]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=sub.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=bound)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return Graded(sub.student, None, None, f"grading took longer than {bound:g} s", time.monotonic() - t0)
    seconds = time.monotonic() - t0
    doc = None
    if report.exists():
        with contextlib.suppress(ValueError, OSError):
            doc = json.loads(report.read_text(encoding="utf-8"))
    if proc.returncode == 2 or doc is None:
        last = (err.decode("utf-8", "replace").strip().splitlines() or ["no report"])[-1][:300]
        return Graded(sub.student, proc.returncode, None, last, seconds)
    layers: dict = {}
    for r in doc.get("results", []):
        # A layer is as bad as its worst row.
        old = layers.get(r["layer"], "pass")
        layers[r["layer"]] = max(old, _status(r.get("status")), key=_JSON_RANK.__getitem__)
    return Graded(sub.student, proc.returncode, doc, "", seconds, layers)


def grade_all(subs, reports: Path, options: list, jobs: int, bound: float, progress: bool = True) -> list:
    """Grade every submission, ``jobs`` at a time; results in the order of ``subs``."""
    reports.mkdir(parents=True, exist_ok=True)
    done = 0
    results: list = [None] * len(subs)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(grade_one, s, reports, options, bound): k for k, s in enumerate(subs)}
        for fut in as_completed(futures):
            results[futures[fut]] = fut.result()
            done += 1
            if progress:
                sys.stderr.write(f"\r[{done}/{len(subs)}] graded")
                sys.stderr.flush()
    if progress and subs:
        sys.stderr.write("\n")
    return results


def write_gradebook(path: Path, results: list) -> list:
    """The CSV gradebook: student, score, layers, ok, exit, problem, then one column per layer."""
    layers = sorted({name for g in results for name in g.layers})
    header = ["student", "score", "layers", "ok", "exit", "problem", *layers]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for g in results:
            ok = g.report is not None and bool(g.report.get("summary", {}).get("ok"))
            score = sum(s == "pass" for s in g.layers.values())
            w.writerow([g.student, score, len(g.layers), ok, "" if g.exit is None else g.exit, g.problem,
                        *(g.layers.get(name, "") for name in layers)])
    return header


def common_failures(results: list, top: int = 10) -> list:
    """``(count, layer, what)``: how many students share each failing diagnosis (its kind, else its finding:
    the diagnosis without the notes on layouts, a field of its own in each report row)."""
    seen = collections.Counter()
    for g in results:
        mine = set()
        for r in (g.report or {}).get("results", []):
            if _status(r.get("status")) == "pass":
                continue
            what = r.get("diagnosis_kind") or r.get("finding") or r.get("status") or ""
            mine.add((r["layer"], what[:120]))
        if g.report is None:
            mine.add(("(not graded)", g.problem[:120]))
        seen.update(mine)
    return [(n, layer, what) for (layer, what), n in seen.most_common(top)]
