"""``python -m gradient_check``: check every layer the toolkit ships, or a student's module.

Exit status: 0 when every check passes; 1 when anything is not a pass (a wrong gradient or
forward, a mutation, a layer that raises, calls exit(), returns something malformed or runs past
the time limit, a module that cannot be imported, a random layer that cannot be checked); 2 for
usage errors, reported in one line before any check runs (bad option or value, unwritable
--json, --plot naming a file, a --module path that does not exist, no toolkit-named function in
the module).

A student's module is never imported by this process: it runs in a disposable worker process
(``_gradcheck.grader.isolate``, ``_gradcheck.grader.worker``) that only evaluates the calls this process sends and
returns arrays; this process makes the inputs, the references, the numeric gradients, the verdicts,
the report and the exit status. Each layer has a wall-clock limit (``--time-limit``), enforced by
killing the worker, which also runs under resource limits (``--memory-limit``, ``--cpu-limit``,
``--file-size-limit``, ``--max-procs``); a worker that dies is an ERROR row for its layer and the next
layer gets a fresh one. In the worker the toolkit's modules are stand-ins: a student function that
calls the toolkit's own implementation of the layer under test is an ERROR row that says so.
``check_module(path, isolated=False)`` imports the module in process instead (for trusted code).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import sys
import tempfile
import time
import types
from pathlib import Path

from _rules.tolerances import TOLERANCES

from _gradcheck.core.result import ERROR, FAIL, NOT_CHECKABLE, PASS
from _gradcheck.core.state import describe_exception
from _gradcheck.grader import grid, isolate, reports, specs, starter
from _gradcheck.grader import student as stu
from _gradcheck.grader.assignment import grade as grade_assignment
from _gradcheck.grader.report_warnings import warning_lines
from _gradcheck.grader.rows import STATUS_JSON, NotPresent, Row

__all__ = ["main", "build_parser", "run", "check_module", "ModuleReport"]

JSON_SCHEMA = "cnnkit.gradient_check/1"
DEFAULT_TIME_LIMIT = 60.0  # seconds per layer (all its layouts); a naive student layer takes ~1 s

DESCRIPTION = """\
Check the analytic gradients of every layer in cnnkit (naive and fast) against float64 central
differences on small seeded inputs, and print one row per (layer, input). Besides the numbers, each
check fails a layer that mutates its inputs, dout or cache, or whose backward is not deterministic,
and explains a wrong gradient in one line (a 1/N factor, a sign, a flipped kernel, padding, ...).

With --module, check a student's functions that use the toolkit's names (conv_forward_naive /
conv_backward_naive, affine_forward / affine_backward, max_pool_forward_naive, relu_*,
batchnorm_*, ...): their gradients, and their forward output against the toolkit's own. The
module's code runs only in a separate worker process, under a time limit per layer and resource
limits; the references, the numeric gradients, the verdicts and the report stay in this process.
With --submissions, grade a folder of them into a gradebook. With --starter, write a file with
those functions' signatures and docstrings to fill in."""

EPILOG = """\
pass rule: max rel err <= 1e-6 for float64 layers, 1e-3 for float32, 1e-2 for float16 (numeric side
always float64); rel err = |a-n| / max(|a|+|n|, floor), floor = 1e-2 x the layer's largest gradient
(per relative change of an input) or the rounding-noise bound. Elements within h of a kink are
excluded (counted, *).
exit status: 0 every check passed; 1 anything else (failed, error, not implemented, time limit,
import error, not checkable); 2 usage error (one line on stderr, nothing checked).
examples:
  python -m gradient_check
  python -m gradient_check --only pool --dtype float32
  python -m gradient_check --starter my_layers.py --only affine,relu
  python -m gradient_check --module my_layers.py --json grades.json --plot failures/
  cnnkit-check --module layers.py        (the same; use it inside a folder with its own gradient_check.py)
  cnnkit-check --module layers.py --format gradescope --json results.json --junit junit.xml
  cnnkit-check --submissions subs/ --module layers.py --jobs 2 --gradebook grades.csv
  cnnkit-check --module layers.py --starter-autograder autograder/"""


class _UsageError(Exception):
    pass


def command_name() -> str:
    """How the user started the checker, for its usage and error lines."""
    launcher = os.path.basename(sys.argv[0] if sys.argv and sys.argv[0] else "")
    if launcher.startswith("cnnkit-check"):
        return "cnnkit-check"
    if os.path.basename(os.path.dirname(sys.argv[0] or "")) == "_gradcheck":
        return "python -m _gradcheck"
    return "python -m gradient_check"


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """One line on stderr and exit status 2 (argparse prints its whole usage first)."""
        self.exit(2, f"{self.prog.split()[-1]}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    name = command_name()
    p = _Parser(prog=name, description=DESCRIPTION, epilog=EPILOG.replace("python -m gradient_check", name),
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", metavar="NAMES",
                   help="check only layers whose name contains one of NAMES (comma-separated substrings)")
    p.add_argument("--dtype", choices=("float16", "float32", "float64"), default="float64",
                   help="dtype of the layer inputs (default float64)")
    p.add_argument("--seed", type=int, default=0, help="seed for inputs, dout and directions (>= 0, default 0)")
    p.add_argument("--mode", choices=("full", "directional", "auto"), default="full",
                   help="full: every element; directional: random directions; auto: directional, "
                        "then full on failure (default full)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    p.add_argument("--format", choices=("cnnkit", "gradescope"), default="cnnkit",
                   help="shape of the --json file: cnnkit's own (default) or Gradescope's results.json "
                        "(one test per layer, 1 point each)")
    p.add_argument("--junit", metavar="FILE", help="also write the results as JUnit XML to FILE")
    p.add_argument("--starter-autograder", metavar="DIR",
                   help="write a Gradescope autograder (setup.sh, run_autograder) that grades --module FILE "
                        "(a file name inside each submission) into DIR, then exit")
    p.add_argument("--submissions", metavar="DIR",
                   help="grade every submission in DIR (a .py file or a folder per student; --module NAME "
                        "names the file or package inside each folder), each in its own grading process")
    p.add_argument("--jobs", metavar="N", type=int, default=1, help="with --submissions: grade N at a time (default 1)")
    p.add_argument("--gradebook", metavar="FILE", default="grades.csv",
                   help="with --submissions: the CSV gradebook to write (default grades.csv)")
    p.add_argument("--reports", metavar="DIR",
                   help="with --submissions: folder for one JSON report per student (default: next to the "
                        "gradebook, named after it)")
    p.add_argument("--plot", metavar="DIR", help="write a PNG per failing check into DIR")
    p.add_argument("--module", metavar="PATH_OR_NAME",
                   help="check the functions of this module (a .py file, a package folder or an importable name)")
    p.add_argument("--time-limit", metavar="SECONDS", type=float, default=DEFAULT_TIME_LIMIT,
                   help=f"wall-clock limit per layer of a --module (and for its import); 0 = none "
                        f"(default {DEFAULT_TIME_LIMIT:g})")
    lim = isolate.Limits()
    p.add_argument("--memory-limit", metavar="MB", type=int, default=lim.memory_mb,
                   help=f"address-space limit of the process that runs a --module's code; 0 = none "
                        f"(default {lim.memory_mb})")
    p.add_argument("--cpu-limit", metavar="SECONDS", type=int, default=lim.cpu_s,
                   help=f"CPU-time limit of that process over its life; 0 = none (default {lim.cpu_s})")
    p.add_argument("--file-size-limit", metavar="MB", type=int, default=lim.file_size_mb,
                   help=f"largest file that process may write; 0 = none (default {lim.file_size_mb})")
    p.add_argument("--max-procs", metavar="N", type=int, default=lim.extra_procs,
                   help=f"processes/threads that process may start; 0 = no limit (default {lim.extra_procs})")
    p.add_argument("--refuse", metavar="MODULES", default="",
                   help="comma-separated top-level modules a --module may not import (e.g. torch,tensorflow)")
    p.add_argument("--starter", metavar="FILE",
                   help="write a starter file with the layers' signatures and docstrings (bodies raise "
                        "NotImplementedError), then exit; --only selects the layers")
    p.add_argument("--extended", action="store_true",
                   help="with --module, also check the layouts the assignment does not ask for (per-axis "
                        "stride/pad, dilation, strides that do not divide the input)")
    p.add_argument("--no-progress", action="store_true", help="never show progress on stderr")
    p.add_argument("--no-timing", action="store_true",
                   help="leave out the time column and the total time (output that is the same from run to run)")
    return p


def validate(args) -> None:
    """Refuse option values that would only fail after the checks ran (raises ``_UsageError``)."""
    if args.seed < 0:
        raise _UsageError(f"--seed must be an integer >= 0, got {args.seed}")
    if not (math.isfinite(args.time_limit) and args.time_limit >= 0):
        raise _UsageError(f"--time-limit must be a number of seconds >= 0 (0 = no limit), got {args.time_limit:g}")
    for opt, v in (("--memory-limit", args.memory_limit), ("--cpu-limit", args.cpu_limit),
                   ("--file-size-limit", args.file_size_limit), ("--max-procs", args.max_procs)):
        if v < 0:
            raise _UsageError(f"{opt} must be an integer >= 0 (0 = no limit), got {v}")
    if args.memory_limit and args.memory_limit < 256:
        raise _UsageError(f"--memory-limit {args.memory_limit} MB is too small for Python and numpy to start; "
                          f"give at least 256 (or 0 for no limit)")
    bad = [m for m in _refused(args) if not m.isidentifier()]
    if bad:
        raise _UsageError(f"--refuse names a module {bad[0]!r} that is not a top-level module name")
    if args.starter and args.module:
        raise _UsageError("--starter writes a new file and --module checks one: give one of them")
    if args.submissions is not None:
        _validate_batch(args)
    elif args.format == "gradescope" and args.json is None:
        raise _UsageError("--format gradescope shapes the --json file: give --json FILE (Gradescope reads "
                          "/autograder/results/results.json)")
    for opt, path in (("--json", args.json), ("--starter", args.starter), ("--junit", args.junit)):
        if path is not None:
            _check_new_file(opt, Path(path), overwrite=opt != "--starter")
    if args.starter_autograder is not None:
        folder = Path(args.starter_autograder)
        if not args.module:
            raise _UsageError("--starter-autograder needs --module FILE: the file each submission holds")
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise _UsageError(f"--starter-autograder {args.starter_autograder!r} exists and is not an empty folder")
    if args.junit is not None:
        args.junit_path = str(Path(args.junit).resolve())
    if args.json is not None:  # resolved before anything else runs: the report lands where it was asked for
        args.json_path = str(Path(args.json).resolve())
    if args.plot is not None:
        plot = Path(args.plot)
        if plot.exists() and not plot.is_dir():
            raise _UsageError(f"--plot {args.plot!r} is an existing file; give a folder for the PNGs")
        if not plot.exists():
            _check_new_file("--plot", plot, overwrite=False)


def _check_new_file(opt: str, path: Path, overwrite: bool) -> None:
    if path.is_dir():
        raise _UsageError(f"{opt} {str(path)!r} is a folder; give a file name (e.g. {path / 'report.json'})"
                          if opt == "--json" else f"{opt} {str(path)!r} is a folder; give a file name")
    if path.exists() and not overwrite:
        raise _UsageError(f"{opt} {str(path)!r} already exists; choose another name (nothing was overwritten)")
    parent = path.resolve().parent
    if not parent.is_dir():
        raise _UsageError(f"{opt} {str(path)!r}: folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise _UsageError(f"{opt} {str(path)!r} cannot be written (permission denied)")


def _refused(args) -> list:
    return [m.strip() for m in (getattr(args, "refuse", "") or "").split(",") if m.strip()]


def _only(args) -> list | None:
    if args.only is None:
        return None
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    if not names:
        raise _UsageError(f"--only {args.only!r} names no layer")
    return names


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


def _error_row(layer: str, what: str, message: str, seconds: float, kind: str | None = None) -> Row:
    return Row(layer=layer, function=layer, input=what, kind="gradient", status=ERROR, diagnosis=message,
               diagnosis_kind=kind, time_s=seconds)


def _lost_kind(exc) -> str:
    return "time_limit" if exc.timed_out else "worker_died"


def _check_only(only, args) -> None:
    """Refuse an ``--only`` that matches no layer of the toolkit (before any student code runs)."""
    if only and not any(grid.jobs(None, only, extended=args.extended)) \
            and not any(o in n for o in only for n in grade_assignment.NAMES):  # hook: issue 20
        raise _UsageError(f"--only {args.only!r} matches no registered layer; names are: "
                          + ", ".join(sorted(s.name for s in specs.specs())))


# What the numpy checker does not grade when it grades a whole course package: the file the course
# hands out complete (running its own compiled extension), the sandwiches its layer_utils.py ships
# written (a student's own additions there are graded), and the PyTorch versions of the layers
# (``rnn_layers_pytorch.py``), which take tensors.
COURSE_READY_MADE = {"fast_layers.py": None,
                     "layer_utils.py": {f"{family}_{way}" for family in ("affine_relu", "conv_relu",
                                                                          "conv_bn_relu", "conv_relu_pool")
                                        for way in ("forward", "backward")}}
COURSE_PYTORCH_SUFFIX = "_pytorch.py"


def _course_ready_made(manifest) -> dict:
    """``{name: why}`` for the functions a package defines in a file the numpy checker leaves alone."""
    out = {}
    for n, info in manifest.items():
        file = info.get("file")
        if not isinstance(file, str):
            continue
        given = COURSE_READY_MADE.get(Path(file).name, ())
        if given is None or n in given:
            out[n] = f"the course's ready-made {file}"
        elif file.endswith(COURSE_PYTORCH_SUFFIX):
            out[n] = f"{file}, written for PyTorch tensors"
    return out


def _jobs(only, student, toolkit, args, others=False, others_absent=()):
    """The layers to check (``grid.Job``) and labels of what is not there."""
    jobs, absent = grid.jobs(student, only, extended=args.extended)
    absent += list(others_absent)
    if only and not jobs and not absent:
        _check_only(only, args)
    if student is not None:
        mine = []
        for job in jobs:
            fns = [job.forward] + [f for _, f in job.backwards]
            if all(getattr(f, "borrowed", None) or stu.is_toolkit_function(f, toolkit) for f in fns):
                absent.append(NotPresent(job.label, f"the module's {job.spec.forward} is the toolkit's own, "
                                         f"imported: not checked", frozenset(job.names)))
            else:
                mine.append(job)
        jobs = mine
    if student is not None and not jobs and not others:  # others: assignment items (issue 20)
        raise _UsageError(f"--module {args.module}: no function with a toolkit name found (expected e.g. "
                          f"conv_forward_naive/conv_backward_naive, affine_forward/affine_backward; functions "
                          f"imported from the toolkit do not count)"
                          + (f"; found only the toolkit's own: {'; '.join(map(str, absent))}" if absent else ""))
    return jobs, absent


def _check_job(job, toolkit, args):
    """Check one layer on its grid of layouts: ``(checks, rows)``."""
    if job.reference is not None:
        try:
            stu.assert_not_same(job.reference[job.spec.forward], job.forward, job.spec.forward, toolkit)
        except stu.ReferenceCollision as exc:
            return [], [_error_row(job.label, "(forward)", str(exc), 0.0)]
    rows, checks = grid.check_job(job, args.dtype, args.seed, args.mode)
    return checks, rows


def run(args, toolkit=None) -> tuple[list, list, dict]:
    """Run the checks selected by parsed ``args``; return (rows, checks, meta).

    ``toolkit`` (default: loaded now) must be loaded before any student code is imported.
    """
    only = _only(args)
    toolkit = toolkit or stu.Toolkit.load()
    _check_only(only, args)  # usage errors before any student code runs
    if args.module and getattr(args, "isolated", True):
        return _run_isolated(args, toolkit, only)
    meta = {"absent": [], "module": None, "notes": list(toolkit.notes)}
    student = None
    if args.module:
        try:
            student, err, notes = stu.load_student(args.module, toolkit, args.time_limit)
        except FileNotFoundError as exc:
            raise _UsageError(str(exc)) from None
        meta["notes"] += notes
        if err is not None:
            return [_error_row("(import)", "(module)", err, 0.0)], [], meta
        meta["module"] = getattr(student, "__file__", None)
    jobs, meta["absent"] = _jobs(only, student, toolkit, args)
    limit = args.time_limit if student is not None else None
    rows, checks = [], []
    for job in _progress(jobs, not args.no_progress and sys.stderr.isatty()):
        t0 = time.perf_counter()
        done, err = stu.guarded(lambda: _check_job(job, toolkit, args), f"checking {job.label}", limit)
        if err is not None:
            done = ([], [_error_row(job.label, "(layer)", err, time.perf_counter() - t0)])
        checks += done[0]
        rows += done[1]
        undone = toolkit.restore()
        if undone:
            meta["notes"].append(f"checking {job.label} replaced the toolkit's {', '.join(sorted(undone))}; "
                                 f"the checker put its own back")
    meta["layers"] = len(jobs)
    return rows, checks, meta


# ---------------------------------------------------------------------------------------------
# A student's module in a worker process

CHECKER_NAMES = ("gradient_check", "_gradcheck")
_POOLS_AND_CONVS = ("conv", "conv_winograd", "max_pool", "avg_pool")


def _forbidden(spec) -> tuple[set, set]:
    """The toolkit's functions a student's code may not call while ``spec``'s layer is checked (its own
    implementations: the same family, a convolution's every algorithm) and the modules likewise."""
    fams = {spec.family} | ({"conv", "conv_winograd"} if spec.family in ("conv", "conv_winograd") else set())
    names = {n for s in specs.specs() if s.family in fams for n in (s.forward, *s.backwards)}
    modules = {"im2col", "im2col_cython"} if spec.family in _POOLS_AND_CONVS else set()
    # The object-style layers implement every family: a layer function has no business calling them.
    return names, modules | {"layer_modules"}


def _limits(args) -> isolate.Limits:
    return isolate.Limits(memory_mb=args.memory_limit, cpu_s=args.cpu_limit, file_size_mb=args.file_size_limit,
                          extra_procs=args.max_procs)


def open_session(args):
    """``(session, notes)``: an :class:`isolate.Session` for ``args.module`` and notes for the report (none).

    Raises ``_UsageError`` for a path that does not exist.
    """
    try:
        kind, target = stu._module_target(args.module)
    except FileNotFoundError as exc:
        raise _UsageError(str(exc)) from None
    folder = target.parent if kind != "name" else None
    # The folders whose files of toolkit names are the student's own: never the toolkit's own folder (a
    # grader running from inside the checkout must not hand the student the real layers).
    paths = [str(p) for p in dict.fromkeys(f for f in (folder, Path.cwd().resolve()) if f is not None)
             if Path(p).resolve() != stu.ROOT]
    names = sorted({n for s in specs.specs() for n in (s.forward, *s.backwards)} | set(grade_assignment.NAMES))
    # What the worker loads privately behind its stand-ins (every code module of the toolkit but the
    # checker and the plotting/data helpers, which a layer file has no use for).
    preload = stu.reference_modules(("layer_modules", "optim", "solver", "im2col"))
    session = isolate.Session(
        args.module, {"kind": kind, "where": str(target)}, paths, names, stu.ROOT,
        [m for m in preload if m.split(".")[0] not in CHECKER_NAMES], stu.TOOLKIT_NAMES, CHECKER_NAMES,
        _limits(args), refuse=_refused(args))
    # No notes: a student's file named like a toolkit module never changes a verdict (student.load_student).
    return session, []


def _run_isolated_job(job, session, toolkit, args, meta, what):
    """One layer of a ``--module`` run in the worker: ``(checks, rows)``; a lost worker is an ERROR row."""
    t0 = time.perf_counter()
    lost = False
    copied = [f for f in (job.forward, *(b for _, b in job.backwards)) if getattr(f, "toolkit_file", None)]
    if copied:
        return [], [_error_row(job.label, "(layer)", f"{copied[0].__name__} is the toolkit's own implementation: "
                               f"its code comes from the toolkit's file {copied[0].toolkit_file} (loaded by "
                               f"path?); the grader checks the student's code", 0.0)]
    try:
        session.begin_job(*_forbidden(job.spec), args.time_limit)
        done = _check_job(job, toolkit, args)
    except isolate.ImportFailed as exc:
        lost, done = True, ([], [_error_row(job.label, "(layer)", describe_exception(exc.exc, what),
                                            time.perf_counter() - t0)])
    except isolate.WorkerLost as exc:
        lost, done = True, ([], [_error_row(job.label, "(layer)", exc.message(f"checking {job.label}"),
                                            time.perf_counter() - t0, _lost_kind(exc))])
    used = session.end_job(lost)
    if used:
        meta["notes"].append(f"{job.label}: the student's code ran the toolkit's {', '.join(used)} "
                             f"(allowed: not the function under test)")
    return done


def _run_isolated(args, toolkit, only):
    """``run`` for ``--module``: the student's code runs only in worker processes (``isolate``)."""
    session, notes = open_session(args)
    meta = {"absent": [], "module": session.target["where"] if session.target["kind"] != "name" else args.module,
            "notes": list(toolkit.notes) + notes, "isolated": True}
    what = f"importing {args.module} (the module)"
    try:
        try:
            manifest = session.open(args.time_limit)
        except isolate.ImportFailed as exc:
            return [_error_row("(import)", "(module)", describe_exception(exc.exc, what), 0.0)], [], meta
        except isolate.WorkerLost as exc:
            return [_error_row("(import)", "(module)", exc.message(what), 0.0, _lost_kind(exc))], [], meta
        if session.replaced:
            meta["notes"].append(f"importing {args.module} replaced the toolkit's {', '.join(session.replaced)}: "
                                 f"only in the worker process that ran the student's code; the checker's "
                                 f"references live in the grading process, which never runs it")
        ready_made = _course_ready_made(manifest)
        manifest = {n: info for n, info in manifest.items() if n not in ready_made}
        student = types.SimpleNamespace(**{n: session.function(n, info.get("borrowed"), info.get("toolkit_file"))
                                           for n, info in manifest.items()
                                           if not info.get("import_error")})  # issue 20: graded as ERROR rows
        extra = grade_assignment.jobs(manifest, session, args, only)  # hook: issue 20
        jobs, meta["absent"] = _jobs(only, student, toolkit, args, others=bool(extra) or bool(ready_made),
                                     others_absent=grade_assignment.borrowed(manifest))
        meta["absent"] += [NotPresent(n, f"in {why}: not graded; give that file to --module to grade it",
                                      frozenset({n}))
                           for n, why in sorted(ready_made.items()) if not only or any(o in n for o in only)]
        rows, checks = [], []
        for job in _progress(jobs, not args.no_progress and sys.stderr.isatty()):
            job_checks, job_rows = _run_isolated_job(job, session, toolkit, args, meta, what)
            checks += job_checks
            rows += job_rows
        rows += grade_assignment.run_jobs(session, extra, args, isolate, describe_exception)  # hook: issue 20
        meta["notes"] += grade_assignment.notes(extra)
        meta["absent"] = grade_assignment.adjust_absent(meta["absent"], extra)
        rows += grade_assignment.unaccounted(manifest, jobs, extra, meta["absent"], only)
        meta["layers"] = len(jobs) + len(extra)
        return rows, checks, meta
    finally:
        session.close()


@dataclasses.dataclass(repr=False)
class ModuleReport:
    """What :func:`check_module` found: the report's rows (:class:`~_gradcheck.grader.rows.Row`) and its summary.

    In a notebook it shows itself as a table (one row per check, status coloured, the diagnosis);
    ``repr`` is the one-line verdict, ``report()`` the text table.
    """

    rows: list
    summary: dict
    not_present: list
    notes: list
    isolated: bool

    @property
    def ok(self) -> bool:
        return bool(self.summary["ok"])

    def report(self) -> str:
        """The table ``cnnkit-check --module`` prints."""
        return format_table(self.rows)

    def _verdict(self) -> str:
        s = self.summary
        return (f"{'OK' if s['ok'] else 'FAILED'}: {s['checks']} checks over {s['layers']} layers: "
                f"{s['passed']} passed, {s['failed']} failed, {s['errors']} errors, {s['not_checkable']} not checkable")

    def __repr__(self) -> str:
        where = "worker process" if self.isolated else "this process"
        return f"<ModuleReport {self._verdict()} (student code ran in a {where})>"

    def _repr_html_(self) -> str:
        import html

        colour = {"pass": "#1a7f37", "fail": "#cf222e", "error": "#cf222e"}
        cells = []
        for r in self.rows:
            raw = STATUS_JSON[r.status]
            status = raw if raw == "pass" else raw.upper()
            err = "-" if r.max_rel_error is None else f"{r.max_rel_error:.2e}"
            cells.append(f"<tr><td>{html.escape(r.layer)}</td><td>{html.escape(r.input)}</td>"
                         f"<td><b style=\"color:{colour.get(raw, '#9a6700')}\">{html.escape(status)}</b></td>"
                         f"<td>{err}</td><td style=\"text-align:left\">{html.escape(r.full_diagnosis)}</td></tr>")
        head = ("<table><thead><tr><th>layer</th><th>check</th><th>status</th><th>max rel error</th>"
                "<th>diagnosis</th></tr></thead><tbody>")
        return f"<p>{html.escape(self._verdict())}</p>" + head + "".join(cells) + "</tbody></table>"


def check_module(path, *, isolated=True, only=None, dtype="float64", seed=0, mode="full",
                 time_limit=DEFAULT_TIME_LIMIT, extended=False, refuse=()) -> ModuleReport:
    """Check every function of a student's module that has a toolkit name, as ``--module`` does.

    Parameters
    ----------
    path : str or Path
        A ``.py`` file, a package folder, or an importable module name.
    isolated : bool
        True (the default, and what the command line does): the module is imported and run only in a
        disposable worker process, under a time limit per layer and resource limits; nothing it does
        can change the verdict. False: imported into this process, for code you trust (your own).
    only, dtype, seed, mode, time_limit, extended, refuse
        As the command line's ``--only`` (a comma-separated string or a list), ``--dtype``, ``--seed``,
        ``--mode``, ``--time-limit``, ``--extended`` and ``--refuse``.

    Returns
    -------
    ModuleReport
        ``rows`` (one :class:`~_gradcheck.grader.rows.Row` per function, input and kind; ``to_json()``
        gives the row of ``--json``), ``summary`` (counts, ``ok``), ``ok``.

    Raises
    ------
    ValueError
        For an argument the command line would refuse (a path that does not exist, a bad dtype...).
    """
    argv = ["--module", str(path), "--dtype", str(dtype), "--seed", str(seed), "--mode", str(mode),
            "--time-limit", str(time_limit), "--no-progress"]
    if only:
        argv += ["--only", only if isinstance(only, str) else ",".join(only)]
    if extended:
        argv.append("--extended")
    if refuse:
        argv += ["--refuse", refuse if isinstance(refuse, str) else ",".join(refuse)]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit:
        raise ValueError(f"check_module: invalid arguments {argv}") from None
    args.isolated = bool(isolated)
    t0 = time.perf_counter()
    try:
        validate(args)
        rows, checks, meta = run(args)
    except _UsageError as exc:
        raise ValueError(str(exc)) from None
    summary = summarize(rows, checks, time.perf_counter() - t0, meta.get("layers"))
    return ModuleReport(list(rows), summary, [str(a) for a in meta["absent"]], list(meta["notes"]),
                        bool(isolated))


def _fmt_index(idx):
    if idx is None:
        return "-"
    return "(" + ", ".join(str(i) for i in idx) + (",)" if len(idx) == 1 else ")")


def format_table(rows, timing: bool = True) -> str:
    header = ("layer", "input", "max rel err", "worst index", "status", "time")[:6 if timing else 5]
    body = []
    for r in rows:
        err = "-" if r.max_rel_error is None else f"{r.max_rel_error:.2e}"
        status = r.status + (" *" if r.kinks_excluded else "")
        cells = (r.layer, r.input, err, _fmt_index(r.worst_index), status, f"{r.time_s or 0.0:.2f}s")
        body.append(cells[:len(header)])
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for b in body:
        lines.append("  ".join(c.ljust(w) for c, w in zip(b, widths)).rstrip())
    return "\n".join(lines)


def summarize(rows, checks, seconds, layers=None) -> dict:
    counts = {PASS: 0, FAIL: 0, NOT_CHECKABLE: 0, ERROR: 0}
    for r in rows:
        counts[r.status] += 1
    grad_rows = [r for r in rows if r.kind == "gradient" and r.max_rel_error is not None]
    worst = max(grad_rows, key=lambda r: r.max_rel_error, default=None)
    return {
        "layers": len(checks) if layers is None else layers,
        "checks": len(rows),
        "passed": counts[PASS],
        "failed": counts[FAIL],
        "errors": counts[ERROR],
        "not_checkable": counts[NOT_CHECKABLE],
        "kinks_excluded": int(sum(r.kinks_excluded for r in rows)),
        "warnings": int(sum(len(r.warnings) for r in rows)),
        "max_rel_error": None if worst is None else float(worst.max_rel_error),
        "max_rel_error_at": None if worst is None else f"{worst.layer} d{worst.input}",
        "seconds": round(seconds, 3),
        "ok": bool(rows) and counts[PASS] == len(rows),  # anything not a pass (even "not checkable") fails
    }


def main(argv=None) -> int:
    """Run the command line; return the exit status (0 all passed, 1 anything else, 2 usage error)."""
    args = build_parser().parse_args(argv)
    t0 = time.perf_counter()
    try:
        validate(args)
        if args.starter:
            return _write_starter(args)
        if args.starter_autograder:
            return _write_autograder(args)
        if args.submissions:
            return _run_submissions(args)
        with _one_blas_thread():
            rows, checks, meta = run(args)
    except _UsageError as exc:
        print(f"{command_name().split()[-1]}: error: {exc}", file=sys.stderr)
        return 2
    summary = summarize(rows, checks, time.perf_counter() - t0, meta.get("layers"))
    _print_report(args, rows, meta, summary)
    if args.plot:
        _write_plots(args.plot, checks)
    if args.json:
        _write_json(args, argv, rows, meta, summary)
    if args.junit:
        _write_atomically(args.junit_path, reports.junit_xml(rows, summary))
    return 0 if summary["ok"] else 1


def _validate_batch(args) -> None:
    folder = Path(args.submissions)
    if not folder.is_dir():
        raise _UsageError(f"--submissions {args.submissions!r} is not a folder")
    if args.jobs < 1:
        raise _UsageError(f"--jobs must be an integer >= 1, got {args.jobs}")
    for opt, v in (("--json", args.json), ("--junit", args.junit), ("--plot", args.plot),
                   ("--starter", args.starter), ("--format gradescope", args.format == "gradescope" or None)):
        if v is not None:
            raise _UsageError(f"{opt} is for one module; with --submissions each student gets a JSON report in "
                              f"--reports DIR and a row in --gradebook FILE")
    _check_new_file("--gradebook", Path(args.gradebook), overwrite=True)
    if args.module and (Path(args.module).is_absolute() or ".." in Path(args.module).parts):
        raise _UsageError(f"--module {args.module!r}: with --submissions give the name of the file or package "
                          f"inside each submission (e.g. layers.py or cs231n)")


def _passthrough(args) -> list:
    """The grading options every student's grading process gets."""
    out = ["--dtype", args.dtype, "--seed", str(args.seed), "--mode", args.mode, "--time-limit",
           str(args.time_limit), "--memory-limit", str(args.memory_limit), "--cpu-limit", str(args.cpu_limit),
           "--file-size-limit", str(args.file_size_limit), "--max-procs", str(args.max_procs)]
    if args.only:
        out += ["--only", args.only]
    if args.refuse:
        out += ["--refuse", args.refuse]
    if args.extended:
        out.append("--extended")
    return out


def _run_submissions(args) -> int:
    """Grade a folder of submissions; exit 0 when every one got a report, 1 otherwise."""
    from _gradcheck.grader import batch

    t0 = time.perf_counter()
    gradebook = Path(args.gradebook).resolve()
    reports_dir = Path(args.reports).resolve() if args.reports else gradebook.with_name(gradebook.stem + "-reports")
    subs = batch.discover(Path(args.submissions).resolve(), args.module)
    if not subs:
        raise _UsageError(f"--submissions {args.submissions!r} holds no submission (.py files or folders)")
    bound = args.time_limit * (len(specs.specs()) + 2) + 120 if args.time_limit else 24 * 3600
    results = batch.grade_all(subs, reports_dir, _passthrough(args), args.jobs, bound,
                              progress=not args.no_progress and sys.stderr.isatty())
    batch.write_gradebook(gradebook, results)
    seconds = time.perf_counter() - t0
    graded = [g for g in results if g.report is not None]
    passed = [g for g in graded if g.report.get("summary", {}).get("ok")]
    print(f"graded {len(graded)} of {len(results)} submissions in {seconds:.1f} s ({seconds / len(results):.2f} s "
          f"per submission, --jobs {args.jobs}): {len(passed)} passed everything")
    print(f"gradebook: {gradebook}\nreports: {reports_dir}")
    common = batch.common_failures(results)
    if common:
        print("commonest failures (students, layer, diagnosis):")
        for n, layer, what in common:
            print(f"  {n:4d}  {layer}: {what}")
    for g in results:
        if g.report is None:
            print(f"not graded: {g.student}: {g.problem}")
    return 0 if len(graded) == len(results) else 1


def _write_autograder(args) -> int:
    folder = Path(args.starter_autograder)
    folder.mkdir(parents=True, exist_ok=True)
    only = f"--only {args.only}" if args.only else ""
    for name, text in reports.autograder_files(args.module, only).items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        path.chmod(0o755)
    print(f"wrote {folder / 'setup.sh'} and {folder / 'run_autograder'}: zip them as a Gradescope autograder; "
          f"each submission's {args.module} is graded in its own container")
    return 0


def _one_blas_thread():
    """Limit BLAS to one thread if threadpoolctl is installed (gradient_check.py sets the env instead).

    The checks evaluate tiny layers thousands of times, where BLAS threads only contend
    (``benchmarks/RESULTS.md``). The console script and ``python -m _gradcheck`` import numpy before
    any environment variable could be set.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _write_starter(args) -> int:
    try:
        names = starter.write(args.starter, _only(args))
    except LookupError as exc:
        raise _UsageError(str(exc)) from None
    print(f"wrote {args.starter}: {len(names)} layer function(s) to fill in ({', '.join(names)})")
    print(f"check it with: {command_name()} --module {args.starter}")
    return 0


def _print_report(args, rows, meta, summary) -> None:
    what = f"module {args.module}" if args.module else "cnnkit layers"
    print(f"gradient check of {what}: dtype {args.dtype}, mode {args.mode}, seed {args.seed}")
    print(format_table(rows, timing=not args.no_timing))
    details = [r for r in rows if not r.passed or r.warnings]
    if details:
        print()
        for r in details:
            tag = r.status if not r.passed else "note"
            if r.full_diagnosis:
                print(f"{tag}: {_what(r)}: {r.full_diagnosis}")
        for line in warning_lines(rows):  # hook: issue 20 (one line per layer, not per row)
            print(line)
    if summary["kinks_excluded"]:
        print(f"* {summary['kinks_excluded']} element(s) within h of a kink (ReLU at 0, pooling near-tie, SVM "
              f"margin) were excluded from the comparison")
    for label in meta["absent"]:
        print(f"not present: {label}")
    for note in meta["notes"]:
        print(f"note: {note}")
    worst = "" if summary["max_rel_error"] is None else \
        f"; max rel error {summary['max_rel_error']:.2e} ({summary['max_rel_error_at']})"
    verdict = "OK" if summary["ok"] else "FAILED"
    print(f"\n{verdict}: {summary['checks']} checks over {summary['layers']} layers: {summary['passed']} passed, "
          f"{summary['failed']} failed, {summary['errors']} error{'' if summary['errors'] == 1 else 's'}, "
          f"{summary['not_checkable']} not checkable"
          f"{worst}" + ("" if args.no_timing else f"; {summary['seconds']:.1f} s"))


def _what(row) -> str:
    """``conv_backward_naive dx [x 2x3x5x7, w 4x3x3x3, stride 2, pad 1]``: the function to blame, the
    gradient (or check) and the layout that showed it."""
    inp = f"d{row.input}" if row.is_input else row.input
    where = f" [{row.layout}]" if row.layout else ""
    return f"{row.function or row.layer} {inp}{where}"


def _write_plots(folder, checks) -> None:
    os.makedirs(folder, exist_ok=True)
    for chk in checks:
        if chk.status in (FAIL, ERROR):
            fname = "".join(c if c.isalnum() or c in "_-" else "_" for c in chk.name).strip("_") + ".png"
            chk.plot(os.path.join(folder, fname))


def _write_json(args, argv, rows, meta, summary) -> None:
    path = getattr(args, "json_path", None) or str(Path(args.json).resolve())
    if args.format == "gradescope":
        doc = reports.gradescope(rows, summary, meta["absent"], meta["notes"])
        _write_atomically(path, json.dumps(doc, indent=2))
        return
    doc = {
        "schema": JSON_SCHEMA,
        "argv": list(sys.argv[1:] if argv is None else argv),
        "module": meta["module"],
        "dtype": args.dtype,
        "mode": args.mode,
        "seed": args.seed,
        "rules": {str(k): {"rtol": t.grad_rtol, "frac": t.grad_frac} for k, t in TOLERANCES.items()},
        "summary": summary,
        "results": [r.to_json() for r in rows],
        "not_present": [str(a) for a in meta["absent"]],
        "notes": meta["notes"],
    }
    _write_atomically(path, json.dumps(doc, indent=2))


def _write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and one rename."""
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".cnnkit-report-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
