"""Datasets in the CS231n layout: CIFAR-10 from its python pickles, and an offline digits set.

Both ``get_CIFAR10_data`` and ``load_digits_data`` return the dict the :class:`solver.Solver`
expects: ``{'X_train', 'y_train', 'X_val', 'y_val', 'X_test', 'y_test'}``, images channels-first.

CIFAR-10 is not downloaded here (there is no network in CI); point ``cifar10_dir`` (or the
``CNNKIT_CIFAR10_DIR`` environment variable) at an extracted ``cifar-10-batches-py`` folder.
The digits set is scikit-learn's bundled copy of the UCI 8x8 handwritten digits: 1797 images,
no download, which makes it the default dataset of the notebooks and tests.

Notation
--------
N : number of images
C : channels (3 for CIFAR-10, 1 for digits)
H, W : image height and width (32 for CIFAR-10, ``8 * upsample`` for digits)
"""

from __future__ import annotations

import os
import pickle

import numpy as np

__all__ = ["load_CIFAR_batch", "load_CIFAR10", "get_CIFAR10_data", "load_digits_data"]

DEFAULT_CIFAR10_DIR = os.path.join("datasets", "cifar-10-batches-py")


def load_CIFAR_batch(filename):
    """Load one CIFAR-10 python batch file.

    Parameters
    ----------
    filename : str or path-like
        A pickle holding a dict with ``b'data'`` (uint8, shape (N, 3*32*32), channel-major rows)
        and ``b'labels'`` (N ints).

    Returns
    -------
    X : ndarray of float64, shape (N, 32, 32, 3)
        Images channels-last, as stored by CS231n's loader.
    Y : ndarray of int64, shape (N,)
    """
    with open(filename, "rb") as fh:
        # The batches were pickled by Python 2; latin1 maps their byte strings one to one.
        batch = pickle.load(fh, encoding="latin1")
    if not isinstance(batch, dict) or (b"data" not in batch and "data" not in batch):
        raise ValueError(f"{filename} is not a CIFAR-10 python batch (expected a dict with 'data' and 'labels')")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    data = np.asarray(data)
    labels = np.asarray(labels, dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{filename}: 'data' must have shape (N, 3072), got {data.shape}")
    if labels.shape != (data.shape[0],):
        raise ValueError(f"{filename}: {labels.shape[0]} labels for {data.shape[0]} images")
    X = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float64)
    return X, labels


def load_CIFAR10(ROOT):
    """Load all of CIFAR-10 from a ``cifar-10-batches-py`` folder.

    Parameters
    ----------
    ROOT : str or path-like
        Folder holding ``data_batch_1`` ... ``data_batch_5`` and ``test_batch``.

    Returns
    -------
    Xtr : ndarray of float64, shape (N_train, 32, 32, 3)
    Ytr : ndarray of int64, shape (N_train,)
    Xte : ndarray of float64, shape (N_test, 32, 32, 3)
    Yte : ndarray of int64, shape (N_test,)
    """
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    missing = [n for n in names if not os.path.isfile(os.path.join(ROOT, n))]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 batches {missing} not found in {os.fspath(ROOT)!r}; download and extract the "
            "'CIFAR-10 python version' archive there (or use data_utils.load_digits_data, which needs no download)"
        )
    xs, ys = zip(*(load_CIFAR_batch(os.path.join(ROOT, n)) for n in names[:5]))
    Xte, Yte = load_CIFAR_batch(os.path.join(ROOT, "test_batch"))
    return np.concatenate(xs), np.concatenate(ys), Xte, Yte


def _check_count(value, name):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return int(value)


def get_CIFAR10_data(num_training=49000, num_validation=1000, num_test=1000, subtract_mean=True,
                     cifar10_dir=None, dtype=np.float64):
    """Load CIFAR-10 and split it into train / validation / test sets, channels first.

    The validation images are the ``num_validation`` training images that follow the first
    ``num_training``; the mean image is computed on the training split only.

    Parameters
    ----------
    num_training, num_validation, num_test : int
        Split sizes; ``num_training + num_validation`` must not exceed the training images.
    subtract_mean : bool
        Subtract the training split's mean image from every split.
    cifar10_dir : str or None
        Folder of the batches; default ``$CNNKIT_CIFAR10_DIR`` or ``datasets/cifar-10-batches-py``.
    dtype : numpy dtype
        Floating dtype of the images (float64 as in CS231n; float32 halves the memory).

    Returns
    -------
    dict
        ``X_train`` (num_training, 3, 32, 32), ``y_train`` (num_training,), and likewise
        ``X_val``/``y_val`` and ``X_test``/``y_test``.
    """
    num_training = _check_count(num_training, "num_training")
    num_validation = _check_count(num_validation, "num_validation")
    num_test = _check_count(num_test, "num_test")
    if cifar10_dir is None:
        cifar10_dir = os.environ.get("CNNKIT_CIFAR10_DIR", DEFAULT_CIFAR10_DIR)
    X_train, y_train, X_test, y_test = load_CIFAR10(cifar10_dir)
    if num_training + num_validation > X_train.shape[0]:
        raise ValueError(
            f"num_training + num_validation = {num_training + num_validation} exceeds the "
            f"{X_train.shape[0]} training images in {cifar10_dir!r}"
        )
    if num_test > X_test.shape[0]:
        raise ValueError(f"num_test = {num_test} exceeds the {X_test.shape[0]} test images in {cifar10_dir!r}")
    X_val = X_train[num_training:num_training + num_validation]
    y_val = y_train[num_training:num_training + num_validation]
    X_train, y_train = X_train[:num_training], y_train[:num_training]
    X_test, y_test = X_test[:num_test], y_test[:num_test]
    splits = {"train": X_train, "val": X_val, "test": X_test}
    if subtract_mean:
        mean_image = X_train.mean(axis=0)
        splits = {k: v - mean_image for k, v in splits.items()}
    data = {}
    for key, X in splits.items():
        data[f"X_{key}"] = np.ascontiguousarray(X.transpose(0, 3, 1, 2), dtype=dtype)
    data["y_train"], data["y_val"], data["y_test"] = y_train, y_val, y_test
    return {k: data[k] for k in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")}


def load_digits_data(num_validation=300, num_test=300, upsample=1, subtract_mean=True, seed=0,
                     dtype=np.float32):
    """Load scikit-learn's bundled 8x8 handwritten digits as a CS231n-style dataset dict.

    Needs no download. The 1797 images are shuffled with ``seed`` and split into
    ``1797 - num_validation - num_test`` training, ``num_validation`` validation and
    ``num_test`` test images. Pixel values (0..16) are scaled to [0, 1].

    Parameters
    ----------
    num_validation, num_test : int
        Split sizes; together they must leave at least one training image.
    upsample : int
        Repeat every pixel ``upsample`` times along each axis (2 gives 16x16 images), for
        networks whose filters are too large for 8x8.
    subtract_mean : bool
        Subtract the training split's mean image from every split.
    seed : int or None
        Seed of the shuffle (None: a different split each call).
    dtype : numpy dtype
        Floating dtype of the images.

    Returns
    -------
    dict
        ``X_train`` (N_train, 1, H, W), ``y_train`` (N_train,), and likewise ``X_val``/``y_val``
        and ``X_test``/``y_test``; labels are int64 in 0..9.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "load_digits_data needs scikit-learn for its bundled digits; "
            "install it with pip install -e '.[notebooks]' (or pip install scikit-learn)"
        ) from exc
    num_validation = _check_count(num_validation, "num_validation")
    num_test = _check_count(num_test, "num_test")
    if not isinstance(upsample, (int, np.integer)) or isinstance(upsample, bool) or upsample < 1:
        raise ValueError(f"upsample must be a positive int, got {upsample!r}")
    digits = load_digits()
    images = digits.images.astype(np.float64) / 16.0
    labels = digits.target.astype(np.int64)
    n = images.shape[0]
    if num_validation + num_test >= n:
        raise ValueError(
            f"num_validation + num_test = {num_validation + num_test} leaves no training images "
            f"out of {n}"
        )
    order = np.random.default_rng(seed).permutation(n)
    images, labels = images[order], labels[order]
    if upsample > 1:
        images = images.repeat(upsample, axis=1).repeat(upsample, axis=2)
    X = images[:, None, :, :]
    n_train = n - num_validation - num_test
    cut = {"train": slice(0, n_train), "val": slice(n_train, n_train + num_validation),
           "test": slice(n_train + num_validation, n)}
    mean_image = X[cut["train"]].mean(axis=0) if subtract_mean else 0.0
    data = {}
    for key, part in cut.items():
        data[f"X_{key}"] = np.ascontiguousarray(X[part] - mean_image, dtype=dtype)
        data[f"y_{key}"] = labels[part].copy()
    return {k: data[k] for k in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")}
