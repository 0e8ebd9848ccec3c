"""Hand-made image features of CS231n's assignment 1 (``cs231n/features.py``): HOG and a hue histogram.

``extract_features(imgs, feature_fns)`` applies feature functions to every image and stacks the
results, one row per image. The two features the course provides:

``hog_feature(im)``
    A histogram of oriented gradients. The image is turned grey (:func:`rgb2gray`), its gradients
    taken as forward differences (the last column / row gets 0), each pixel's orientation
    ``atan2(gy, gx) + 90`` degrees put in one of 9 bins of 20 degrees over [0, 180), and the
    gradient magnitudes of each bin averaged over cells of 8 x 8 pixels. Length
    ``9 * floor(H / 8) * floor(W / 8)`` (324 for a 32 x 32 CIFAR-10 image).
``color_histogram_hsv(im, nbin=10, xmin=0, xmax=255, normalized=True)``
    The histogram of the image's hue (HSV), over ``nbin`` equal bins of [xmin, xmax].

The values are the course's, to floating rounding, on every image it accepts (the tests compare
with the course's own file), quirks included: the grey level weighs blue by 0.144 (the usual luma
weight is 0.114), and a pixel whose orientation is exactly 0 degrees, or falls outside [0, 180),
counts in no bin. The course averages each cell with ``scipy.ndimage.uniform_filter`` sampled at
the cell centres; here the cells are averaged directly (scipy is not a dependency), which is the
same number wherever the course's code runs (images of side 8k to 8k + 4, square), and defines
the feature for the other sizes (whole cells only) instead of failing.

``extract_features`` recognises these two functions (and ``functools.partial`` of them) and
computes them for all images at once, in a few vectorized passes, instead of image by image: the
results are the same as calling them on each image.

Notation
--------
N : number of images; H, W : image height and width; C : channels (3, RGB)
F : length of a feature vector
"""

from __future__ import annotations

import functools
import sys

import numpy as np
from matplotlib.colors import rgb_to_hsv

__all__ = ["extract_features", "rgb2gray", "hog_feature", "color_histogram_hsv"]

ORIENTATIONS = 9   # bins of 20 degrees over [0, 180)
CELL = 8           # pixels per cell side
_GREY = np.array([0.299, 0.587, 0.144])  # the course's weights (blue 0.144, not the usual 0.114)


def rgb2gray(rgb):
    """Grey level ``0.299 R + 0.587 G + 0.144 B`` of every pixel (the course's weights).

    Parameters
    ----------
    rgb : ndarray, shape (..., C) with C >= 3
        Extra channels beyond the third are ignored.

    Returns
    -------
    ndarray, shape (...)
    """
    rgb = _numeric(rgb, "rgb")
    if rgb.ndim < 1 or rgb.shape[-1] < 3:
        raise ValueError(f"rgb must have at least 3 channels on its last axis, got shape {rgb.shape}")
    return np.dot(rgb[..., :3], _GREY)


# --- HOG -----------------------------------------------------------------------------------------

def hog_feature(im):
    """Histogram of oriented gradients of one image (see the module docstring).

    Parameters
    ----------
    im : ndarray, shape (H, W, C) (RGB, turned grey by :func:`rgb2gray`) or (H, W) (grey)
        At least 8 x 8 pixels.

    Returns
    -------
    ndarray of float64, shape (9 * floor(W / 8) * floor(H / 8),)
        Laid out as the course lays it out: cell column, then cell row, then orientation.
    """
    im = _numeric(im, "im")
    if im.ndim not in (2, 3):
        raise ValueError(f"im must be an (H, W, C) RGB image or an (H, W) grey image, got shape {im.shape}")
    return _hog(im[None])[0]


def _hog(images):
    """HOG of a batch: images (N, H, W) grey or (N, H, W, C) RGB -> (N, F)."""
    grey = rgb2gray(images) if images.ndim == 4 else images.astype(np.float64)
    N, H, W = grey.shape
    rows, cols = H // CELL, W // CELL
    if rows < 1 or cols < 1:
        raise ValueError(f"hog_feature needs an image of at least {CELL} x {CELL} pixels, got {H} x {W}")
    gx, gy = np.zeros_like(grey), np.zeros_like(grey)
    gx[:, :, :-1] = np.diff(grey, axis=2)
    gy[:, :-1, :] = np.diff(grey, axis=1)
    magnitude = np.sqrt(gx ** 2 + gy ** 2)
    # The course adds 1e-15 to gx so that a flat region has orientation atan2(0, 1e-15) + 90 = 90.
    orientation = np.arctan2(gy, gx + 1e-15) * (180 / np.pi) + 90
    width = 180 / ORIENTATIONS
    hist = np.empty((N, cols, rows, ORIENTATIONS))
    for k in range(ORIENTATIONS):
        # bin k holds orientations in [20 k, 20 (k + 1)), except exactly 0 (the course's test is "> 0")
        inside = (orientation >= width * k) & (orientation < width * (k + 1)) & (orientation > 0)
        cells = np.where(inside, magnitude, 0)[:, :rows * CELL, :cols * CELL]
        means = cells.reshape(N, rows, CELL, cols, CELL).mean(axis=(2, 4))
        hist[..., k] = means.transpose(0, 2, 1)
    return hist.reshape(N, -1)


# --- hue histogram -------------------------------------------------------------------------------

def color_histogram_hsv(im, nbin=10, xmin=0, xmax=255, normalized=True):
    """Histogram of the hue of an RGB image over ``nbin`` equal bins of [xmin, xmax].

    The image is scaled by ``1 / xmax`` into matplotlib's ``rgb_to_hsv`` and the hue scaled back
    by ``xmax``, as in the course.

    Parameters
    ----------
    im : ndarray, shape (H, W, 3)
        RGB pixel values in [0, xmax].
    nbin : int
    xmin, xmax : float
        The range of the bins (and xmax the pixel scale).
    normalized : bool
        True: the fraction of the pixels in each bin (sums to 1). False: each count multiplied by
        the bin width (what the course's code computes).

    Returns
    -------
    ndarray of float64, shape (nbin,)
    """
    im = _numeric(im, "im")
    if im.ndim != 3 or im.shape[-1] != 3:
        raise ValueError(f"im must be an (H, W, 3) RGB image, got shape {im.shape}")
    return _hue_histograms(im[None], nbin, xmin, xmax, normalized)[0]


def _hue_histograms(images, nbin, xmin, xmax, normalized):
    """Hue histograms of a batch (N, H, W, 3) -> (N, nbin), bin for bin what np.histogram gives."""
    if not isinstance(nbin, (int, np.integer)) or isinstance(nbin, bool) or nbin < 1:
        raise ValueError(f"nbin must be a positive int, got {nbin!r}")
    if not (np.isfinite(xmin) and np.isfinite(xmax) and xmax > xmin and xmax > 0):
        raise ValueError(f"need finite 0 < xmax and xmin < xmax, got xmin={xmin!r}, xmax={xmax!r}")
    edges = np.linspace(xmin, xmax, nbin + 1)
    hue = (rgb_to_hsv(images / xmax) * xmax)[..., 0].reshape(len(images), -1)
    # np.histogram's rule: bin i holds edges[i] <= v < edges[i + 1], the last bin also v == edges[-1]
    idx = np.searchsorted(edges, hue, side="right") - 1
    idx[hue == edges[-1]] = nbin - 1
    inside = (hue >= edges[0]) & (hue <= edges[-1])
    flat = (np.arange(len(images))[:, None] * nbin + idx)[inside]
    counts = np.bincount(flat, minlength=len(images) * nbin).reshape(len(images), nbin).astype(np.float64)
    widths = np.diff(edges)
    if not normalized:
        return counts * widths
    # density = counts / (total * width), times width again: counts / total, rounded as the course rounds
    total = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts / widths / total * widths


# --- many images ---------------------------------------------------------------------------------

def _batched(fn):
    """``(batch function, keyword arguments)`` when ``fn`` is one of ours (or a partial of one), else None."""
    kwargs = {}
    if isinstance(fn, functools.partial) and not fn.args:
        fn, kwargs = fn.func, dict(fn.keywords)
    if fn is hog_feature and not kwargs:
        return lambda imgs: _hog(imgs)
    if fn is color_histogram_hsv and set(kwargs) <= {"nbin", "xmin", "xmax", "normalized"}:
        opts = {"nbin": 10, "xmin": 0, "xmax": 255, "normalized": True, **kwargs}
        return lambda imgs: _hue_histograms(imgs, **opts) if imgs.ndim == 4 and imgs.shape[-1] == 3 else None
    return None


def extract_features(imgs, feature_fns, verbose=False, progress=False):
    """Apply every feature function to every image; one row of concatenated features per image.

    Parameters
    ----------
    imgs : ndarray, shape (N, H, W, C)
        The images (each is ``squeeze()``-d before a feature function sees it, as in the course).
    feature_fns : list of callable
        Each takes one image and returns a 1-D array; its length is read from the first image.
        :func:`hog_feature` and :func:`color_histogram_hsv` (or ``functools.partial`` of them with
        keyword arguments) run on blocks of images at once, with the same results.
    verbose : bool
        Print a line every 1000 images (the course's progress report).
    progress : bool
        An addition: show a tqdm progress bar over the images (when tqdm is installed).

    Returns
    -------
    ndarray of float64, shape (N, F_1 + ... + F_k)
        An empty 1-D array when N = 0 (as in the course).
    """
    imgs = _numeric(imgs, "imgs")
    if imgs.ndim < 1:
        raise ValueError(f"imgs must be an array of images, shape (N, H, W, C), got shape {imgs.shape}")
    fns = list(feature_fns)
    if not fns or not all(callable(f) for f in fns):
        raise TypeError("feature_fns must be a non-empty list of functions, each taking one image")
    N = imgs.shape[0]
    if N == 0:
        return np.array([])
    first = [np.asarray(f(imgs[0].squeeze())) for f in fns]
    for f, feats in zip(fns, first):
        if feats.ndim != 1:
            raise ValueError(f"feature function {getattr(f, '__name__', f)!r} must return a 1-D array, got "
                             f"shape {feats.shape}")
    bounds = np.cumsum([0] + [feats.size for feats in first])
    out = np.zeros((N, bounds[-1]))
    batched = [_batched(f) for f in fns]
    # per image, what the course's image.squeeze() removes (the batch axis stays)
    axes = tuple(a for a in range(1, imgs.ndim) if imgs.shape[a] == 1)
    bar = _progress_bar(N) if progress else None
    for start in range(0, N, _BLOCK):
        stop = min(start + _BLOCK, N)
        block = imgs[start:stop].squeeze(axis=axes)
        for k, f in enumerate(fns):
            values = batched[k](block) if batched[k] is not None else None
            if values is None:
                values = [first[k] if i == 0 else f(imgs[i].squeeze()) for i in range(start, stop)]
            out[start:stop, bounds[k]:bounds[k + 1]] = values
        if verbose:
            for i in range(start + 999 - start % 1000, stop, 1000):
                print(f"Done extracting features for {i + 1} / {N} images")
        if bar is not None:
            bar.update(stop - start)
    if bar is not None:
        bar.close()
    return out


_BLOCK = 1000  # images per vectorized block: a few temporaries of 1000 x H x W floats (8 MB at 32 x 32)


def _progress_bar(N):
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=N, desc="extracting features", unit="image", file=sys.stdout, mininterval=0.5)


def _numeric(a, name):
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy ndarray, got {type(a).__name__}")
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    return a
