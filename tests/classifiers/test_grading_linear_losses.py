"""The checker grades a student's assignment-1 losses like the layers: through the real CLI, in a
separate process, numeric gradient in W and the loss value against the toolkit's reference."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CORRECT = """
import numpy as np

def softmax_loss_naive(W, X, y, reg):
    loss, dW = 0.0, np.zeros_like(W)
    for i in range(X.shape[0]):
        s = X[i].dot(W)
        p = np.exp(s - s.max())
        p /= p.sum()
        loss -= np.log(p[y[i]])
        p[y[i]] -= 1
        dW += np.outer(X[i], p)
    return loss / X.shape[0] + reg * np.sum(W * W), dW / X.shape[0] + 2 * reg * W

def svm_loss_vectorized(W, X, y, reg):
    n = np.arange(X.shape[0])
    s = X.dot(W)
    m = np.maximum(0, s - s[n, y][:, None] + 1)
    m[n, y] = 0
    b = (m > 0).astype(float)
    b[n, y] = -b.sum(axis=1)
    return m.sum() / len(n) + reg * np.sum(W * W), X.T.dot(b) / len(n) + 2 * reg * W
"""

BUGS = {
    # svm: the regularization gradient forgotten
    "svm_loss_vectorized": CORRECT.replace("X.T.dot(b) / len(n) + 2 * reg * W", "X.T.dot(b) / len(n)"),
    # softmax: the loss not averaged over the batch (gradient still averaged)
    "softmax_loss_naive": CORRECT.replace("return loss / X.shape[0] +", "return loss +"),
}


def _grade(tmp_path, source, name="student.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    out = tmp_path / "out.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "gradient_check", "--module", str(path), "--json", str(out),
                           "--no-progress"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    return proc, json.loads(out.read_text())


def test_correct_linear_losses_pass(tmp_path):
    proc, report = _grade(tmp_path, CORRECT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    checked = {(r["layer"], r["input"]) for r in report["results"]}
    assert {("softmax_loss_naive", "W"), ("svm_loss_vectorized", "W")} <= checked
    assert {("softmax_loss_naive", "(forward)"), ("svm_loss_vectorized", "(forward)")} <= checked
    assert all(r["status"] == "pass" for r in report["results"])


@pytest.mark.parametrize("bad", sorted(BUGS))
def test_a_wrong_linear_loss_fails_and_is_named(tmp_path, bad):
    proc, report = _grade(tmp_path, BUGS[bad])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    failed = {r["layer"] for r in report["results"] if r["status"] != "pass"}
    assert failed == {bad}, report["results"]
