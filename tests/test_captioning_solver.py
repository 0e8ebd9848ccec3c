"""Tests for captioning_solver.py: the course's options, reproducibility, and that training learns."""

from __future__ import annotations

import numpy as np
import pytest

import coco_utils as cu
from captioning_solver import CaptioningSolver
from classifiers.rnn import CaptioningRNN


@pytest.fixture(scope="module")
def small_data():
    data = cu.load_digits_captions()
    data["train_captions"] = data["train_captions"][:40]
    data["train_image_idxs"] = data["train_image_idxs"][:40]
    return data


def _train(data, cell="rnn", seed=None, epochs=2, **kw):
    np.random.seed(231)
    model = CaptioningRNN(data["word_to_idx"], input_dim=64, wordvec_dim=16, hidden_dim=32, cell_type=cell)
    solver = CaptioningSolver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-2},
                              num_epochs=epochs, batch_size=20, verbose=False, seed=seed, **kw)
    solver.train()
    return model, solver


def test_np_random_seed_reproduces_a_run(small_data):
    (a, sa), (b, sb) = _train(small_data), _train(small_data)
    assert sa.loss_history == sb.loss_history
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)


def test_seed_gives_a_private_generator_and_leaves_the_global_one_alone(small_data):
    np.random.seed(7)
    want = np.random.rand()
    model = CaptioningRNN(small_data["word_to_idx"], input_dim=64, wordvec_dim=8, hidden_dim=8)
    histories = []
    for _ in range(2):
        np.random.seed(7)
        solver = CaptioningSolver(model, small_data, num_epochs=1, batch_size=20, verbose=False, seed=11,
                                  optim_config={"learning_rate": 0.0})
        solver.train()
        histories.append(solver.loss_history)
        assert np.random.rand() == want, "training with seed= drew from numpy's global generator"
    assert histories[0] == histories[1]


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_training_overfits_a_few_captions(small_data, cell):
    model, solver = _train(small_data, cell, epochs=40)
    iterations = 40 * (40 // 20)
    assert len(solver.loss_history) == iterations and solver.epoch == 40
    assert solver.loss_history[-1] < 0.1 * solver.loss_history[0]
    sampled = cu.decode_captions(model.sample(small_data["train_features"][:10], 8), small_data["idx_to_word"])
    truth = cu.decode_captions(small_data["train_captions"][:10, 1:], small_data["idx_to_word"])
    assert sum(s == t for s, t in zip(sampled, truth)) >= 8, (sampled, truth)


def test_learning_rate_decays_every_epoch(small_data):
    _, solver = _train(small_data, epochs=3, lr_decay=0.5)
    assert all(c["learning_rate"] == pytest.approx(1e-2 * 0.5 ** 3) for c in solver.optim_configs.values())


def test_verbose_prints_the_course_progress_line(small_data, capsys):
    np.random.seed(0)
    model = CaptioningRNN(small_data["word_to_idx"], input_dim=64, wordvec_dim=8, hidden_dim=8)
    CaptioningSolver(model, small_data, num_epochs=1, batch_size=20, print_every=1,
                     optim_config={"learning_rate": 1e-3}).train()
    assert "(Iteration 1 / 2) loss: " in capsys.readouterr().out


@pytest.mark.parametrize("kw, exc, words", [
    ({"learning_rate": 1e-3}, ValueError, 'Unrecognized arguments "learning_rate"'),
    ({"update_rule": "sgdd"}, ValueError, "unknown update rule"),
    ({"lr_decay": 0}, ValueError, "lr_decay"),
    ({"batch_size": 0}, ValueError, "batch_size"),
])
def test_bad_options_are_refused(small_data, kw, exc, words):
    model = CaptioningRNN(small_data["word_to_idx"], input_dim=64)
    with pytest.raises(exc, match=words):
        CaptioningSolver(model, small_data, **kw)


def test_data_without_captions_is_refused():
    model = CaptioningRNN({"<NULL>": 0}, input_dim=3)
    with pytest.raises(ValueError, match="train_captions"):
        CaptioningSolver(model, {"train_features": np.zeros((1, 3))})
