"""The classic CS231n-compatible functions of gradient_check, against hand-worked cases."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import gradient_check as gc
from layers import conv_backward_naive, conv_forward_naive

ROOT = Path(__file__).resolve().parents[2]


class Blob:
    def __init__(self, vals, diffs=None):
        self.vals = vals
        self.diffs = diffs


def test_rel_error_hand_cases():
    assert gc.rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert gc.rel_error(1.0, 3.0) == pytest.approx(0.5)              # |1-3| / (1+3)
    assert gc.rel_error([1.0, 10.0], [1.0, 12.0]) == pytest.approx(2 / 22)
    assert gc.rel_error(0.0, 1e-10) == pytest.approx(1e-2)           # floor 1e-8 in the denominator
    assert gc.rel_error(np.zeros(0), np.zeros(0)) == 0.0
    with pytest.raises(ValueError, match="one shape"):
        gc.rel_error(np.zeros(2), np.zeros(3))


def test_eval_numerical_gradient_of_sum_of_cubes_is_three_x_squared(capsys):
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    grad = gc.eval_numerical_gradient(lambda z: np.sum(z ** 3), x, verbose=False)
    np.testing.assert_allclose(grad, [[3.0, 12.0], [0.75, 27.0]], rtol=1e-8)
    assert capsys.readouterr().out == ""
    gc.eval_numerical_gradient(lambda z: np.sum(z ** 3), x, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[0].startswith("(0, 0)")


def test_eval_numerical_gradient_array_hand_cases():
    x = np.array([1.0, -2.0, 3.0])
    df = np.array([1.0, 10.0, -1.0])
    # f(x) = x**2 elementwise: d(sum(f * df))/dx = 2 x df
    np.testing.assert_allclose(gc.eval_numerical_gradient_array(lambda z: z ** 2, x, df), [2.0, -40.0, -6.0],
                               rtol=1e-8)
    # f(x) = (x0 * x1, x1 + x2): gradient of df0 * x0 x1 + df1 * (x1 + x2)
    f = lambda z: np.array([z[0] * z[1], z[1] + z[2]])  # noqa: E731
    np.testing.assert_allclose(gc.eval_numerical_gradient_array(f, x, np.array([2.0, 5.0])),
                               [2 * -2.0, 2 * 1.0 + 5.0, 5.0], rtol=1e-8)


def test_eval_numerical_gradient_array_reproduces_the_conv_gradient():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 2, 4, 4)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    cp = {"stride": 1, "pad": 1}
    out, cache = conv_forward_naive(x, w, b, cp)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_backward_naive(dout, cache)
    dx_num = gc.eval_numerical_gradient_array(lambda z: conv_forward_naive(z, w, b, cp)[0], x, dout)
    dw_num = gc.eval_numerical_gradient_array(lambda z: conv_forward_naive(x, z, b, cp)[0], w, dout)
    assert gc.rel_error(dx, dx_num) < 1e-7 and gc.rel_error(dw, dw_num) < 1e-7


def test_eval_numerical_gradient_blobs_of_a_product():
    a, b = Blob(np.array([1.0, 2.0, -3.0])), Blob(np.array([4.0, -1.0, 0.5]))
    out = Blob(np.zeros(3), diffs=np.array([1.0, 2.0, 3.0]))

    calls = []

    def f(u, v, result):  # the CS231n convention: inputs, then the output blob to write into
        calls.append(result)
        result.vals[...] = u.vals * v.vals

    da, db = gc.eval_numerical_gradient_blobs(f, (a, b), out)
    assert calls and all(r is out for r in calls)
    np.testing.assert_allclose(da, b.vals * out.diffs, rtol=1e-8)
    np.testing.assert_allclose(db, a.vals * out.diffs, rtol=1e-8)


def test_eval_numerical_gradient_net_calls_forward_without_arguments():
    x, w = Blob(np.array([[1.0, -2.0]])), Blob(np.array([[0.5], [3.0]]))
    out = Blob(np.zeros((1, 1)), diffs=np.array([[2.0]]))

    class Net:
        def forward(self):
            out.vals[...] = np.tanh(x.vals @ w.vals)

    dx, dw = gc.eval_numerical_gradient_net(Net(), (x, w), out)
    s = 1 - np.tanh(x.vals @ w.vals) ** 2
    np.testing.assert_allclose(dx, 2.0 * s * w.vals.T, rtol=1e-6)
    np.testing.assert_allclose(dw, 2.0 * s * x.vals.T, rtol=1e-6)


def test_grad_check_sparse_without_seed_follows_the_global_generator(capsys):
    x = np.random.default_rng(3).standard_normal((6, 7))
    f = lambda z: float(np.sum(z ** 3))  # noqa: E731
    np.random.seed(11)
    gc.grad_check_sparse(f, x, 3 * x ** 2, num_checks=5)
    first = capsys.readouterr().out
    np.random.seed(11)
    gc.grad_check_sparse(f, x, 3 * x ** 2, num_checks=5)
    assert capsys.readouterr().out == first
    np.random.seed(0)
    state = np.random.get_state()[1].copy()
    gc.grad_check_sparse(f, x, 3 * x ** 2, num_checks=5, seed=4)  # an explicit seed leaves it alone
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_grad_check_sparse_small_errors_for_right_gradient_large_for_wrong(capsys):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5))
    f = lambda z: float(np.sum(z ** 3))  # noqa: E731
    errs = gc.grad_check_sparse(f, x, 3 * x ** 2, num_checks=6, seed=1)
    assert len(errs) == 6 and max(errs) < 1e-7
    assert len(capsys.readouterr().out.splitlines()) == 6
    wrong = gc.grad_check_sparse(f, x, 2 * x ** 2, num_checks=6, seed=1)
    assert min(wrong) == pytest.approx(0.2, rel=1e-6)   # |2 - 3| / (2 + 3) at every element
    assert gc.grad_check_sparse(f, x, 3 * x ** 2, num_checks=4, seed=7) == \
        gc.grad_check_sparse(f, x, 3 * x ** 2, num_checks=4, seed=7)
    with pytest.raises(ValueError, match="shape"):
        gc.grad_check_sparse(f, x, np.zeros(3))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_probe_restores_x_bit_for_bit(dtype):
    # 0.1 + h - h != 0.1 in floating point: restoring by subtraction would drift.
    x = (np.arange(12).reshape(3, 4) * 0.1 + 0.1).astype(dtype)
    before = x.tobytes()
    gc.eval_numerical_gradient(lambda z: float(np.sum(np.sin(z))), x, verbose=False)
    gc.eval_numerical_gradient_array(lambda z: np.sin(z), x, np.ones((3, 4)))
    gc.grad_check_sparse(lambda z: float(np.sum(z)), x, np.ones((3, 4)), num_checks=5, seed=0)
    blob = Blob(x)
    gc.eval_numerical_gradient_blobs(lambda u, out: None, (blob,), Blob(np.zeros(1), np.ones(1)))
    assert x.tobytes() == before


def test_x_restored_even_when_f_raises():
    x = np.array([0.1, 0.2])
    before = x.copy()
    calls = []

    def f(z):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return float(z.sum())

    with pytest.raises(RuntimeError):
        gc.eval_numerical_gradient(f, x, verbose=False)
    assert np.array_equal(x, before)


def test_probe_targets_are_validated():
    with pytest.raises(TypeError, match="floating"):
        gc.eval_numerical_gradient(lambda z: 0.0, np.arange(3), verbose=False)
    with pytest.raises(TypeError, match="ndarray"):
        gc.eval_numerical_gradient(lambda z: 0.0, [1.0, 2.0], verbose=False)
    ro = np.ones(3)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        gc.eval_numerical_gradient_array(lambda z: z, ro, np.ones(3))


def test_no_future_or_python2_compat_dependency():
    import _gradcheck
    import gradient_check

    for path in [Path(gradient_check.__file__), *sorted(Path(_gradcheck.__file__).parent.glob("*.py"))]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                mods = [node.module or ""]
            else:
                continue
            for m in mods:
                assert m.split(".")[0] not in {"future", "past", "builtins", "six"}, f"{path.name} imports {m}"


def test_classic_names_and_layer_checker_are_exported():
    for name in ("rel_error", "eval_numerical_gradient", "eval_numerical_gradient_array",
                 "eval_numerical_gradient_blobs", "eval_numerical_gradient_net", "grad_check_sparse", "check_layer", "LayerCheck", "main"):
        assert name in gc.__all__ and callable(getattr(gc, name))
