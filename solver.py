"""Minibatch training of a classification model, with the CS231n ``Solver`` interface.

A model is any object with

- ``model.params``: dict mapping a parameter name to an ndarray;
- ``model.loss(X, y=None)``: with ``y`` returns ``(loss, grads)``, ``grads`` keyed like
  ``params``; without ``y`` returns class scores of shape (N, num_classes) (test mode).

The solver samples minibatches, applies an update rule from :mod:`optim` to every parameter,
records the loss of every iteration and the train / validation accuracies after the first
iteration and at the end of every epoch, and leaves ``model.params`` at (copies of) the
parameters that scored best on the validation set.

Randomness, as in CS231n: minibatches and the accuracy subsamples are drawn with
``np.random.choice`` from numpy's global generator, so ``np.random.seed(k)`` before building the
model and training reproduces a run draw for draw. ``seed=k`` (an addition) gives the solver a
private ``np.random.RandomState(k)`` instead and leaves the global state alone.

Notation
--------
N : number of examples
D... : shape of one example, e.g. (C, H, W) for images
"""

from __future__ import annotations

import numbers
import pickle
import sys

import numpy as np

import optim
from classifiers._common import check_seed, random_source

__all__ = ["Solver"]


_NO_TQDM_NOTICE = ("Solver(progress=True): tqdm is not installed, so progress is one line per epoch "
                   "(pip install tqdm for a bar; in Jupyter also ipywidgets)")
_notice_given = False


def _progress_factory():
    """Return a tqdm class suited to where we run, or None when tqdm is not installed.

    tqdm.auto draws a widget in Jupyter; it needs ipywidgets, without which it would warn and fall
    back to the text bar anyway, so the text bar is picked directly then.
    """
    try:
        import tqdm.std
    except ImportError:
        return None
    try:
        import ipywidgets  # noqa: F401
        from tqdm.auto import tqdm as auto_tqdm
        return auto_tqdm
    except ImportError:
        return tqdm.std.tqdm


def _notice_once(say):
    global _notice_given
    if not _notice_given:
        _notice_given = True
        say(_NO_TQDM_NOTICE)


def _is_int(value) -> bool:
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(name, value, low, allow_none=False):
    """Check a count argument of a solver; return it as an int.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        An int or numpy integer (bools are refused), or None when ``allow_none``.
    low : int
        The smallest value allowed.
    allow_none : bool, optional

    Returns
    -------
    int or None
    """
    if value is None and allow_none:
        return None
    if not _is_int(value) or value < low:
        expected = f"an int >= {low}" + (" or None" if allow_none else "")
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value)


def check_solver_arguments(model, unknown, lr_decay, loss_signature):
    """The checks every solver makes first: no unknown keyword, a model with params and loss, a decay > 0."""
    if unknown:
        raise ValueError("Unrecognized arguments " + ", ".join(f'"{k}"' for k in unknown))
    if not hasattr(model, "params") or not callable(getattr(model, "loss", None)):
        raise TypeError(f"model must have a .params dict and a .loss({loss_signature}) method")
    if (not isinstance(lr_decay, numbers.Real) or isinstance(lr_decay, (bool, np.bool_))
            or not np.isfinite(lr_decay) or lr_decay <= 0):
        raise ValueError(f"lr_decay must be a positive finite number, got {lr_decay!r}")


def check_optim_config(optim_config):
    """Check a solver's ``optim_config``; return a copy (the caller's dict is never modified).

    A check of its own, not part of :func:`check_solver_arguments`: each solver checks its data
    in between, and a call with bad data and a bad config reports the data first.

    Parameters
    ----------
    optim_config : dict or None
        Hyper-parameters of the update rule; None for none.

    Returns
    -------
    dict
    """
    optim_config = {} if optim_config is None else optim_config
    if not isinstance(optim_config, dict):
        raise TypeError(f"optim_config must be a dict, got {type(optim_config).__name__}")
    return dict(optim_config)


def take_update(solver, loss, grads):
    """Record a minibatch's loss and move every parameter of ``solver.model`` by its update rule.

    The update step of every solver: ``solver`` has ``model`` (with a ``params`` dict),
    ``update_rule``, ``optim_configs`` (one config per parameter) and ``loss_history``.

    Parameters
    ----------
    solver : Solver or CaptioningSolver
        Its ``loss_history`` gets ``loss``; each entry of ``model.params`` and ``optim_configs``
        is replaced by the rule's result (the arrays themselves are not written into).
    loss : real number
        The minibatch loss returned by ``model.loss``.
    grads : dict
        One gradient per parameter, each of its parameter's shape.

    Returns
    -------
    float
        The loss.
    """
    loss = float(loss)
    solver.loss_history.append(loss)
    # Checked before any update, so a missing gradient leaves every parameter as it was.
    missing = [p for p in solver.model.params if p not in grads]
    if missing:
        raise KeyError(f"model.loss returned no gradient for parameter(s) {missing}")
    for p, w in solver.model.params.items():
        next_w, solver.optim_configs[p] = solver.update_rule(w, grads[p], solver.optim_configs[p])
        solver.model.params[p] = next_w
    return loss


def decay_learning_rates(optim_configs, lr_decay):
    """Multiply the ``learning_rate`` of every parameter's config by ``lr_decay`` (at an epoch's end).

    Parameters
    ----------
    optim_configs : dict
        Parameter name -> config dict of the update rule; changed in place. A config without a
        learning rate (a rule that takes none) is left alone.
    lr_decay : float
    """
    for config in optim_configs.values():
        if "learning_rate" in config:
            config["learning_rate"] *= lr_decay


def _check_data(data):
    if not isinstance(data, dict):
        raise TypeError(f"data must be a dict, got {type(data).__name__}")
    missing = [k for k in ("X_train", "y_train", "X_val", "y_val") if k not in data]
    if missing:
        raise ValueError(f"data is missing {missing}; expected X_train, y_train, X_val, y_val")
    for split in ("train", "val"):
        X, y = data[f"X_{split}"], np.asarray(data[f"y_{split}"])
        if len(X) != len(y):
            raise ValueError(f"X_{split} has {len(X)} examples but y_{split} has {len(y)} labels")
        if y.size and (y.dtype.kind not in "iu" or y.min() < 0):
            bad = y.dtype if y.dtype.kind not in "iu" else y.min()
            raise ValueError(f"y_{split} must hold class indices (integers >= 0), got {bad!r}")
    if len(data["X_train"]) == 0:
        raise ValueError("X_train is empty")
    if len(data["X_val"]) == 0:
        raise ValueError("X_val is empty: the solver measures validation accuracy to keep the best parameters")


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
        ``learning_rate`` is multiplied by this after every epoch (numpy scalars accepted).
    batch_size : int
        Examples per update.
    num_epochs : int
        Passes over the training set (an epoch is ``max(N_train // batch_size, 1)`` updates).
    num_train_samples : int or None
        Training examples sampled to measure train accuracy (None: all). At least 1.
    num_val_samples : int or None
        Validation examples used for val accuracy (None: all). At least 1.
    checkpoint_name : str or None
        If given, pickle ``{model, histories, config}`` to ``<checkpoint_name>_epoch_<k>.pkl``
        whenever the accuracies are measured.
    print_every : int
        Print the training loss every this many iterations when ``verbose`` (iterations 1,
        1 + print_every, ..., as CS231n prints them).
    verbose : bool
        Print progress lines.
    seed : int or None
        An addition: a private generator for minibatches and accuracy subsamples. None (the
        default) draws from numpy's global generator, as CS231n does.
    progress : bool
        An addition: show a progress bar per epoch while training (tqdm's notebook widget in
        Jupyter, its text bar elsewhere; each epoch's bar stays in the output). Without tqdm, one
        line per epoch instead, after a one-time notice.

    Any other keyword raises ``ValueError`` naming it, as in CS231n.

    Attributes
    ----------
    loss_history : list of float
        Training loss of every iteration.
    train_acc_history, val_acc_history : list of float
        Accuracies measured after the first iteration and at the end of every epoch.
    best_val_acc : float
    best_params : dict
        Copies of the parameters that reached ``best_val_acc``; never shared with the model.
    epoch : int
        Epochs completed (over all calls to :meth:`train`).
    """

    def __init__(self, model, data, *, update_rule="sgd", optim_config=None, lr_decay=1.0, batch_size=100,
                 num_epochs=10, num_train_samples=1000, num_val_samples=None, checkpoint_name=None,
                 print_every=10, verbose=True, seed=None, progress=False, **unknown):
        check_solver_arguments(model, unknown, lr_decay, "X, y=None")
        _check_data(data)
        optim_config = check_optim_config(optim_config)

        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]
        self.update_rule = optim.get_update_rule(update_rule)
        self.update_rule_name = update_rule if isinstance(update_rule, str) else getattr(
            update_rule, "__name__", repr(update_rule))
        self.optim_config = optim_config
        self.lr_decay = float(lr_decay)
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.num_epochs = check_int("num_epochs", num_epochs, 0)
        self.num_train_samples = check_int("num_train_samples", num_train_samples, 1, allow_none=True)
        self.num_val_samples = check_int("num_val_samples", num_val_samples, 1, allow_none=True)
        self.checkpoint_name = checkpoint_name
        self.print_every = check_int("print_every", print_every, 1)
        self.verbose = bool(verbose)
        self.seed = check_seed(seed)
        self.progress = bool(progress)
        self._reset()

    def _reset(self):
        """Set up the book-keeping; called once by ``__init__``."""
        self.rng = random_source(self.seed)
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
        return take_update(self, loss, grads)

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
            Labels in [0, K) for a model with K class scores; others raise ``ValueError``.
        num_samples : int or None
            Measure on a random subset of this many examples, drawn with replacement from the
            solver's random source, instead of all N.
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
        if num_samples is not None and N > num_samples:
            idx = self.rng.choice(N, num_samples)
            X, y = X[idx], y[idx]
            N = num_samples
        preds = []
        for start in range(0, N, batch_size):
            scores = self.model.loss(X[start:start + batch_size])
            preds.append(np.argmax(scores, axis=1))
        y = np.asarray(y)
        num_classes = scores.shape[1]
        if y.size and (y.min() < 0 or y.max() >= num_classes):
            bad = y[(y < 0) | (y >= num_classes)][0]
            raise ValueError(f"label {bad} is out of range: the model gives {num_classes} class scores, so labels "
                             f"must lie in 0..{num_classes - 1}")
        return float(np.mean(np.concatenate(preds) == y))

    def _record_accuracies(self):
        train_acc = self.check_accuracy(self.X_train, self.y_train, num_samples=self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, num_samples=self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        self._save_checkpoint()
        if self.verbose:
            self._say(f"(Epoch {self.epoch} / {self.num_epochs}) train acc: {train_acc:f}; val_acc: {val_acc:f}")
        if val_acc > self.best_val_acc or not self.best_params:
            self.best_val_acc = val_acc
            self.best_params = {k: v.copy() for k, v in self.model.params.items()}

    def _say(self, line):
        bar = getattr(self, "_bar", None)
        (bar.write if bar is not None else print)(line)

    def _open_bar(self, total):
        if not self.progress:
            return
        factory = _progress_factory()
        if factory is None:
            _notice_once(print)
            return
        # leave=True: a bar cleared at its end would leave nothing in a saved notebook's output.
        self._bar = factory(total=total, desc=f"epoch {self.epoch + 1}/{self.num_epochs}", leave=True,
                            file=sys.stdout, mininterval=0.5)

    def _close_bar(self, epoch_done=False):
        bar = getattr(self, "_bar", None)
        if bar is not None:
            bar.close()
            self._bar = None
        elif epoch_done and self.progress and self.loss_history:
            print(f"epoch {self.epoch + 1}/{self.num_epochs} done, loss {self.loss_history[-1]:f}")

    def train(self):
        """Run the optimization; afterwards ``model.params`` holds copies of the best parameters.

        A second call continues from the model's current parameters (and the optimizer
        state), appends to the histories, and again ends with the best parameters seen so far.
        Returns None, as in CS231n (so a notebook cell ending in ``solver.train()`` prints
        nothing extra).
        """
        num_train = len(self.X_train)
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        # The model may hold the arrays a previous train() left; never update best_params in place.
        self.model.params = {k: v.copy() for k, v in self.model.params.items()}
        try:
            for t in range(num_iterations):
                if t % iterations_per_epoch == 0:
                    self._open_bar(iterations_per_epoch)
                loss = self._step()
                if getattr(self, "_bar", None) is not None:
                    self._bar.update(1)
                if self.verbose and t % self.print_every == 0:
                    self._say(f"(Iteration {t + 1} / {num_iterations}) loss: {loss:f}")
                epoch_end = (t + 1) % iterations_per_epoch == 0
                if epoch_end:
                    self._close_bar(epoch_done=True)
                    self.epoch += 1
                    decay_learning_rates(self.optim_configs, self.lr_decay)
                if t == 0 or t == num_iterations - 1 or epoch_end:
                    self._record_accuracies()
        finally:
            self._close_bar()
        if self.best_params:
            self.model.params = {k: v.copy() for k, v in self.best_params.items()}
