"""The worker's resource limits, each set through its command-line option, stop what they should."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests._product import subprocess_env


RELU = '''
import numpy as np


def relu_forward(x):
    {body}
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * (cache > 0)
'''


def _run(tmp_path, body, *options):
    (tmp_path / "mine.py").write_text(textwrap.dedent(RELU).replace("{body}", body), encoding="utf-8")
    env = subprocess_env()
    proc = subprocess.run([sys.executable, "-m", "gradient_check", "--module", "mine.py", "--json", "out.json",
                           "--no-progress", *options], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    doc = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    return proc, [r for r in doc["results"] if r["status"] == "error"]


@pytest.mark.slow
def test_memory_limit_turns_a_huge_allocation_into_an_error_row(tmp_path):
    proc, errors = _run(tmp_path, "np.ones(10**8)", "--memory-limit", "700")
    assert proc.returncode == 1 and errors, proc.stdout
    assert any("MemoryError" in r["diagnosis"] for r in errors), proc.stdout
    proc, errors = _run(tmp_path, "np.ones(10**8)", "--memory-limit", "0")
    assert proc.returncode == 0 and not errors, proc.stdout  # the same code, no limit: it passes


@pytest.mark.slow
def test_cpu_limit_ends_a_worker_that_burns_cpu(tmp_path):
    proc, errors = _run(tmp_path, "while True:\n        pass", "--cpu-limit", "2", "--time-limit", "60")
    assert proc.returncode == 1 and errors, proc.stdout
    assert any("SIGXCPU" in r["diagnosis"] and "CPU-time limit" in r["diagnosis"] for r in errors), proc.stdout


@pytest.mark.slow
def test_file_size_limit_stops_a_large_write(tmp_path):
    body = "open('big.bin', 'wb').write(b'0' * (3 << 20))"
    proc, errors = _run(tmp_path, body, "--file-size-limit", "1")
    assert proc.returncode == 1 and errors, proc.stdout
    assert any("File too large" in r["diagnosis"] or "SIGXFSZ" in r["diagnosis"] for r in errors), proc.stdout
    assert (tmp_path / "big.bin").stat().st_size <= 1 << 20


@pytest.mark.parametrize("option", ["--memory-limit", "--cpu-limit", "--file-size-limit", "--max-procs"])
def test_a_negative_limit_is_a_usage_error(tmp_path, option):
    env = subprocess_env()
    proc = subprocess.run([sys.executable, "-m", "gradient_check", option, "-1"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and f"{option} must be an integer >= 0" in proc.stderr, proc.stderr
