"""Captioning data in CS231n's COCO layout: the course's files when present, and an offline digits set.

The data dict (what ``load_coco_data`` returns and ``captioning_solver.CaptioningSolver`` trains on)::

    train_captions   (N_cap, T + 1) int   word indices: <START> words <END> <NULL> ... <NULL>
    train_image_idxs (N_cap,) int         the image of each caption (a row of train_features)
    train_features   (N_img, D) float     one feature vector per image
    train_urls       (N_img,) str         where each image comes from
    val_...                                the same for the validation split
    word_to_idx      dict str -> int       the vocabulary; idx_to_word: list int -> str

Where COCO is looked for
------------------------
COCO is not downloadable here (the course's ``get_coco_captioning.sh`` fetches it).
``load_coco_data()`` without ``base_dir`` takes the first ``coco_captioning`` folder that holds
the captions among

1. ``$CNNKIT_COCO_DIR`` (the coco_captioning folder itself),
2. ``$CNNKIT_DATA/coco_captioning``,
3. ``cs231n/datasets/coco_captioning`` (the official assignment layout, relative to the working
   directory),
4. ``datasets/coco_captioning`` (relative to the working directory),
5. ``datasets/coco_captioning`` next to this file,

and raises ``FileNotFoundError`` listing all of them otherwise. The course ships HDF5 files
(``coco2014_captions.h5``, ``train2014_vgg16_fc7_pca.h5``, ...). Reading HDF5 needs ``h5py``,
which is NOT a dependency of cnnkit: it is imported only when such a file is read, and its absence
raises an ``ImportError`` that says so. The same arrays saved with numpy under the same names
(``coco2014_captions.npz`` with the captions file's keys, ``train2014_vgg16_fc7_pca.npy`` or
``.npz`` with a ``features`` array) are read without h5py, and are preferred when both exist.

Offline data
------------
:func:`load_digits_captions` builds a small data set in the same layout from scikit-learn's
bundled 8x8 digits (no download): each image's features are its 64 pixels, and its caption is
generated from its label and how much ink it has, e.g. ``<START> a bold seven that is odd <END>``.

Notation
--------
N_cap : number of captions; N_img : number of images; T + 1 : caption length with <START>
D : feature dimension; V : vocabulary size
"""

from __future__ import annotations

import json
import os

import numpy as np

__all__ = ["load_coco_data", "decode_captions", "sample_coco_minibatch", "coco_search_dirs",
           "load_digits_captions", "BASE_DIR"]

COCO_FOLDER = "coco_captioning"
_HERE = os.path.dirname(os.path.abspath(__file__))
BASE_DIR = None  # the course's default argument; None here means "search the places listed above"
_CAPTIONS = "coco2014_captions"
_GET_COCO = ("run the course's cs231n/datasets/get_coco_captioning.sh (assignment 3) and point CNNKIT_COCO_DIR at "
             "the coco_captioning folder it makes, or pass base_dir=...; coco_utils.load_digits_captions() needs "
             "no download at all")


def coco_search_dirs():
    """Return the folders ``load_coco_data`` tries, in order (see the module docstring)."""
    dirs = []
    if os.environ.get("CNNKIT_COCO_DIR"):
        dirs.append(os.environ["CNNKIT_COCO_DIR"])
    if os.environ.get("CNNKIT_DATA"):
        dirs.append(os.path.join(os.environ["CNNKIT_DATA"], COCO_FOLDER))
    dirs += [os.path.join("cs231n", "datasets", COCO_FOLDER), os.path.join("datasets", COCO_FOLDER),
             os.path.join(_HERE, "datasets", COCO_FOLDER)]
    return dirs


def _find(folder, stem):
    """The numpy file for ``stem`` if there is one, else its HDF5 file, else None."""
    for ext in (".npz", ".npy", ".h5"):
        path = os.path.join(folder, stem + ext)
        if os.path.isfile(path):
            return path
    return None


def _find_base_dir():
    dirs = coco_search_dirs()
    for folder in dirs:
        if _find(folder, _CAPTIONS) is not None:
            return folder
    looked = "\n".join(f"  {os.path.abspath(d)}" for d in dirs)
    raise FileNotFoundError(f"COCO captioning data not found; looked for {_CAPTIONS}.h5 (or .npz) in:\n{looked}\n"
                            f"To fix: {_GET_COCO}")


def _read_arrays(path):
    """Every array of a .npz / .npy / .h5 file as a dict (a .npy file gives {'features': array})."""
    if path.endswith(".npy"):
        return {"features": np.load(path, allow_pickle=False)}
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    try:
        import h5py
    except ImportError:
        raise ImportError(f"{path} is an HDF5 file, and reading HDF5 needs h5py, which cnnkit does not depend on: "
                          f"pip install h5py, or save the same arrays with numpy next to it ("
                          f"{os.path.splitext(os.path.basename(path))[0]}.npz)") from None
    with h5py.File(path, "r") as f:
        return {k: np.asarray(v) for k, v in f.items()}


def _required(folder, stem):
    path = _find(folder, stem)
    if path is None:
        raise FileNotFoundError(f"{os.path.join(os.path.abspath(folder), stem)}.h5 (or .npz/.npy) is missing: the "
                                f"COCO captioning folder is incomplete; {_GET_COCO}")
    return path


def _read_lines(path):
    with open(path, "r", encoding="utf-8") as f:
        return np.asarray([line.strip() for line in f])


def load_coco_data(base_dir=BASE_DIR, max_train=None, pca_features=True):
    """Load the course's COCO captioning data (see the module docstring for the layout and the search).

    Parameters
    ----------
    base_dir : str or None
        The ``coco_captioning`` folder; None searches the places listed in the module docstring.
    max_train : int or None
        Keep this many training captions, drawn with replacement by ``np.random.randint`` from
        numpy's global generator, as the course does (``np.random.seed`` reproduces the draw).
    pca_features : bool
        The 512-dimensional PCA of the VGG-16 fc7 features (True) or the 4096-dimensional features.

    Returns
    -------
    dict
        The keys of the module docstring (and any other array of the captions file).
    """
    folder = _find_base_dir() if base_dir is None else os.fspath(base_dir)
    data = dict(_read_arrays(_required(folder, _CAPTIONS)))
    suffix = "_pca" if pca_features else ""
    for split in ("train", "val"):
        data[f"{split}_features"] = _read_arrays(_required(folder, f"{split}2014_vgg16_fc7{suffix}"))["features"]
    vocab = os.path.join(folder, "coco2014_vocab.json")
    with open(vocab, "r", encoding="utf-8") as f:
        data.update(json.load(f))
    for split in ("train", "val"):
        urls = os.path.join(folder, f"{split}2014_urls.txt")
        if os.path.isfile(urls):
            data[f"{split}_urls"] = _read_lines(urls)
    if max_train is not None:
        keep = np.random.randint(data["train_captions"].shape[0], size=max_train)
        data["train_captions"] = data["train_captions"][keep]
        data["train_image_idxs"] = data["train_image_idxs"][keep]
    return data


def decode_captions(captions, idx_to_word):
    """Turn word indices back into text: <NULL> dropped, each caption cut after its <END>.

    Parameters
    ----------
    captions : ndarray of int, shape (N, T) or (T,)
    idx_to_word : list or dict, index -> word

    Returns
    -------
    list of str, or str for a 1-D ``captions``
    """
    captions = np.asarray(captions)
    if captions.ndim not in (1, 2):
        raise ValueError(f"captions must have shape (N, T) or (T,), got shape {captions.shape}")
    rows = captions[None] if captions.ndim == 1 else captions
    decoded = []
    for row in rows:
        words = []
        for idx in row:
            word = idx_to_word[int(idx)]
            if word != "<NULL>":
                words.append(word)
            if word == "<END>":
                break
        decoded.append(" ".join(words))
    return decoded[0] if captions.ndim == 1 else decoded


def sample_coco_minibatch(data, batch_size=100, split="train", rng=None):
    """Draw ``batch_size`` captions (with replacement) and their images' features and urls.

    Parameters
    ----------
    data : dict
        In the layout of the module docstring.
    batch_size : int
    split : {'train', 'val'}
    rng : numpy RandomState or Generator-like, optional
        An addition: where ``choice`` is drawn from (default numpy's global generator, as in the
        course, so ``np.random.seed`` reproduces the draws).

    Returns
    -------
    captions : ndarray of int, shape (batch_size, T + 1)
    image_features : ndarray, shape (batch_size, D)
    urls : ndarray of str, shape (batch_size,), or None when ``data`` has no urls for the split
    """
    key = f"{split}_captions"
    if key not in data:
        raise KeyError(f"data has no {key!r}; splits present: "
                       f"{sorted(k[:-len('_captions')] for k in data if k.endswith('_captions'))}")
    pick = (np.random if rng is None else rng).choice(data[key].shape[0], batch_size)
    captions = data[key][pick]
    image_idxs = data[f"{split}_image_idxs"][pick]
    urls = data.get(f"{split}_urls")
    return captions, data[f"{split}_features"][image_idxs], None if urls is None else urls[image_idxs]


# --- offline data --------------------------------------------------------------------------------

_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_SPECIAL = ("<NULL>", "<START>", "<END>", "<UNK>")
_VOCABULARY = _SPECIAL + ("a", "bold", "thin") + _DIGIT_WORDS + ("that", "is", "odd", "even")


def _digit_caption(label, ink, bold_at, thin_at):
    """'a [bold|thin] <digit> that is <odd|even>': the stroke word only for the heaviest / lightest thirds."""
    stroke = ["bold"] if ink >= bold_at else ["thin"] if ink <= thin_at else []
    parity = "odd" if label % 2 else "even"
    return ["<START>", "a", *stroke, _DIGIT_WORDS[label], "that", "is", parity, "<END>"]


def load_digits_captions(num_val=300, seed=0, dtype=np.float32):
    """A captioning data set in the COCO layout made from scikit-learn's bundled 8x8 digits (no download).

    Every image gets one caption, generated from its label and its amount of ink (the mean of its
    pixels, compared with the thirds of the training images' distribution), e.g.
    ``<START> a bold seven that is odd <END>`` or ``<START> a four that is even <END>``, padded with
    <NULL> to 8 words. A model must read the digit and the stroke weight from the features to
    caption an image; a few hundred captions are enough to overfit.

    Parameters
    ----------
    num_val : int
        Images in the validation split (the other ``1797 - num_val`` are training images).
    seed : int
        Seed of the shuffle before the split.
    dtype : np.float32 or np.float64
        dtype of the features.

    Returns
    -------
    dict
        The COCO layout (module docstring), with features of D = 64 (pixels scaled to [0, 1],
        minus the training mean), ``idx_to_word`` a list, urls ``sklearn-digits:<index>``, and also
        ``train_images`` / ``val_images`` (N_img, 8, 8) and ``train_labels`` / ``val_labels`` for
        display.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("load_digits_captions needs scikit-learn for its bundled digits (pip install "
                          "scikit-learn)") from exc
    digits = load_digits()
    n = digits.images.shape[0]
    if not isinstance(num_val, (int, np.integer)) or isinstance(num_val, bool) or not 1 <= num_val < n:
        raise ValueError(f"num_val must be an int in [1, {n}), got {num_val!r}")
    order = np.random.default_rng(seed).permutation(n)
    images = digits.images[order] / 16.0
    labels = digits.target[order].astype(np.int64)
    ink = images.mean(axis=(1, 2))
    n_train = n - num_val
    thin_at, bold_at = np.quantile(ink[:n_train], [1 / 3, 2 / 3])
    word_to_idx = {w: i for i, w in enumerate(_VOCABULARY)}
    captions = np.full((n, 8), word_to_idx["<NULL>"], dtype=np.int32)
    for i in range(n):
        words = _digit_caption(int(labels[i]), ink[i], bold_at, thin_at)
        captions[i, :len(words)] = [word_to_idx[w] for w in words]
    features = images.reshape(n, 64)
    features = (features - features[:n_train].mean(axis=0)).astype(dtype)
    data = {"word_to_idx": word_to_idx, "idx_to_word": list(_VOCABULARY)}
    for split, part in (("train", slice(0, n_train)), ("val", slice(n_train, n))):
        count = part.stop - part.start
        data[f"{split}_captions"] = captions[part].copy()
        data[f"{split}_image_idxs"] = np.arange(count)
        data[f"{split}_features"] = np.ascontiguousarray(features[part])
        data[f"{split}_urls"] = np.asarray([f"sklearn-digits:{j}" for j in order[part]])
        data[f"{split}_images"] = images[part].copy()
        data[f"{split}_labels"] = labels[part].copy()
    return data
