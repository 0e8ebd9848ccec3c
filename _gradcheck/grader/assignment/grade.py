"""Grading what an assignment holds besides layers: update rules, kNN, stateful layers, models.

The command line (``--module``) asks the worker for the names in :data:`NAMES` along with the
layers', builds one :class:`~_gradcheck.grader.assignment.common.AssignmentJob` per item found (:func:`jobs`)
and runs each under the layer time limit in the worker session (:func:`run_jobs`): a job's student
calls go to the worker; its references, comparisons and diagnoses stay in the grading process.
"""

from __future__ import annotations

import dataclasses
import time

from _gradcheck.grader import specs
from _gradcheck.grader.assignment import captioning as grade_captioning
from _gradcheck.grader.assignment import knn as grade_knn
from _gradcheck.grader.assignment import linear as grade_linear
from _gradcheck.grader.assignment import models as grade_models
from _gradcheck.grader.assignment import optim as grade_optim
from _gradcheck.grader.assignment import state as grade_state
from _gradcheck.grader.assignment.common import AssignmentJob, error_row
from _gradcheck.grader.rows import NotPresent, Row

__all__ = ["NAMES", "jobs", "run_jobs"]

NAMES = tuple(grade_optim.RULES) + (grade_knn.CLASS,) + grade_state.NAMES + grade_models.CLASSES \
    + tuple(grade_linear.CLASSES) + (grade_captioning.CLASS,)


def jobs(manifest: dict, session, args, only=None) -> list:
    """The assignment jobs for the names the student's module defines (``only``: substrings to keep)."""
    own = _own({n: v for n, v in manifest.items() if not v.get("import_error")})
    found_errors = [AssignmentJob(n, lambda n=n, v=v: [_import_error_row(n, v["import_error"])], names={n})
                    for n, v in manifest.items() if v.get("import_error")]
    found = (grade_optim.jobs(own, session, args.seed) + grade_knn.jobs(own, session, args.seed)
             + grade_state.jobs(own, session, args.seed, _family_names)
             + grade_models.jobs(own, session, args.seed) + grade_linear.jobs(own, session, args.seed)
             + grade_captioning.jobs(own, session, args.seed))
    found = found_errors + found
    if only:
        found = [j for j in found if any(o in j.label for o in only)]
    return found


def _import_error_row(name, err) -> Row:
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
    """``NotPresent`` entries for assignment names that are the toolkit's own (as for layers)."""
    return [NotPresent(n, f"the module's {n} is, or is built on, the toolkit's own "
                          f"{v.get('borrowed') or v.get('toolkit_file')}: not checked", frozenset({n}))
            for n, v in manifest.items() if n in NAMES and n not in grade_state.NAMES  # layers: the grid's
            and (v.get("borrowed") or v.get("toolkit_file"))]


def unaccounted(manifest: dict, checked: list, found: list, absent: list, only=None) -> list:
    """ERROR rows for toolkit-named functions and classes of the module that nothing graded or listed (a
    backward without its forward, say): everything named is accounted for.

    ``checked``: the layer jobs run (``grid.Job``); ``found``: the assignment jobs run; ``absent``: the
    ``NotPresent`` entries of the report.
    """
    accounted = {n for job in checked for n in job.names} | {n for j in found for n in j.names} \
        | {n for a in absent for n in a.names}
    out = []
    for name, info in manifest.items():
        if info.get("borrowed") or info.get("toolkit_file"):
            continue  # the toolkit's own, imported: not the student's to account for
        if only and not any(o in name for o in only):
            continue  # not selected by --only
        # a backward is graded (or reported) with its layer's forward
        if name in accounted or any(name in s.backwards and s.forward in accounted for s in specs.specs()):
            continue
        out.append(error_row(name, "(not graded)", "item",
                             f"{name} has a toolkit name but could not be graded: the function or class it "
                             f"belongs with is not in the module (e.g. a backward without its forward)"))
    return out


def adjust_absent(absent: list, found) -> list:
    """The "not present" entries, where a forward graded here for its state across calls says so instead
    of only that its backward is missing."""
    graded = {n for j in found for n in j.names}
    return [dataclasses.replace(a, why=f"{a.why}; only its state across calls was graded")
            if a.missing and a.names & graded else a for a in absent]


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
            r = error_row(job.layer, f"{job.config}: (item)" if job.config else "(item)", "item",
                          exc.message(f"checking {job.label}"))
            r.time_s = time.perf_counter() - t0
            rows.append(r)
        session.end_job(lost)
    return rows
