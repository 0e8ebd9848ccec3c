"""benchmarks/bench.py: bad arguments are usage errors (exit 2, a message), and the train section runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests._product import SOURCE_ROOT

BENCH = SOURCE_ROOT / "benchmarks" / "bench.py"


def _run(*args):
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("args,message", [
    (["--cases", "Z"], "--cases: unknown case(s) Z; choose from A,B,C,D"),
    (["--cases", "A,Q"], "unknown case(s) Q"),
    (["--rounds", "-1"], "--rounds must be a positive integer, got -1"),
    (["--rounds", "0"], "--rounds must be a positive integer, got 0"),
    (["--sections", "conv,gpu"], "--sections: unknown section(s) gpu"),
])
def test_bad_arguments_are_usage_errors_not_tracebacks(args, message):
    res = _run(*args)
    assert res.returncode == 2, res.stderr
    assert message in res.stderr and "Traceback" not in res.stderr


@pytest.mark.slow
def test_train_section_writes_a_json_record_and_compares_with_it(tmp_path):
    record = tmp_path / "run.json"
    res = _run("--sections", "train", "--rounds", "1", "--no-torch", "--json", str(record))
    assert res.returncode == 0, res.stderr
    payload = json.loads(record.read_text())
    models = {(r["model"], r["dtype"]) for r in payload["train"]}
    assert ("ThreeLayerConvNet", "float32") in models and ("FC [100,100] bn+dropout", "float64") in models
    assert all(r["iteration_s"] > 0 and "conv bwd" in r["layers_s"] for r in payload["train"]
               if r["model"] == "ThreeLayerConvNet")
    again = _run("--sections", "train", "--rounds", "1", "--no-torch", "--compare", str(record))
    assert again.returncode == 0, again.stderr
    assert "ThreeLayerConvNet        float32  iteration" in again.stdout
