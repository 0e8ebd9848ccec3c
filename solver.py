"""Minibatch training of a classification model, with the CS231n ``Solver`` interface.

A model is any object with

- ``model.params``: dict mapping a parameter name to an ndarray;
- ``model.loss(X, y=None)``: with ``y`` returns ``(loss, grads)``, ``grads`` keyed like
  ``params``; without ``y`` returns class scores of shape (N, num_classes) (test mode).

The solver samples minibatches from its own seeded generator (never the global numpy RNG),
applies an update rule from :mod:`optim` to every parameter, records the loss and the
train / validation accuracies once per epoch, and leaves ``model.params`` at the parameters
that scored best on the validation set.

Notation
--------
N : number of examples
D... : shape of one example, e.g. (C, H, W) for images
"""

from __future__ import annotations

import pickle
import sys
import time

import numpy as np

import optim

__all__ = ["Solver"]


def _progress_factory():
    """Return a tqdm class suited to where we run, or None when tqdm is not installed."""
    try:
        import tqdm.std
    except ImportError:
        return None
    try:
        # The widget bar needs ipywidgets; without it tqdm.auto would warn and fall back anyway,
        # so pick the text bar directly (Jupyter renders its carriage returns fine).
        import ipywidgets  # noqa: F401
        from tqdm.auto import tqdm as auto_tqdm
        return auto_tqdm
    except ImportError:
        return tqdm.std.tqdm


class Solver:
    """Train a model with minibatch first-order updates.

    Parameters
    ----------
    model : object
        Has ``params`` and ``loss(X, y=None)`` as described in the module docstring.
    data : dict
        ``'X_train'`` (N_train, D...), ``'y_train'`` (N_train,), ``'X_val'`` (N_val, D...),
        ``'y_val'`` (N_val,). Extra keys are ignored.
    update_rule : str or callable
        A rule name in :mod:`optim` (``'sgd'``, ``'sgd_momentum'``, ``'rmsprop'``, ``'adam'``)
        or any ``rule(w, dw, config) -> (next_w, config)``.
    optim_config : dict
        Hyper-parameters for the rule. Each parameter gets its own copy (the rules keep
        per-parameter state in it); the dict passed here is never modified.
    lr_decay : float
        ``learning_rate`` is multiplied by this after every epoch.
    batch_size : int
        Examples per update.
    num_epochs : int
        Passes over the training set (an epoch is ``max(N_train // batch_size, 1)`` updates).
    num_train_samples : int or None
        Training examples sampled to measure train accuracy each epoch (None: all).
    num_val_samples : int or None
        Validation examples used for val accuracy (None: all).
    checkpoint_name : str or None
        If given, pickle ``{model, histories, config}`` to ``<checkpoint_name>_epoch_<k>.pkl``
        after every epoch.
    print_every : int
        Print the training loss every this many iterations when ``verbose``.
    verbose : bool
        Print progress: a bar per epoch (tqdm, when installed) and plain lines otherwise.
    seed : int or None
        Seed of the solver's generator for minibatches and accuracy subsamples
        (None: fresh randomness each run).

    Attributes
    ----------
    loss_history : list of float
        Training loss of every iteration.
    train_acc_history, val_acc_history : list of float
        Accuracies measured at the start and at the end of every epoch.
    best_val_acc : float
    best_params : dict
        Copies of the parameters that reached ``best_val_acc``.
    epoch : int
        Epochs completed.
    """

    def __init__(self, model, data, update_rule="sgd", optim_config=None, lr_decay=1.0, batch_size=100,
                 num_epochs=10, num_train_samples=1000, num_val_samples=None, checkpoint_name=None,
                 print_every=10, verbose=True, seed=None):
        if not hasattr(model, "params") or not callable(getattr(model, "loss", None)):
            raise TypeError("model must have a .params dict and a .loss(X, y=None) method")
        if not isinstance(data, dict):
            raise TypeError(f"data must be a dict, got {type(data).__name__}")
        missing = [k for k in ("X_train", "y_train", "X_val", "y_val") if k not in data]
        if missing:
            raise ValueError(f"data is missing {missing}; expected X_train, y_train, X_val, y_val")
        for split in ("train", "val"):
            X, y = data[f"X_{split}"], data[f"y_{split}"]
            if len(X) != len(y):
                raise ValueError(f"X_{split} has {len(X)} examples but y_{split} has {len(y)} labels")
        if len(data["X_train"]) == 0:
            raise ValueError("X_train is empty")
        for name, value, low in (("batch_size", batch_size, 1), ("num_epochs", num_epochs, 0),
                                 ("print_every", print_every, 1)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        if not isinstance(lr_decay, (int, float)) or not 0 < lr_decay:
            raise ValueError(f"lr_decay must be a positive number, got {lr_decay!r}")
        if optim_config is None:
            optim_config = {}
        if not isinstance(optim_config, dict):
            raise TypeError(f"optim_config must be a dict, got {type(optim_config).__name__}")

        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]
        self.update_rule = optim.get_update_rule(update_rule)
        self.update_rule_name = update_rule if isinstance(update_rule, str) else getattr(
            update_rule, "__name__", repr(update_rule))
        self.optim_config = dict(optim_config)
        self.lr_decay = float(lr_decay)
        self.batch_size = int(batch_size)
        self.num_epochs = int(num_epochs)
        self.num_train_samples = num_train_samples
        self.num_val_samples = num_val_samples
        self.checkpoint_name = checkpoint_name
        self.print_every = int(print_every)
        self.verbose = bool(verbose)
        self.seed = seed
        self._reset()

    def _reset(self):
        """Set up the book-keeping; called once by ``__init__``."""
        self.rng = np.random.default_rng(self.seed)
        self.epoch = 0
        self.best_val_acc = 0.0
        self.best_params = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        # One config per parameter: momentum / Adam state is per parameter, and a shared
        # dict would mix arrays of different shapes.
        self.optim_configs = {p: dict(self.optim_config) for p in self.model.params}

    def _step(self):
        """Run one minibatch update; return the minibatch loss."""
        num_train = len(self.X_train)
        idx = self.rng.choice(num_train, self.batch_size)
        loss, grads = self.model.loss(self.X_train[idx], self.y_train[idx])
        loss = float(loss)
        self.loss_history.append(loss)
        for p, w in self.model.params.items():
            if p not in grads:
                raise KeyError(f"model.loss returned no gradient for parameter {p!r}")
            next_w, self.optim_configs[p] = self.update_rule(w, grads[p], self.optim_configs[p])
            self.model.params[p] = next_w
        return loss

    def _save_checkpoint(self):
        if self.checkpoint_name is None:
            return
        checkpoint = {
            "model": self.model,
            "update_rule": self.update_rule_name,
            "lr_decay": self.lr_decay,
            "optim_config": self.optim_config,
            "batch_size": self.batch_size,
            "num_train_samples": self.num_train_samples,
            "num_val_samples": self.num_val_samples,
            "epoch": self.epoch,
            "loss_history": self.loss_history,
            "train_acc_history": self.train_acc_history,
            "val_acc_history": self.val_acc_history,
        }
        filename = f"{self.checkpoint_name}_epoch_{self.epoch}.pkl"
        if self.verbose:
            print(f'Saving checkpoint to "{filename}"')
        with open(filename, "wb") as fh:
            pickle.dump(checkpoint, fh)

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Return the fraction of ``X`` the model classifies as ``y``.

        Parameters
        ----------
        X : ndarray, shape (N, D...)
        y : ndarray of int, shape (N,)
        num_samples : int or None
            Measure on a random subset of this many examples (drawn from the solver's
            generator) instead of all N.
        batch_size : int
            Examples per call to ``model.loss`` (bounds the memory used).

        Returns
        -------
        float
            Accuracy in [0, 1].
        """
        N = len(X)
        if N == 0:
            raise ValueError("check_accuracy needs at least one example")
        if num_samples is not None and num_samples < N:
            idx = self.rng.choice(N, num_samples)
            X, y = X[idx], y[idx]
            N = num_samples
        preds = []
        for start in range(0, N, batch_size):
            scores = self.model.loss(X[start:start + batch_size])
            preds.append(np.argmax(scores, axis=1))
        return float(np.mean(np.concatenate(preds) == y))

    def _record_accuracies(self):
        train_acc = self.check_accuracy(self.X_train, self.y_train, num_samples=self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, num_samples=self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        self._save_checkpoint()
        if val_acc > self.best_val_acc or not self.best_params:
            self.best_val_acc = val_acc
            self.best_params = {k: v.copy() for k, v in self.model.params.items()}
        return train_acc, val_acc

    def train(self):
        """Run the optimization; afterwards ``model.params`` holds the best parameters seen.

        Returns
        -------
        Solver
            ``self``, so that ``Solver(...).train().best_val_acc`` reads naturally.
        """
        num_train = len(self.X_train)
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        progress = _progress_factory() if self.verbose else None
        say = print
        start = time.perf_counter()

        train_acc, val_acc = self._record_accuracies()
        if self.verbose:
            say(f"(Epoch 0 / {self.num_epochs}) train acc: {train_acc:.6f}; val_acc: {val_acc:.6f}")
        t = 0
        for epoch in range(self.num_epochs):
            bar = None
            if progress is not None:
                bar = progress(total=iterations_per_epoch, desc=f"epoch {epoch + 1}/{self.num_epochs}",
                               leave=False, file=sys.stdout, mininterval=0.5)
                say = bar.write
            for _ in range(iterations_per_epoch):
                loss = self._step()
                t += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
                if self.verbose and t % self.print_every == 0:
                    say(f"(Iteration {t} / {num_iterations}) loss: {loss:f}")
            if bar is not None:
                bar.close()
                say = print
            self.epoch += 1
            for config in self.optim_configs.values():
                if "learning_rate" in config:
                    config["learning_rate"] *= self.lr_decay
            train_acc, val_acc = self._record_accuracies()
            if self.verbose:
                elapsed = time.perf_counter() - start
                say(f"(Epoch {self.epoch} / {self.num_epochs}) train acc: {train_acc:.6f}; "
                    f"val_acc: {val_acc:.6f}  [{elapsed:.1f}s]")
        self.model.params = self.best_params
        return self
