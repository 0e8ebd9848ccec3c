"""Solver: overfits a tiny batch, keeps the best parameters, reproduces under np.random.seed, decays
the rate, checkpoints, prints and fails the CS231n way, and can train twice."""

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
    assert s.train() is None
    # Accuracies are measured after the first iteration, which here also ends epoch 1 (w=1),
    # and after each later epoch (w=2..5).
    assert s.val_acc_history == [0.0, 1.0, 0.0, 0.0, 0.0]
    assert s.best_val_acc == 1.0
    np.testing.assert_array_equal(model.params["w"], [2.0])
    assert len(s.loss_history) == 5


def test_solver_overfits_a_tiny_batch_to_full_train_accuracy():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3, 4, 4))
    y = rng.integers(0, 10, size=20)
    data = {"X_train": X, "y_train": y, "X_val": X, "y_val": y}
    np.random.seed(0)
    model = FullyConnectedNet([50], input_dim=48, weight_scale=0.1, dtype=np.float64)
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


def _solver(seed, **kwargs):
    rng = np.random.default_rng(2)
    data = {"X_train": rng.standard_normal((40, 6)), "y_train": rng.integers(0, 3, 40),
            "X_val": rng.standard_normal((7, 6)), "y_val": rng.integers(0, 3, 7)}
    model = FullyConnectedNet([5], input_dim=6, num_classes=3, weight_scale=0.5, dtype=np.float64)
    for name, value in model.params.items():  # the same start for every run, whatever the global state
        model.params[name] = 0.5 * np.random.default_rng(3).standard_normal(value.shape)
    kwargs.setdefault("verbose", False)
    return Solver(model, data, batch_size=8, num_epochs=2, seed=seed, **kwargs)


def _run(seed, **kwargs):
    s = _solver(seed, **kwargs)
    s.train()
    return s


def test_solver_seed_makes_minibatches_reproducible_without_the_global_rng():
    a, b, c = _solver(0), _solver(0), _solver(1)
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    for s in (a, b, c):
        s.train()
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


def test_solver_prints_on_the_cs231n_schedule(capsys):
    # 40 examples, batch 8: 5 iterations per epoch, 10 in all. CS231n prints the loss when
    # t % print_every == 0 (0-based t, shown 1-based) and the accuracies after the first
    # iteration and at each epoch end.
    _run(0, verbose=True, print_every=3)
    lines = capsys.readouterr().out.splitlines()
    heads = [line.split(")")[0] + ")" for line in lines]
    assert heads == ["(Iteration 1 / 10)", "(Epoch 0 / 2)", "(Iteration 4 / 10)", "(Epoch 1 / 2)",
                     "(Iteration 7 / 10)", "(Iteration 10 / 10)", "(Epoch 2 / 2)"]
    assert lines[1].startswith("(Epoch 0 / 2) train acc: 0.") and "; val_acc: 0." in lines[1]


def test_solver_progress_bar_is_opt_in_and_keeps_the_lines(capsys, monkeypatch):
    _run(0, verbose=True, print_every=3, progress=True)
    out = capsys.readouterr().out
    assert "(Iteration 10 / 10)" in out and "(Epoch 2 / 2)" in out
    monkeypatch.setattr(solver_module, "_progress_factory", lambda: None)
    _run(0, verbose=True, print_every=3, progress=True)
    assert "(Epoch 1 / 2)" in capsys.readouterr().out


def test_solver_progress_bars_stay_in_the_output_one_per_epoch(capsys):
    pytest.importorskip("tqdm")
    _run(0, verbose=False, progress=True)
    out = capsys.readouterr().out
    # Each epoch's bar is left at its final state (a cleared bar leaves nothing in a saved notebook).
    finals = [seg for seg in out.replace("\n", "\r").split("\r") if "5/5" in seg]
    assert any(seg.startswith("epoch 1/2") for seg in finals), out
    assert any(seg.startswith("epoch 2/2") for seg in finals), out


def test_solver_progress_without_tqdm_says_so_once_and_prints_each_epoch(capsys, monkeypatch):
    monkeypatch.setattr(solver_module, "_progress_factory", lambda: None)
    monkeypatch.setattr(solver_module, "_notice_given", False)
    _run(0, verbose=False, progress=True)
    _run(0, verbose=False, progress=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines.count(solver_module._NO_TQDM_NOTICE) == 1, lines
    assert [line.split(" done")[0] for line in lines if " done, loss " in line] == ["epoch 1/2", "epoch 2/2"] * 2


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
    ({"num_train_samples": 0}, ValueError, "num_train_samples must be an int >= 1 or None, got 0"),
    ({"num_val_samples": -3}, ValueError, "num_val_samples"),
    ({"learning_rate": 1e-3}, ValueError, 'Unrecognized arguments "learning_rate"'),
])
def test_solver_rejects_bad_arguments(kwargs, err, match):
    with pytest.raises(err, match=match):
        Solver(StepModel(), _step_data(), **kwargs)


def test_solver_rejects_data_without_validation_split():
    data = _step_data()
    del data["y_val"]
    with pytest.raises(ValueError, match="y_val"):
        Solver(StepModel(), data)


def test_solver_accepts_numpy_scalars_wherever_python_numbers_go():
    s = Solver(StepModel(), _step_data(), lr_decay=np.float32(0.9), batch_size=np.int64(2),
               num_epochs=np.int32(1), num_train_samples=np.int64(3), verbose=False)
    assert s.lr_decay == pytest.approx(0.9) and s.batch_size == 2
    s.train()
    assert len(s.loss_history) == 2


def test_solver_refuses_validation_labels_out_of_range_instead_of_scoring_zero():
    data = _step_data()
    data["y_val"] = np.array([2, 7, 2])  # StepModel gives 5 class scores
    s = Solver(StepModel(), data, optim_config={"learning_rate": 1.0}, batch_size=4, verbose=False)
    with pytest.raises(ValueError, match="label 7 is out of range.*0..4"):
        s.train()
    data["y_val"] = np.array([2, -1, 2])
    with pytest.raises(ValueError, match="y_val must hold class indices"):
        Solver(StepModel(), data)


def _global_seed_run(seed):
    """Data, model and training all drawn from the global generator after np.random.seed(seed)."""
    np.random.seed(seed)
    data = {"X_train": np.random.randn(40, 6), "y_train": np.random.randint(3, size=40),
            "X_val": np.random.randn(9, 6), "y_val": np.random.randint(3, size=9)}
    model = FullyConnectedNet([7], input_dim=6, num_classes=3, weight_scale=0.5, dropout_keep_ratio=0.7,
                              dtype=np.float64)
    init = {k: v.copy() for k, v in model.params.items()}
    s = Solver(model, data, update_rule="sgd_momentum", optim_config={"learning_rate": 0.05},
               batch_size=8, num_epochs=2, num_train_samples=5, verbose=False)
    s.train()
    return init, s


def test_global_seed_reproduces_initialization_dropout_masks_and_minibatches():
    init_a, a = _global_seed_run(231)
    init_b, b = _global_seed_run(231)
    init_c, c = _global_seed_run(232)
    for name in init_a:
        np.testing.assert_array_equal(init_a[name], init_b[name])
        np.testing.assert_array_equal(a.model.params[name], b.model.params[name])
    assert a.loss_history == b.loss_history
    assert a.train_acc_history == b.train_acc_history and a.val_acc_history == b.val_acc_history
    assert a.loss_history != c.loss_history
    assert not np.array_equal(init_a["W1"], init_c["W1"])


def test_solver_minibatches_are_the_global_generators_choice_draws():
    # Without a seed the solver draws np.random.choice(N, batch_size), exactly as CS231n does.
    seen = []

    class Recorder(StepModel):
        def loss(self, X, y=None):
            if y is not None:
                seen.append(X[:, 0].copy())
            return super().loss(X, y)

    data = _step_data(10)
    data["X_train"] = np.arange(10.0)[:, None]
    np.random.seed(5)
    Solver(Recorder(), data, batch_size=3, num_epochs=1, num_train_samples=None, verbose=False).train()
    np.random.seed(5)
    expected = [np.random.choice(10, 3) for _ in range(3)]
    np.testing.assert_array_equal(np.array(seen), np.array(expected, dtype=float))


def test_solver_trained_twice_continues_and_ends_with_the_best_parameters():
    model = StepModel()
    s = Solver(model, _step_data(), optim_config={"learning_rate": 1.0}, batch_size=4, num_epochs=3,
               verbose=False)
    s.train()  # w = 1, 2, 3 after epochs 1..3; only w = 2 is right
    np.testing.assert_array_equal(model.params["w"], [2.0])
    assert not np.shares_memory(model.params["w"], s.best_params["w"])
    s.train()  # continues from w = 2: w = 3, 4, 5, all wrong
    assert s.val_acc_history == [0.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    assert len(s.loss_history) == 6 and s.epoch == 6
    np.testing.assert_array_equal(model.params["w"], [2.0])
    np.testing.assert_array_equal(s.best_params["w"], [2.0])
    assert not np.shares_memory(model.params["w"], s.best_params["w"])
    model.params["w"] += 100  # the model's arrays are its own
    np.testing.assert_array_equal(s.best_params["w"], [2.0])


def test_second_train_never_writes_into_best_params_even_with_in_place_rules():
    def in_place_sgd(w, dw, config):
        w -= config.get("learning_rate", 1.0) * dw
        return w, config

    model = StepModel()
    s = Solver(model, _step_data(), update_rule=in_place_sgd, batch_size=4, num_epochs=2, verbose=False)
    s.train()
    best = s.best_params["w"].copy()
    s.train()
    np.testing.assert_array_equal(s.best_params["w"], best)
