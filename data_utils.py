"""Datasets in the CS231n layout: CIFAR-10 from its python pickles, Tiny ImageNet, a few ImageNet
validation images, and an offline digits set.

``get_CIFAR10_data`` and ``load_digits_data`` return the dict the :class:`solver.Solver` expects:
``{'X_train', 'y_train', 'X_val', 'y_val', 'X_test', 'y_test'}``, images channels-first.

Where the data is looked for
----------------------------
CIFAR-10 is not downloaded here. ``get_CIFAR10_data()`` without ``cifar10_dir`` takes the first
``cifar-10-batches-py`` folder that exists among

1. ``$CNNKIT_CIFAR10_DIR`` (the batches folder itself),
2. ``$CNNKIT_DATA/cifar-10-batches-py`` (a folder of datasets),
3. ``cs231n/datasets/cifar-10-batches-py`` (the official assignment layout, relative to the
   working directory: where the course's ``get_datasets.sh`` puts it),
4. ``datasets/cifar-10-batches-py`` (relative to the working directory),
5. ``datasets/cifar-10-batches-py`` next to this file.

A path passed explicitly (``load_CIFAR10(ROOT)``, ``cifar10_dir=``) is used as given. When
nothing is found the error lists every place it looked and how to point elsewhere.

Safety
------
Pickles are read with a restricted unpickler (:func:`load_pickle`): only plain containers,
strings, numbers and numpy arrays can come out of a file, so a crafted "batch" cannot run code.
Labels must be integers in range; every error about a file names the file.

The digits set is scikit-learn's bundled copy of the UCI 8x8 handwritten digits: 1797 images,
no download, which makes it the default dataset of the notebooks and tests.

Notation
--------
N : number of images
C : channels (3 for CIFAR-10, 1 for digits)
H, W : image height and width (32 for CIFAR-10, 64 for Tiny ImageNet, ``8 * upsample`` for digits)
"""

from __future__ import annotations

import io
import os
import pickle
import warnings
import zipfile

import numpy as np

__all__ = [
    "load_pickle", "load_npy_dict", "load_CIFAR_batch", "load_CIFAR10", "get_CIFAR10_data", "load_digits_data",
    "load_tiny_imagenet", "load_models", "load_imagenet_val", "cifar10_search_dirs", "RefusedPickleError",
]

CIFAR10_FOLDER = "cifar-10-batches-py"
DEFAULT_CIFAR10_DIR = os.path.join("datasets", CIFAR10_FOLDER)
CIFAR10_CLASSES = 10
_HERE = os.path.dirname(os.path.abspath(__file__))
_GET_CIFAR = ("download the 'CIFAR-10 python version' (https://www.cs.toronto.edu/~kriz/cifar.html) and extract it "
              "into one of these places, or set CNNKIT_CIFAR10_DIR to its cifar-10-batches-py folder, or pass "
              "cifar10_dir=...; data_utils.load_digits_data needs no download at all")


# ----------------------------------------------------------------------------------- unpickling

# What a pickle may reference by name. Containers, str, bytes and numbers are pickle opcodes
# and need no entry; numpy arrays and dtypes are rebuilt through these functions (the numpy 1.x
# names are the ones the CIFAR batches and older .npy files use).
_NUMPY_GLOBALS = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),  # how protocol 2 writes bytes from Python 3
}
# Model objects in a checkpoint (load_models) are rebuilt from their __dict__ only.
_OBJECT_GLOBALS = {("copyreg", "_reconstructor"), ("builtins", "object")}
_MODEL_MODULES = ("classifiers.", "cs231n.classifiers.")


class RefusedPickleError(pickle.UnpicklingError):
    """A pickle referenced a function or class outside the allow-list; nothing was executed."""


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global outside an allow-list (no code from a crafted file)."""

    def __init__(self, fh, allow_models=False):
        super().__init__(fh, encoding="latin1")
        self.allow_models = allow_models

    def find_class(self, module, name):
        key = (module, name)
        if key in _NUMPY_GLOBALS:
            return super().find_class(module.replace("numpy.core.", "numpy._core."), name)
        if self.allow_models and (key in _OBJECT_GLOBALS or self._is_model_class(module, name)):
            return super().find_class(module, name)
        raise RefusedPickleError(
            f"refusing to load {module}.{name}: this file may only hold dicts, lists, strings, numbers and numpy "
            "arrays (it could run code if it were trusted)"
        )

    @staticmethod
    def _is_model_class(module, name):
        if not module.startswith(_MODEL_MODULES):
            return False
        import importlib

        obj = getattr(importlib.import_module(module.removeprefix("cs231n.")), name, None)
        return isinstance(obj, type) and callable(getattr(obj, "loss", None))


def load_pickle(f, allow_models=False):
    """Unpickle one object from the open binary file ``f``, refusing anything but data.

    Parameters
    ----------
    f : binary file object
        Python 2 pickles are read with ``encoding='latin1'`` as in CS231n.
    allow_models : bool
        Also rebuild objects of this toolkit's model classes (``classifiers``), from their
        ``__dict__`` only (used by :func:`load_models`).

    Returns
    -------
    object

    Raises
    ------
    RefusedPickleError (a pickle.UnpicklingError)
        The file references a function or class outside the allow-list.
    """
    return _RestrictedUnpickler(f, allow_models=allow_models).load()


def _read_file_error(path, exc):
    """A ValueError that names the file and what went wrong reading it."""
    if isinstance(exc, EOFError):
        what = "the file is empty or truncated"
    else:
        what = f"{type(exc).__name__}: {exc}"
    return ValueError(f"{os.fspath(path)}: cannot read it as a pickle ({what})")


def _unpickle_file(path, allow_models=False):
    """Unpickle a whole file; every error names the file (refusals stay RefusedPickleError)."""
    with open(path, "rb") as fh:
        try:
            return load_pickle(fh, allow_models=allow_models)
        except RefusedPickleError as exc:
            raise RefusedPickleError(f"{os.fspath(path)}: {exc}") from None
        except Exception as exc:  # EOFError, truncated or corrupt streams
            raise _read_file_error(path, exc) from exc


def _read_npy(fh, name):
    """Read one .npy stream; an object array (a pickled dict) goes through the restricted unpickler."""
    version = np.lib.format.read_magic(fh)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    _, _, dtype = read_header(fh)
    if dtype.hasobject:
        return load_pickle(fh)
    fh.seek(0)
    return np.lib.format.read_array(fh, allow_pickle=False)


def load_npy_dict(path):
    """Load a dict saved with ``np.save(path, some_dict)`` without trusting the file.

    ``np.load(path, allow_pickle=True).item()`` would run any code the file holds; here the
    pickle inside is read by :func:`load_pickle`.
    """
    with open(path, "rb") as fh:
        try:
            value = _read_npy(fh, path)
        except RefusedPickleError as exc:
            raise RefusedPickleError(f"{os.fspath(path)}: {exc}") from None
        except Exception as exc:
            raise ValueError(f"{os.fspath(path)}: not a .npy file written by np.save ({exc})") from exc
    if isinstance(value, np.ndarray) and value.dtype.hasobject and value.shape == ():
        value = value.item()
    if not isinstance(value, dict):
        raise ValueError(f"{os.fspath(path)}: expected a saved dict of arrays, got {type(value).__name__}")
    return value


# ------------------------------------------------------------------------------------- CIFAR-10

def _batch_entry(batch, key):
    # Python 2 pickles read with latin1 give str keys; batches written by Python 3 may use bytes.
    return batch.get(key, batch.get(key.encode()))


def _check_cifar_batch(batch, filename):
    """Return (data, labels) of an unpickled batch after checking every field a batch must have."""
    if not isinstance(batch, dict) or _batch_entry(batch, "data") is None or _batch_entry(batch, "labels") is None:
        raise ValueError(f"{filename} is not a CIFAR-10 python batch (expected a dict with 'data' and 'labels')")
    data = np.asarray(_batch_entry(batch, "data"))
    if data.dtype.kind not in "ui" or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{filename}: 'data' must be integer pixels of shape (N, 3072), got {data.dtype} {data.shape}")
    if data.size and (data.min() < 0 or data.max() > 255):
        raise ValueError(f"{filename}: pixel values must lie in 0..255, got {data.min()}..{data.max()}")
    labels = _batch_entry(batch, "labels")
    raw = np.asarray(labels)
    if raw.ndim != 1 or (raw.size and raw.dtype.kind not in "ui"):
        items = labels if isinstance(labels, (list, tuple)) else np.ravel(raw).tolist()
        bad = next((v for v in items if not isinstance(v, (int, np.integer)) or isinstance(v, bool)), raw.dtype)
        raise ValueError(f"{filename}: 'labels' must be a list of integers, found {bad!r}")
    if raw.shape != (data.shape[0],):
        raise ValueError(f"{filename}: {raw.shape[0]} labels for {data.shape[0]} images")
    if raw.size and (raw.min() < 0 or raw.max() >= CIFAR10_CLASSES):
        bad = raw[(raw < 0) | (raw >= CIFAR10_CLASSES)][0]
        raise ValueError(f"{filename}: labels must lie in 0..{CIFAR10_CLASSES - 1}, found {bad}")
    return data, raw.astype(np.int64)


def load_CIFAR_batch(filename):
    """Load one CIFAR-10 python batch file.

    Parameters
    ----------
    filename : str or path-like
        A pickle holding a dict with ``'data'`` (uint8, shape (N, 3*32*32), channel-major rows)
        and ``'labels'`` (N ints in 0..9). Nothing else can be unpickled from it.

    Returns
    -------
    X : ndarray of float64, shape (N, 32, 32, 3)
        Images channels-last, as stored by CS231n's loader.
    Y : ndarray of int64, shape (N,)
    """
    batch = _unpickle_file(filename)
    data, labels = _check_cifar_batch(batch, os.fspath(filename))
    X = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float64)
    return X, labels


def _batch_names():
    return [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def _has_batches(folder):
    return all(os.path.isfile(os.path.join(folder, n)) for n in _batch_names())


def cifar10_search_dirs():
    """Return the folders ``get_CIFAR10_data`` tries, in order (see the module docstring)."""
    dirs = []
    if os.environ.get("CNNKIT_CIFAR10_DIR"):
        dirs.append(os.environ["CNNKIT_CIFAR10_DIR"])
    if os.environ.get("CNNKIT_DATA"):
        dirs.append(os.path.join(os.environ["CNNKIT_DATA"], CIFAR10_FOLDER))
    dirs += [os.path.join("cs231n", "datasets", CIFAR10_FOLDER), DEFAULT_CIFAR10_DIR,
             os.path.join(_HERE, "datasets", CIFAR10_FOLDER)]
    return dirs


def _find_cifar10_dir():
    dirs = cifar10_search_dirs()
    for folder in dirs:
        if _has_batches(folder):
            return folder
    looked = "\n".join(f"  {os.path.abspath(d)}" for d in dirs)
    raise FileNotFoundError(f"CIFAR-10 not found; looked for {CIFAR10_FOLDER} in:\n{looked}\nTo fix: {_GET_CIFAR}")


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
    names = _batch_names()
    missing = [n for n in names if not os.path.isfile(os.path.join(ROOT, n))]
    if missing:
        found = [d for d in cifar10_search_dirs() if _has_batches(d)]
        hint = f"a copy exists at {os.path.abspath(found[0])!r}; pass that path" if found else _GET_CIFAR
        raise FileNotFoundError(
            f"CIFAR-10 batches {missing} not found in {os.path.abspath(ROOT)!r}; {hint}"
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
        Folder of the batches; by default the first of :func:`cifar10_search_dirs` that holds them.
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
        cifar10_dir = _find_cifar10_dir()
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
        Seed of the shuffle's own generator (None: numpy's global generator).
    dtype : np.float32 or np.float64
        Floating dtype of the images (integer dtypes are refused with a TypeError).

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
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise TypeError(f"dtype must be a floating dtype (np.float32 or np.float64): the images are scaled to "
                        f"[0, 1] and mean-subtracted, which an integer dtype would round away; got {np.dtype(dtype)}")
    # seed=None shuffles with numpy's global generator (np.random.seed reproduces it).
    order = np.random.permutation(n) if seed is None else np.random.default_rng(seed).permutation(n)
    images, labels = images[order], labels[order]
    if upsample > 1:
        images = images.repeat(upsample, axis=1).repeat(upsample, axis=2)
    return _split(images[:, None, :, :], labels, num_validation, num_test, subtract_mean, dtype)


def _split(X, labels, num_validation, num_test, subtract_mean, dtype):
    """Train / validation / test splits of (N, 1, H, W) images, in that order, the training mean subtracted."""
    n = X.shape[0]
    n_train = n - num_validation - num_test
    cut = {"train": slice(0, n_train), "val": slice(n_train, n_train + num_validation),
           "test": slice(n_train + num_validation, n)}
    mean_image = X[cut["train"]].mean(axis=0) if subtract_mean else 0.0
    data = {}
    for key, part in cut.items():
        data[f"X_{key}"] = np.ascontiguousarray(X[part] - mean_image, dtype=dtype)
        data[f"y_{key}"] = labels[part].copy()
    return {k: data[k] for k in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")}


# --------------------------------------------------------------------------------- Tiny ImageNet

def _read_lines(path):
    with open(path, "r") as fh:
        return [line.rstrip("\n") for line in fh if line.strip()]


def _read_image_chw(path, dtype):
    """Read one image file as (3, H, W) in ``dtype``; a grey image is repeated on 3 channels."""
    from PIL import Image  # Pillow comes with matplotlib

    try:
        with Image.open(path) as im:
            img = np.asarray(im)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{os.fspath(path)}: cannot read it as an image ({exc})") from exc
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return img[:, :, :3].transpose(2, 0, 1).astype(dtype)


def _load_images(paths, dtype):
    images = [_read_image_chw(p, dtype) for p in paths]
    if not images:
        return np.zeros((0, 3, 64, 64), dtype=dtype)
    return np.stack(images)


def load_tiny_imagenet(path, dtype=np.float32, subtract_mean=True):
    """Load Tiny ImageNet (TinyImageNet-100-A/B or -200, which share one folder layout).

    Parameters
    ----------
    path : str
        Folder holding ``wnids.txt``, ``words.txt``, ``train/``, ``val/`` and ``test/``.
    dtype : numpy dtype
        Dtype of the images.
    subtract_mean : bool
        Subtract the mean training image from every split.

    Returns
    -------
    dict
        ``class_names`` (list, per class the list of its WordNet names), ``X_train``
        (N_tr, 3, 64, 64), ``y_train`` (N_tr,), ``X_val``, ``y_val``, ``X_test``, ``y_test``
        (None when the test annotations are absent), ``mean_image`` (3, 64, 64).
    """
    wnids = [w.strip() for w in _read_lines(os.path.join(path, "wnids.txt"))]
    label_of = {wnid: i for i, wnid in enumerate(wnids)}
    words = dict(line.split("\t", 1) for line in _read_lines(os.path.join(path, "words.txt")))
    class_names = [[w.strip() for w in words.get(wnid, wnid).split(",")] for wnid in wnids]

    train_files, y_train = [], []
    for i, wnid in enumerate(wnids):
        if (i + 1) % 20 == 0:
            print(f"loading training data for synset {i + 1} / {len(wnids)}")
        boxes = _read_lines(os.path.join(path, "train", wnid, f"{wnid}_boxes.txt"))
        train_files += [os.path.join(path, "train", wnid, "images", line.split("\t")[0]) for line in boxes]
        y_train += [label_of[wnid]] * len(boxes)
    X_train = _load_images(train_files, dtype)

    val_rows = [line.split("\t")[:2] for line in _read_lines(os.path.join(path, "val", "val_annotations.txt"))]
    X_val = _load_images([os.path.join(path, "val", "images", f) for f, _ in val_rows], dtype)
    y_val = np.array([label_of[w] for _, w in val_rows], dtype=np.int64)

    test_names = sorted(os.listdir(os.path.join(path, "test", "images")))
    X_test = _load_images([os.path.join(path, "test", "images", f) for f in test_names], dtype)
    y_test = None
    annotations = os.path.join(path, "test", "test_annotations.txt")
    if os.path.isfile(annotations):
        wnid_of = dict(line.split("\t")[:2] for line in _read_lines(annotations))
        y_test = np.array([label_of[wnid_of[f]] for f in test_names], dtype=np.int64)

    mean_image = X_train.mean(axis=0)
    if subtract_mean:
        X_train, X_val, X_test = X_train - mean_image, X_val - mean_image, X_test - mean_image
    return {"class_names": class_names, "X_train": X_train, "y_train": np.array(y_train, dtype=np.int64),
            "X_val": X_val, "y_val": y_val, "X_test": X_test, "y_test": y_test, "mean_image": mean_image}


# -------------------------------------------------------------------------- saved models, ImageNet

def load_models(models_dir):
    """Load every pickled ``{'model': ...}`` checkpoint in a folder.

    Files that are not pickles (a README, say) are skipped, as in CS231n. A file that is a
    pickle but references anything beyond data and this toolkit's model classes is skipped
    with a warning naming it (it is never executed).

    Returns
    -------
    dict
        File name -> model object.
    """
    models = {}
    for name in sorted(os.listdir(models_dir)):
        path = os.path.join(models_dir, name)
        if not os.path.isfile(path):
            continue
        try:
            checkpoint = _unpickle_file(path, allow_models=True)
        except RefusedPickleError as exc:
            warnings.warn(f"load_models skipped {exc}", stacklevel=2)
            continue
        except ValueError:  # not a pickle at all (a README, say)
            continue
        if isinstance(checkpoint, dict) and "model" in checkpoint:
            models[name] = checkpoint["model"]
    return models


def _imagenet_val_candidates():
    dirs = [os.environ["CNNKIT_DATA"]] if os.environ.get("CNNKIT_DATA") else []
    dirs += [os.path.join("cs231n", "datasets"), "datasets", os.path.join(_HERE, "datasets")]
    return [os.path.join(d, "imagenet_val_25.npz") for d in dirs]


def _load_npz(path):
    """Read every member of an .npz file; object members go through the restricted unpickler."""
    out = {}
    with zipfile.ZipFile(path) as zf:
        for member in zf.namelist():
            with zf.open(member) as fh:
                out[member.removesuffix(".npy")] = _read_npy(io.BytesIO(fh.read()), member)
    return out


def load_imagenet_val(num=None):
    """Load the 25 ImageNet validation images CS231n ships as ``imagenet_val_25.npz``.

    Looked for in ``$CNNKIT_DATA``, ``cs231n/datasets``, ``datasets`` and ``datasets`` next to
    this file.

    Parameters
    ----------
    num : int or None
        Return only the first ``num`` images (at most 25).

    Returns
    -------
    X : ndarray, shape (num, 224, 224, 3)
    y : ndarray of int, shape (num,)
    class_names : dict
        Integer label -> class name.
    """
    candidates = _imagenet_val_candidates()
    path = next((p for p in candidates if os.path.isfile(p)), None)
    if path is None:
        looked = "\n".join(f"  {os.path.abspath(p)}" for p in candidates)
        raise FileNotFoundError(
            f"imagenet_val_25.npz not found; looked in:\n{looked}\nDownload it with the course's "
            "get_imagenet_val.sh into one of these folders, or set CNNKIT_DATA to the folder holding it"
        )
    try:
        f = _load_npz(path)
    except (zipfile.BadZipFile, RefusedPickleError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read it as an .npz file ({exc})") from exc
    X, y, class_names = f["X"], f["y"], f["label_map"]
    if isinstance(class_names, np.ndarray) and class_names.shape == ():
        class_names = class_names.item()
    if num is not None:
        X, y = X[:num], y[:num]
    return X, y, class_names
