"""benchmarks/bench_rnn.py: bad arguments are usage errors, and a quick run records every layer."""

from __future__ import annotations

import json
import subprocess
import sys
from tests._product import SOURCE_ROOT

BENCH = SOURCE_ROOT / "benchmarks" / "bench_rnn.py"


def _run(*args, cwd):
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=600, cwd=cwd)


def test_bad_rounds_is_a_usage_error(tmp_path):
    res = _run("--rounds", "0", cwd=tmp_path)
    assert res.returncode == 2 and "--rounds: must be a positive integer, got 0" in res.stderr
    assert "Traceback" not in res.stderr


def test_quick_run_times_every_layer_naive_and_fast(tmp_path):
    record = tmp_path / "rnn.json"
    res = _run("--quick", "--rounds", "1", "--json", str(record), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    cases = json.loads(record.read_text())["cases"]
    assert [c["layer"].split()[0] for c in cases] == ["rnn", "lstm", "temporal_affine", "temporal_softmax_loss",
                                                       "word_embedding"]
    assert all(c["median_s"]["naive"] > 0 and c["median_s"]["fast"] > 0 for c in cases)
    assert "naive/fast" in res.stdout and "load average" in res.stdout
