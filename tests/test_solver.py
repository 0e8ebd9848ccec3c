"""Solver: overfits a tiny batch, keeps the best parameters, is seeded, decays the rate, checkpoints."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import solver as solver_module
from classifiers import FullyConnectedNet
from solver import Solver


class StepModel:
    """A model whose one parameter ``w`` grows by lr each update and which predicts class round(w).

    ``loss`` returns gradient -1, so sgd moves w by +lr per iteration; scores put all mass on
    class ``round(w)``, so the accuracy on labels that are all 2 is 1 exactly when w rounds to 2.
    """

    def __init__(self):
        self.params = {"w": np.array([0.0])}
        self.calls = 0

    def loss(self, X, y=None):
        self.calls += 1
        scores = np.zeros((len(X), 5))
        scores[:, int(np.clip(np.rint(self.params["w"][0]), 0, 4))] = 1.0
        if y is None:
            return scores
        return 0.0, {"w": np.array([-1.0])}


def _step_data(n_train=4):
    X = np.zeros((n_train, 1))
    return {"X_train": X, "y_train": np.full(n_train, 2), "X_val": np.zeros((3, 1)), "y_val": np.full(3, 2)}


def test_solver_keeps_the_parameters_with_the_best_validation_accuracy():
    model = StepModel()
    # batch_size 4 on 4 examples: one update per epoch, so after epoch k, w = k.
    s = Solver(model, _step_data(), update_rule="sgd", optim_config={"learning_rate": 1.0},
               batch_size=4, num_epochs=5, verbose=False, seed=0)
    s.train()
    # Accuracies are measured before training (w=0) and after each epoch (w=1..5).
    assert s.val_acc_history == [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    assert s.best_val_acc == 1.0
    np.testing.assert_array_equal(model.params["w"], [2.0])
    assert len(s.loss_history) == 5


def test_solver_overfits_a_tiny_batch_to_full_train_accuracy():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3, 4, 4))
    y = rng.integers(0, 10, size=20)
    data = {"X_train": X, "y_train": y, "X_val": X[:5], "y_val": y[:5]}
    model = FullyConnectedNet([50], input_dim=48, weight_scale=0.1, dtype=np.float64, seed=0)
    s = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-2},
               batch_size=10, num_epochs=30, num_train_samples=None, verbose=False, seed=0)
    s.train()
    assert s.train_acc_history[-1] == 1.0
    assert s.check_accuracy(X, y) == 1.0
    assert s.loss_history[-1] < 0.1 * s.loss_history[0]


def test_solver_histories_have_one_entry_per_iteration_and_per_epoch():
    rng = np.random.default_rng(1)
    data = {"X_train": rng.standard_normal((50, 6)), "y_train": rng.integers(0, 3, 50),
            "X_val": rng.standard_normal((7, 6)), "y_val": rng.integers(0, 3, 7)}
    model = FullyConnectedNet([5], input_dim=6, num_classes=3, seed=0)
    s = Solver(model, data, batch_size=20, num_epochs=3, verbose=False, seed=0)
    s.train()
    # 50 // 20 = 2 iterations per epoch.
    assert len(s.loss_history) == 6
    assert len(s.train_acc_history) == len(s.val_acc_history) == 4
    assert s.epoch == 3


def _run(seed, **kwargs):
    rng = np.random.default_rng(2)
    data = {"X_train": rng.standard_normal((40, 6)), "y_train": rng.integers(0, 3, 40),
            "X_val": rng.standard_normal((7, 6)), "y_val": rng.integers(0, 3, 7)}
    model = FullyConnectedNet([5], input_dim=6, num_classes=3, weight_scale=0.5, dtype=np.float64, seed=0)
    kwargs.setdefault("verbose", False)
    s = Solver(model, data, batch_size=8, num_epochs=2, seed=seed, **kwargs)
    s.train()
    return s


def test_solver_seed_makes_minibatches_reproducible_without_the_global_rng():
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    a, b, c = _run(0), _run(0), _run(1)
    assert a.loss_history == b.loss_history
    assert a.loss_history != c.loss_history
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_solver_decays_the_learning_rate_each_epoch_and_leaves_optim_config_alone():
    config = {"learning_rate": 1e-2, "momentum": 0.5}
    s = _run(0, update_rule="sgd_momentum", optim_config=config, lr_decay=0.5)
    assert config == {"learning_rate": 1e-2, "momentum": 0.5}
    for p, cfg in s.optim_configs.items():
        # Two epochs: 1e-2 * 0.5 * 0.5.
        assert cfg["learning_rate"] == pytest.approx(2.5e-3, rel=1e-12), p
        assert cfg["velocity"].shape == s.model.params[p].shape


def test_solver_accepts_a_callable_update_rule():
    seen = []

    def halve(w, dw, config):
        seen.append(w.shape)
        return w * 0.5, config

    s = _run(0, update_rule=halve)
    # 40 // 8 = 5 iterations per epoch, 2 epochs, 4 parameters.
    assert len(seen) == 5 * 2 * 4


def test_check_accuracy_counts_argmax_matches_in_batches():
    class Identity:
        params = {}

        def loss(self, X, y=None):
            return X

    X = np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 2.0], [0.0, 5.0], [2.0, 1.0]])
    s = Solver(Identity(), {"X_train": X, "y_train": np.zeros(5, int), "X_val": X, "y_val": np.zeros(5, int)},
               verbose=False)
    # Predictions 0, 1, 0, 1, 0 against labels 0, 0, 0, 1, 1: three right.
    assert s.check_accuracy(X, np.array([0, 0, 0, 1, 1]), batch_size=2) == pytest.approx(0.6)


def test_solver_prints_progress_with_and_without_tqdm(capsys, monkeypatch):
    _run(0, verbose=True, print_every=3)
    out = capsys.readouterr().out
    assert "(Epoch 0 / 2)" in out and "(Epoch 2 / 2)" in out and "(Iteration 3 / 10)" in out
    monkeypatch.setattr(solver_module, "_progress_factory", lambda: None)
    _run(0, verbose=True, print_every=3)
    out = capsys.readouterr().out
    assert "(Iteration 9 / 10)" in out and "(Epoch 1 / 2)" in out


def test_solver_is_silent_when_not_verbose(capsys):
    _run(0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_solver_writes_loadable_checkpoints(tmp_path):
    s = _run(0, checkpoint_name=str(tmp_path / "ck"))
    with open(tmp_path / "ck_epoch_2.pkl", "rb") as fh:
        ck = pickle.load(fh)
    assert ck["epoch"] == 2 and ck["update_rule"] == "sgd"
    assert ck["val_acc_history"] == s.val_acc_history
    assert (tmp_path / "ck_epoch_0.pkl").exists()


@pytest.mark.parametrize("kwargs, err, match", [
    ({"update_rule": "nesterov"}, ValueError, "unknown update rule"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"lr_decay": -1.0}, ValueError, "lr_decay"),
    ({"optim_config": [1]}, TypeError, "optim_config"),
])
def test_solver_rejects_bad_arguments(kwargs, err, match):
    with pytest.raises(err, match=match):
        Solver(StepModel(), _step_data(), **kwargs)


def test_solver_rejects_data_without_validation_split():
    data = _step_data()
    del data["y_val"]
    with pytest.raises(ValueError, match="y_val"):
        Solver(StepModel(), data)
