"""``--submissions DIR --jobs N --gradebook FILE``: a class graded at once, each student alone."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests._product import subprocess_env

STUDENTS = Path(__file__).resolve().parents[1] / "data" / "students"


def test_a_folder_of_submissions_gives_a_gradebook_and_one_report_each(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(STUDENTS / "correct" / "scalar_loops.py", subs / "alice.py")
    shutil.copy(STUDENTS / "buggy" / "relu_backward_mask_inverted.py", subs / "bob.py")
    for name, hostile in (("carol", "segfault_in_forward.py"), ("dave", "swallows_base_exception.py"),
                          ("erin", "atexit_rewrites_json.py")):
        (subs / name).mkdir()
        shutil.copy(STUDENTS / "hostile" / hostile, subs / name / "layers.py")
    (subs / "frank").mkdir()  # handed in nothing
    env = subprocess_env()
    proc = subprocess.run([sys.executable, "-m", "gradient_check", "--submissions", str(subs), "--module", "layers.py",
                           "--jobs", "2", "--gradebook", "grades.csv", "--time-limit", "5", "--no-progress"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # frank could not be graded
    rows = {r["student"]: r for r in csv.DictReader(open(tmp_path / "grades.csv", encoding="utf-8"))}
    assert set(rows) == {"alice", "bob", "carol", "dave", "erin", "frank"}
    assert rows["alice"]["ok"] == "True" and rows["alice"]["score"] == "4"
    assert rows["alice"]["conv_forward_naive"] == "pass" and rows["alice"]["relu_forward"] == "pass"
    assert rows["bob"]["relu_forward"] == "fail" and rows["bob"]["ok"] == "False"
    assert rows["carol"]["relu_forward"] == "error" and rows["carol"]["affine_forward"] == "pass"
    assert rows["dave"]["relu_forward"] == "error" and rows["erin"]["relu_forward"] == "fail"
    assert rows["frank"]["ok"] == "False" and "no layers.py" in rows["frank"]["problem"]
    reports = tmp_path / "grades-reports"
    for student in ("alice", "bob", "carol", "dave", "erin"):
        doc = json.loads((reports / f"{student}.json").read_text(encoding="utf-8"))
        assert doc["summary"]["ok"] is (student == "alice")
    assert "commonest failures" in proc.stdout and "worker_died" in proc.stdout and "time_limit" in proc.stdout
    assert "not graded: frank" in proc.stdout
