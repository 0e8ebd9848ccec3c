"""The whole assignment through the real command line: update rules, kNN, stateful layers and models.

Every file (or package folder holding ``GRADE.txt``) under tests/data/students/assignment says in its
docstring what ``python -m gradient_check --module FILE --json OUT`` must report:

``GRADE: exit=K [fail=NAME[:INPUT]]... [error=NAME[:INPUT]]... [pass=NAME]... [diagnosis=REGEX] [message=REGEX]
[nodiag=REGEX] [onewarning=LAYER]...``
    the exit status; a failing (ERROR) row whose layer is NAME (and whose input matches the regular
    expression INPUT, when given; quote a spec with spaces); every
    row of a ``pass=`` NAME passing, and at least one such row; REGEX (case-insensitive) found in the
    diagnosis of the first ``fail``/``error`` row named, and ``message`` in the printed report;
    ``nodiag`` in no diagnosis of a row that does not pass; one ``warning:`` line for each ``onewarning``.
``ARGS: --opt value``
    extra options for the run. A folder case (``GRADE.txt``) runs from its folder and names its module
    here (``--module cs231n``), as a student runs it from the assignment folder.

Each module runs once, in a subprocess from a temporary folder; the runs go two at a time (marked
``slow``: ``python -m pytest tests/grader/test_grade_assignment.py`` runs them, ``-m "not slow"`` does not).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import pytest

from tests._product import subprocess_env

CORPUS = Path(__file__).resolve().parents[1] / "data" / "students" / "assignment"
TIMEOUT_S = int(os.environ.get("CORPUS_TIMEOUT", "300"))


def _doc(path: Path) -> str:
    if path.is_dir():
        return (path / "GRADE.txt").read_text(encoding="utf-8")
    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


def _expect(path: Path) -> dict:
    out: dict = {"args": []}
    for line in _doc(path).splitlines():
        if line.startswith("GRADE:"):
            for tok in shlex.split(line[len("GRADE:"):]):
                key, _, value = tok.partition("=")
                out.setdefault(key, []).append(value)
        elif line.startswith("ARGS:"):
            out["args"] = shlex.split(line[len("ARGS:"):])
    return out


def _cases() -> list:
    files = [p for p in sorted(CORPUS.rglob("*.py")) if "GRADE:" in p.read_text(encoding="utf-8")
             and not any((q / "GRADE.txt").exists() for q in p.parents if CORPUS in q.parents)]
    folders = [p.parent for p in sorted(CORPUS.rglob("GRADE.txt"))]
    return files + folders


CASES = _cases()


@lru_cache(maxsize=None)
def _run_all():
    with ThreadPoolExecutor(2) as pool:
        return dict(zip(CASES, pool.map(_run, CASES)))


def _run(path: Path) -> dict:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        env = subprocess_env()
        # A folder case names its module in ARGS and runs from that folder (a course's assignment folder).
        module = [] if path.is_dir() else ["--module", str(path)]
        argv = [sys.executable, "-m", "gradient_check", *module, "--json", str(out), "--no-progress",
                *_expect(path)["args"]]
        proc = subprocess.run(argv, cwd=path if path.is_dir() else tmp, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT_S)
        doc = json.loads(out.read_text()) if out.exists() else None
    return {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "json": doc}


def _rows(run, spec):
    name, _, inp = spec.partition(":")
    rows = run["json"]["results"] if run["json"] else []
    return [r for r in rows if r["layer"] == name and (not inp or re.search(inp, r["input"]))]


# ~60 CLI runs, two at a time (~20 s idle, ~70 s on the shared machine): `slow`, like the corpus' runs.
@pytest.mark.slow
@pytest.mark.parametrize("path", CASES, ids=[str(p.relative_to(CORPUS)) for p in CASES])
def test_assignment_module_graded_as_its_docstring_says(path):
    want = _expect(path)
    run = _run_all()[path]
    explain = f"\n--- stdout\n{run['stdout']}\n--- stderr\n{run['stderr'][-3000:]}"
    assert run["rc"] == int(want["exit"][0]), f"exit {run['rc']}" + explain
    if run["rc"] == 2:  # a usage error: one line on stderr, nothing graded, no report
        assert run["json"] is None and "Traceback" not in run["stderr"], explain
        for regex in want.get("message", []):
            assert re.search(regex, run["stderr"], re.I), f"{regex!r} not in the message" + explain
        return
    assert run["json"] is not None, "no JSON report" + explain
    assert "Traceback" not in run["stderr"], explain
    named = []
    for status, key in (("fail", "fail"), ("error", "error")):
        for spec in want.get(key, []):
            bad = [r for r in _rows(run, spec) if r["status"] == status]
            assert bad, f"no {status} row for {spec}" + explain
            named.append(bad[0])
    for name in want.get("pass", []):
        mine = _rows(run, name)
        assert mine, f"{name} never graded" + explain
        assert all(r["status"] == "pass" for r in mine), f"{name} not passing" + explain
    for regex in want.get("diagnosis", []):
        assert named and re.search(regex, named[0]["diagnosis"] or "", re.I), \
            f"diagnosis {named[0]['diagnosis'] if named else None!r} does not match {regex!r}" + explain
    for regex in want.get("message", []):
        assert re.search(regex, run["stdout"], re.I), f"{regex!r} not in the report" + explain
    for regex in want.get("nodiag", []):
        said = [r["diagnosis"] for r in run["json"]["results"] if r["status"] != "pass"]
        assert not any(re.search(regex, d or "") for d in said), f"{regex!r} said in {said}" + explain
    for layer in want.get("onewarning", []):
        lines = [ln for ln in run["stdout"].splitlines() if ln.startswith(f"warning: {layer}")]
        assert len(lines) == 1, f"{len(lines)} warning lines for {layer}" + explain
    if int(want["exit"][0]) == 0:
        assert all(r["status"] == "pass" for r in run["json"]["results"]), explain


def test_every_bug_file_documents_its_bug_and_the_corpus_covers_each_kind():
    kinds = {p.parent.name for p in CASES}
    assert {"optim", "knn", "state", "models", "package", "messages", "linear"} <= kinds
    for p in CASES:
        want = _expect(p)
        text = _doc(p) if p.is_dir() else p.read_text(encoding="utf-8")
        if want["exit"] == ["1"]:
            assert "BUG:" in text and (want.get("fail") or want.get("error")), p
        elif want["exit"] == ["2"]:
            assert "BUG:" in text and want.get("message"), p
        else:
            assert want.get("pass"), p


@pytest.mark.slow
def test_starter_for_update_rules_knn_and_models_reports_each_as_not_implemented(tmp_path):
    env = subprocess_env()
    gen = subprocess.run([sys.executable, "-m", "gradient_check", "--starter", "mine.py", "--only", "optim,knn,models,linear"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert gen.returncode == 0, gen.stdout + gen.stderr
    text = (tmp_path / "mine.py").read_text(encoding="utf-8")
    for name in ("def sgd_momentum(w, dw, config=None)", "def adam(", "class KNearestNeighbor",
                 "def compute_distances_no_loops(self, X)", "class FullyConnectedNet", "dtype=np.float32",
                 "class ThreeLayerConvNet", "class TwoLayerNet", "class LinearSVM", "class Softmax"):
        assert name in text, name
    proc = subprocess.run([sys.executable, "-m", "gradient_check", "--module", "mine.py", "--json", "out.json",
                           "--no-progress"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    rows = json.loads((tmp_path / "out.json").read_text())["results"]
    graded = {r["layer"] for r in rows}
    assert {"sgd", "sgd_momentum", "rmsprop", "adam", "KNearestNeighbor", "TwoLayerNet", "FullyConnectedNet",
            "ThreeLayerConvNet", "LinearSVM", "Softmax"} <= graded, graded
    assert rows and all(r["status"] == "error" and "not implemented yet" in r["diagnosis"] for r in rows), proc.stdout
