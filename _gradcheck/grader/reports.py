"""The report in the shapes autograders read: Gradescope's ``results.json`` and JUnit XML.

Both are made from the rows the command line prints (:class:`~_gradcheck.grader.rows.Row`), grouped
into one test per layer (``Row.layer``): a layer passes when every row of it passes. Gradescope gives each
layer ``max_score`` 1; JUnit has one ``testcase`` per row, in one ``testsuite`` per layer.
:func:`autograder_files` writes what a course drops into a Gradescope autograder.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from _gradcheck.grader.rows import STATUS_JSON, Row

__all__ = ["by_layer", "gradescope", "junit_xml", "autograder_files"]

def by_layer(rows) -> dict:
    """Rows grouped by layer, in order of first appearance."""
    out: dict = {}
    for r in rows:
        out.setdefault(r.layer, []).append(r)
    return out


def _status(r: Row) -> str:
    return STATUS_JSON[r.status]


def _line(r: Row) -> str:
    what = f"{r.function or r.layer} {r.input}"
    err = "" if r.max_rel_error is None else f" (max rel error {r.max_rel_error:.2e})"
    where = f" [{r.layout}]" if r.layout else ""
    diag = f": {r.full_diagnosis}" if r.full_diagnosis else ""
    return f"{_status(r)}: {what}{where}{err}{diag}"


def gradescope(rows, summary: dict, not_present=(), notes=()) -> dict:
    """Gradescope's ``results.json``: a test per layer (1 point each), the score, the time, the output.

    See https://gradescope-autograders.readthedocs.io/en/latest/specs/ (top-level ``score``,
    ``execution_time``, ``output``, ``tests`` with ``score``, ``max_score``, ``name``, ``status``,
    ``output``, ``visibility``).
    """
    tests = []
    for layer, group in by_layer(rows).items():
        ok = all(_status(r) == "pass" for r in group)
        shown = [r for r in group if _status(r) != "pass"] or group
        tests.append({"name": layer, "score": 1.0 if ok else 0.0, "max_score": 1.0,
                      "status": "passed" if ok else "failed", "visibility": "visible",
                      "output": "\n".join(_line(r) for r in shown)})
    extra = [f"not present: {a}" for a in not_present] + [f"note: {n}" for n in notes]
    verdict = "OK" if summary.get("ok") else "FAILED"
    output = (f"{verdict}: {summary.get('checks', len(rows))} checks over {summary.get('layers', len(tests))} "
              f"layers: {summary.get('passed', 0)} passed, {summary.get('failed', 0)} failed, "
              f"{summary.get('errors', 0)} errors, {summary.get('not_checkable', 0)} not checkable")
    return {"score": float(sum(t["score"] for t in tests)),
            "execution_time": round(float(summary.get("seconds", 0.0)), 3),
            "output": "\n".join([output, *extra]), "visibility": "visible", "stdout_visibility": "visible",
            "tests": tests}


def junit_xml(rows, summary: dict, name: str = "cnnkit-check") -> str:
    """JUnit XML: ``<testsuites>`` of one ``<testsuite>`` per layer, one ``<testcase>`` per row.

    A FAIL row is a ``<failure>``, an ERROR row an ``<error>``, a NOT CHECKABLE row a ``<failure
    type="not_checkable">`` (nothing that did not pass is skipped or counted as passing).
    """
    root = ET.Element("testsuites", name=name, tests=str(len(rows)),
                      failures=str(sum(_status(r) in ("fail", "not_checkable") for r in rows)),
                      errors=str(sum(_status(r) == "error" for r in rows)),
                      time=f"{float(summary.get('seconds', 0.0)):.3f}")
    for layer, group in by_layer(rows).items():
        suite = ET.SubElement(root, "testsuite", name=layer, tests=str(len(group)),
                              failures=str(sum(_status(r) in ("fail", "not_checkable") for r in group)),
                              errors=str(sum(_status(r) == "error" for r in group)), skipped="0",
                              time=f"{sum(float(r.time_s or 0.0) for r in group):.3f}")
        for r in group:
            case = ET.SubElement(suite, "testcase", classname=layer,
                                 name=f"{r.function or layer} {r.input}",
                                 time=f"{float(r.time_s or 0.0):.3f}")
            st = _status(r)
            if st == "pass":
                continue
            tag = "error" if st == "error" else "failure"
            el = ET.SubElement(case, tag, type=st, message=(r.full_diagnosis or st)[:500])
            el.text = _line(r)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


_SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image.
set -euo pipefail
apt-get install -y python3 python3-pip > /dev/null
pip3 install {package}
"""

_RUN = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission (in its own container): grade, then leave results.json.
cd /autograder/submission
mkdir -p /autograder/results
cnnkit-check --module {module} --format gradescope --json /autograder/results/results.json \\
    --no-progress {options} || true
if [ ! -s /autograder/results/results.json ]; then
    python3 - <<'EOF'
import json
json.dump({{"score": 0.0, "output": "cnnkit-check could not grade this submission: no {module}, or no "
           "function with a toolkit name in it (see the autograder output)", "tests": []}},
          open("/autograder/results/results.json", "w"))
EOF
fi
"""


def autograder_files(module: str, options: str = "", package: str = "cnnkit") -> dict:
    """``{file name: text}`` of a Gradescope autograder that grades ``module`` in each submission."""
    return {"setup.sh": _SETUP.format(package=package),
            "run_autograder": _RUN.format(module=module, options=options)}
