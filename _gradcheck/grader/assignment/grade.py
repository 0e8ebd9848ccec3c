"""Grading what an assignment holds besides layers: update rules, kNN, stateful layers, models.

The command line (``--module``) asks the worker for the names in :data:`NAMES` along with the
layers', builds one :class:`~_gradcheck.grader.assignment.common.AssignmentJob` per item found (:func:`jobs`)
and runs each under the layer time limit in the worker session (:func:`run_jobs`): a job's student
calls go to the worker; its references, comparisons and diagnoses stay in the grading process.
"""

from __future__ import annotations

import time

from _gradcheck.grader import specs
from _gradcheck.grader.assignment import captioning as grade_captioning
from _gradcheck.grader.assignment import knn as grade_knn
from _gradcheck.grader.assignment import linear as grade_linear
from _gradcheck.grader.assignment import models as grade_models
from _gradcheck.grader.assignment import optim as grade_optim
from _gradcheck.grader.assignment import state as grade_state
from _gradcheck.grader.assignment.common import AssignmentJob, error_row

__all__ = ["NAMES", "jobs", "run_jobs"]

NAMES = tuple(grade_optim.RULES) + (grade_knn.CLASS,) + grade_state.NAMES + grade_models.CLASSES \
    + tuple(grade_linear.CLASSES) + (grade_captioning.CLASS,)


def jobs(manifest: dict, session, args, only=None) -> list:
    """The assignment jobs for the names the student's module defines (``only``: substrings to keep)."""
    own = _own({n: v for n, v in manifest.items() if not v.get("import_error")})
    found_errors = [AssignmentJob(n, lambda n=n, v=v: [_import_error_row(n, v["import_error"])])
                    for n, v in manifest.items() if v.get("import_error")]
    found = (grade_optim.jobs(own, session, args.seed) + grade_knn.jobs(own, session, args.seed)
             + grade_state.jobs(own, session, args.seed, _family_names)
             + grade_models.jobs(own, session, args.seed) + grade_linear.jobs(own, session, args.seed)
             + grade_captioning.jobs(own, session, args.seed))
    found = found_errors + found
    if only:
        found = [j for j in found if any(o in j.label for o in only)]
    return found


def _import_error_row(name, err) -> dict:
    err = err if isinstance(err, dict) else {}
    what = f"{err.get('type', 'Exception')}: {err.get('message', '')}".strip()
    return error_row(name, "(import)", "item", f"{name} is defined in {err.get('file', 'a file of the package')}, "
                                                f"which raised while it was imported ({what[:300]}): not graded")


def _family_names(forward: str) -> set:
    """The toolkit functions of ``forward``'s family (what its student code may not borrow)."""
    fams = {s.family for s in specs.specs() if s.forward == forward}
    return {n for s in specs.specs() if s.family in fams for n in (s.forward, *s.backwards)}


def _own(manifest: dict) -> dict:
    """The manifest without the toolkit's own functions (imported, not written by the student)."""
    return {n: v for n, v in manifest.items() if not (v.get("borrowed") or v.get("toolkit_file"))}


def borrowed(manifest: dict) -> list:
    """Labels for assignment names that are the toolkit's own (listed as not present, like layers)."""
    return [f"{n} (the module's {n} is, or is built on, the toolkit's own "
            f"{v.get('borrowed') or v.get('toolkit_file')}: not checked)"
            for n, v in manifest.items() if n in NAMES and n not in grade_state.NAMES  # layers: the grid's
            and (v.get("borrowed") or v.get("toolkit_file"))]


def unaccounted(manifest: dict, rows: list, absent: list, only=None) -> list:
    """ERROR rows for toolkit-named functions and classes of the module that no row or note mentions (a
    backward without its forward, say): everything named is accounted for."""
    import re

    said = " ".join([str(r.get(k) or "") for r in rows for k in ("layer", "function", "input", "diagnosis")]
                    + [str(a) for a in absent])
    out = []
    for name, info in manifest.items():
        if info.get("borrowed") or info.get("toolkit_file"):
            continue  # the toolkit's own, imported: not the student's to account for
        if only and not any(o in name for o in only):
            continue  # not selected by --only
        # a backward is graded (or reported) with its layer's forward, under the forward's name
        aliases = {name} | {s.forward for s in specs.specs() if name in s.backwards}
        if any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", said) for n in aliases):
            continue
        out.append(error_row(name, "(not graded)", "item",
                             f"{name} has a toolkit name but could not be graded: the function or class it "
                             f"belongs with is not in the module (e.g. a backward without its forward)"))
    return out


def adjust_absent(absent: list, found) -> list:
    """The "not present" labels, where a forward graded here for its state across calls says so instead
    of only that its backward is missing."""
    graded = {j.label.split(" ")[0] for j in found}
    out = []
    for label in absent:
        name = label.split(" ")[0]
        if name in graded and "(no " in label:
            label = label.rstrip(")") + f"; only its state across calls was graded)"
        out.append(label)
    return out


def notes(found) -> list:
    """The jobs' notes for the report, each once."""
    return list(dict.fromkeys(j.note for j in found if j.note))


def run_jobs(session, found, args, isolate_mod, describe) -> list:
    """Run every job in the worker session; a lost worker is an ERROR row for that job only."""
    rows = []
    for job in found:
        t0 = time.perf_counter()
        lost = False
        try:
            session.begin_job(set(job.forbid), set(), args.time_limit)
            rows += job.run()
        except isolate_mod.ImportFailed as exc:
            lost = True
            rows.append(error_row(job.label, "(item)", "item", describe(exc.exc, f"importing {args.module}")))
        except isolate_mod.WorkerLost as exc:
            lost = True
            layer, _, config = job.label.partition(" [")  # "FullyConnectedNet [2 hidden, reg 0.2]"
            r = error_row(layer, f"{config.rstrip(']')}: (item)" if config else "(item)", "item",
                          exc.message(f"checking {job.label}"))
            r["time_s"] = time.perf_counter() - t0
            rows.append(r)
        session.end_job(lost)
    return rows
