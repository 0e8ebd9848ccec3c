"""Grading what an assignment holds besides layers: update rules, kNN, stateful layers, models.

The command line (``--module``) asks the worker for the names in :data:`NAMES` along with the
layers', builds one :class:`~_gradcheck.grade_common.AssignmentJob` per item found (:func:`jobs`)
and runs each under the layer time limit in the worker session (:func:`run_jobs`): a job's student
calls go to the worker; its references, comparisons and diagnoses stay in the grading process.
"""

from __future__ import annotations

import time

from . import grade_knn, grade_models, grade_optim, grade_state, specs
from .grade_common import error_row

__all__ = ["NAMES", "jobs", "run_jobs"]

NAMES = tuple(grade_optim.RULES) + (grade_knn.CLASS,) + grade_state.NAMES + grade_models.CLASSES


def jobs(manifest: dict, session, args, only=None) -> list:
    """The assignment jobs for the names the student's module defines (``only``: substrings to keep)."""
    own = _own(manifest)
    found = (grade_optim.jobs(own, session, args.seed) + grade_knn.jobs(own, session, args.seed)
             + grade_state.jobs(own, session, args.seed, _family_names)
             + grade_models.jobs(own, session, args.seed))
    if only:
        found = [j for j in found if any(o in j.label for o in only)]
    return found


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
            r = error_row(job.label, "(item)", "item", exc.message(f"checking {job.label}"))
            r["time_s"] = time.perf_counter() - t0
            rows.append(r)
        session.end_job(lost)
    return rows
