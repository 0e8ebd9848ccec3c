"""Autograder outputs through the real command line: Gradescope's results.json, JUnit XML, the starter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest

from tests._product import subprocess_env


MODULE = '''
import numpy as np


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout  # BUG: no mask
'''


def _cli(cwd, *args):
    env = subprocess_env()
    return subprocess.run([sys.executable, "-m", "gradient_check", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _assert_gradescope_shape(doc):
    """The fields of Gradescope's results.json specification, with their types."""
    assert set(doc) <= {"score", "execution_time", "output", "output_format", "test_output_format",
                        "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
    assert _number(doc["score"]) and _number(doc["execution_time"]) and isinstance(doc["output"], str)
    assert doc.get("visibility", "visible") in ("visible", "hidden", "after_due_date", "after_published")
    assert isinstance(doc["tests"], list) and doc["tests"]
    for t in doc["tests"]:
        assert set(t) <= {"score", "max_score", "status", "name", "name_format", "number", "output",
                          "output_format", "tags", "visibility", "extra_data"}, t
        assert isinstance(t["name"], str) and isinstance(t["output"], str)
        assert _number(t["score"]) and _number(t["max_score"]) and 0 <= t["score"] <= t["max_score"]
        assert t["status"] in ("passed", "failed")


def test_gradescope_results_and_junit_say_which_layer_passed(tmp_path):
    (tmp_path / "mine.py").write_text(textwrap.dedent(MODULE), encoding="utf-8")
    proc = _cli(tmp_path, "--module", "mine.py", "--format", "gradescope", "--json", "results.json",
                "--junit", "junit.xml", "--no-progress")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    _assert_gradescope_shape(doc)
    tests = {t["name"]: t for t in doc["tests"]}
    assert tests["affine_forward"]["status"] == "passed" and tests["affine_forward"]["score"] == 1
    assert tests["relu_forward"]["status"] == "failed" and tests["relu_forward"]["score"] == 0
    assert "relu_backward" in tests["relu_forward"]["output"]
    assert doc["score"] == 1 and sum(t["max_score"] for t in doc["tests"]) == 2

    root = ET.parse(tmp_path / "junit.xml").getroot()
    assert root.tag == "testsuites"
    cases = root.findall("./testsuite/testcase")
    assert int(root.get("tests")) == len(cases) > 0
    for suite in root.findall("testsuite"):
        assert suite.get("name") and int(suite.get("tests")) == len(suite.findall("testcase"))
        assert int(suite.get("failures")) == len(suite.findall("testcase/failure"))
        assert int(suite.get("errors")) == len(suite.findall("testcase/error"))
    failing = [c for c in cases if c.find("failure") is not None]
    assert failing and all(c.get("classname") == "relu_forward" for c in failing)
    assert all(c.get("name") and c.get("classname") for c in cases)
    assert not root.findall(".//skipped")


def test_starter_autograder_writes_gradescopes_two_scripts(tmp_path):
    proc = _cli(tmp_path, "--module", "layers.py", "--starter-autograder", "autograder")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    setup = tmp_path / "autograder" / "setup.sh"
    run = tmp_path / "autograder" / "run_autograder"
    assert os.access(setup, os.X_OK) and os.access(run, os.X_OK)
    text = run.read_text(encoding="utf-8")
    assert "cnnkit-check --module layers.py --format gradescope --json /autograder/results/results.json" in text
    assert "pip3 install cnnkit" in setup.read_text(encoding="utf-8")


@pytest.mark.parametrize("args,message", [
    (["--format", "gradescope"], "--format gradescope shapes the --json file"),
    (["--starter-autograder", "ag"], "--starter-autograder needs --module"),
    (["--junit", "."], "--junit '.' is a folder"),
])
def test_autograder_options_refuse_misuse_before_any_check(tmp_path, args, message):
    proc = _cli(tmp_path, *args, "--no-progress")
    assert proc.returncode == 2 and proc.stdout == "" and message in proc.stderr, proc.stderr
