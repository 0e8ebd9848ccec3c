"""Minibatch training of a captioning model, with CS231n's ``CaptioningSolver`` interface (assignment 3).

A model is any object with

- ``model.params``: dict mapping a parameter name to an ndarray;
- ``model.loss(features, captions)``: returns ``(loss, grads)``, ``grads`` keyed like ``params``.

The data is a dict in the COCO layout of :mod:`coco_utils` (``load_coco_data``, or the offline
``load_digits_captions``). Each iteration draws a minibatch of captions with
:func:`coco_utils.sample_coco_minibatch` and applies an update rule of :mod:`optim` to every
parameter; the learning rate decays after every epoch. The course's captioning solver measures no
accuracy and keeps no "best" parameters: after ``train()`` the model holds the last parameters.

Randomness, as in CS231n: minibatches are drawn from numpy's global generator, so
``np.random.seed(k)`` before building the model and training reproduces a run draw for draw.
``seed=k`` (an addition, as in :class:`solver.Solver`) gives the solver a private
``np.random.RandomState(k)`` instead and leaves the global state alone.
"""

from __future__ import annotations

import numpy as np

import optim
from classifiers._common import check_positive_int, check_seed, random_source
from coco_utils import sample_coco_minibatch
from solver import check_int, check_optim_config, check_solver_arguments, decay_learning_rates, take_update

__all__ = ["CaptioningSolver"]


class CaptioningSolver:
    """Train a captioning model with minibatch first-order updates.

    Parameters
    ----------
    model : object
        Has ``params`` and ``loss(features, captions)`` as described in the module docstring.
    data : dict
        ``train_captions`` (N_cap, T + 1), ``train_image_idxs`` (N_cap,), ``train_features``
        (N_img, D) at least (the layout of :mod:`coco_utils`).
    update_rule : str or callable
        A rule name in :mod:`optim` (``'sgd'``, ``'sgd_momentum'``, ``'rmsprop'``, ``'adam'``) or any
        ``rule(w, dw, config) -> (next_w, config)``.
    optim_config : dict
        Hyper-parameters of the rule; each parameter gets its own copy (never the dict passed).
    lr_decay : float
        ``learning_rate`` is multiplied by this after every epoch.
    batch_size : int
        Captions per update.
    num_epochs : int
        An epoch is ``max(N_cap // batch_size, 1)`` updates.
    print_every : int
        Print the loss every this many iterations when ``verbose`` (iterations 1, 1 + print_every, ...).
    verbose : bool
    seed : int or None
        An addition: a private generator for the minibatches (None: numpy's global one, as in CS231n).

    Any other keyword raises ``ValueError`` naming it, as in CS231n.

    Attributes
    ----------
    loss_history : list of float
        Training loss of every iteration.
    epoch : int
        Epochs completed.
    optim_configs : dict
        The update rule's state per parameter.
    """

    def __init__(self, model, data, *, update_rule="sgd", optim_config=None, lr_decay=1.0, batch_size=100,
                 num_epochs=10, print_every=10, verbose=True, seed=None, **unknown):
        check_solver_arguments(model, unknown, lr_decay, "features, captions")
        _check_data(data)
        optim_config = check_optim_config(optim_config)
        self.model = model
        self.data = data
        self.update_rule = optim.get_update_rule(update_rule)
        self.optim_config = optim_config
        self.lr_decay = float(lr_decay)
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.num_epochs = check_int("num_epochs", num_epochs, 0)
        self.print_every = check_positive_int(print_every, "print_every")
        self.verbose = bool(verbose)
        self.seed = check_seed(seed)
        self._reset()

    def _reset(self):
        """Set up the book-keeping; called once by ``__init__``."""
        self.rng = random_source(self.seed)
        self.epoch = 0
        self.loss_history = []
        # One config per parameter: momentum / Adam state has each parameter's shape.
        self.optim_configs = {p: dict(self.optim_config) for p in self.model.params}

    def _step(self):
        """One minibatch update; return its loss."""
        captions, features, _ = sample_coco_minibatch(self.data, batch_size=self.batch_size, split="train",
                                                      rng=None if self.seed is None else self.rng)
        loss, grads = self.model.loss(features, captions)
        return take_update(self, loss, grads)

    def train(self):
        """Run ``num_epochs`` epochs of updates (a second call continues from where the first stopped)."""
        num_train = self.data["train_captions"].shape[0]
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        for t in range(num_iterations):
            loss = self._step()
            if self.verbose and t % self.print_every == 0:
                print(f"(Iteration {t + 1} / {num_iterations}) loss: {loss:f}")
            if (t + 1) % iterations_per_epoch == 0:
                self.epoch += 1
                decay_learning_rates(self.optim_configs, self.lr_decay)


def _check_data(data):
    if not isinstance(data, dict):
        raise TypeError(f"data must be a dict in the COCO layout (coco_utils), got {type(data).__name__}")
    missing = [k for k in ("train_captions", "train_image_idxs", "train_features") if k not in data]
    if missing:
        raise ValueError(f"data is missing {missing}; expected the layout of coco_utils.load_coco_data")
    n = np.shape(data["train_captions"])[0] if np.ndim(data["train_captions"]) == 2 else 0
    if n == 0:
        raise ValueError(f"train_captions must be a non-empty (N_cap, T + 1) array, got shape "
                         f"{np.shape(data['train_captions'])}")
    if np.shape(data["train_image_idxs"]) != (n,):
        raise ValueError(f"train_image_idxs must have one image index per caption, shape ({n},), got shape "
                         f"{np.shape(data['train_image_idxs'])}")
