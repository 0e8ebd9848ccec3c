"""Tile many small images (filters, activations) into one picture for ``plt.imshow``.

``visualize_grid`` rescales each image on its own; ``vis_grid`` and ``vis_nn`` (CS231n's other
two helpers) rescale the whole picture at once, so images keep their relative brightness.

Notation
--------
N : number of images to tile
H, W : height and width of each image
C : channels (1 or 3 for a picture, any number for raw arrays)
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["visualize_grid", "vis_grid", "vis_nn"]


def visualize_grid(Xs, ubound=255.0, padding=1):
    """Arrange images on a square grid, each rescaled on its own to ``[0, ubound]``.

    Parameters
    ----------
    Xs : ndarray, shape (N, H, W, C)
        Images channels-last. Convolution filters of shape (F, C, HH, WW) are shown with
        ``visualize_grid(w.transpose(0, 2, 3, 1))``.
    ubound : float
        Value the brightest pixel of each image is mapped to (255.0 for uint8-style display,
        1.0 for ``imshow`` of floats).
    padding : int
        Blank pixels between neighbouring images.

    Returns
    -------
    grid : ndarray of float64, shape (G*(H+padding)-padding, G*(W+padding)-padding, C)
        With ``G = ceil(sqrt(N))``. Padding and unused cells are 0. An image that is constant
        is drawn as 0 (it has no contrast to stretch).
    """
    if not isinstance(Xs, np.ndarray) or Xs.dtype.kind not in "biuf":
        raise TypeError(f"Xs must be a real numeric ndarray, got {type(Xs).__name__}")
    if Xs.ndim != 4:
        raise ValueError(f"Xs must be 4-D (N, H, W, C), got shape {Xs.shape}")
    if Xs.shape[0] < 1:
        raise ValueError("Xs must hold at least one image")
    if not isinstance(padding, (int, np.integer)) or isinstance(padding, bool) or padding < 0:
        raise ValueError(f"padding must be a non-negative int, got {padding!r}")
    N, H, W, C = Xs.shape
    G = int(math.ceil(math.sqrt(N)))
    grid = np.zeros((G * (H + padding) - padding, G * (W + padding) - padding, C))
    for k in range(N):
        img = Xs[k].astype(np.float64)
        low, high = img.min(), img.max()
        span = high - low
        top, left = (k // G) * (H + padding), (k % G) * (W + padding)
        if span > 0:
            grid[top:top + H, left:left + W] = ubound * (img - low) / span
    return grid


def _check_images(Xs, name):
    if not isinstance(Xs, np.ndarray) or Xs.dtype.kind not in "biuf" or Xs.ndim != 4 or Xs.shape[0] < 1:
        raise ValueError(f"{name} must be a real 4-D ndarray (N, H, W, C) holding at least one image, got "
                         f"{getattr(Xs, 'shape', type(Xs).__name__)}")


def _paste(canvas, img, row, col, H, W):
    """Put ``img`` in cell (row, col) of a canvas whose cells are H x W plus a 1-pixel gap."""
    top, left = row * (H + 1), col * (W + 1)
    canvas[top:top + H, left:left + W] = img


def _to_unit_range(G):
    """Rescale the whole picture to [0, 1] (all zeros when it is constant)."""
    G = G.astype(np.float64)
    low, high = G.min(), G.max()
    return (G - low) / (high - low) if high > low else np.zeros_like(G)


def vis_grid(Xs):
    """Arrange images on a square grid and rescale the whole grid to [0, 1].

    Parameters
    ----------
    Xs : ndarray, shape (N, H, W, C)

    Returns
    -------
    grid : ndarray of float64, shape (A*(H+1), A*(W+1), C)
        With ``A = ceil(sqrt(N))``; each image is followed by a 1-pixel gap to the right and below.
        Gaps and empty cells hold the smallest pixel value before the rescaling (so 0 after it).
    """
    _check_images(Xs, "Xs")
    N, H, W, C = Xs.shape
    A = int(math.ceil(math.sqrt(N)))
    G = np.full((A * (H + 1), A * (W + 1), C), Xs.min(), dtype=Xs.dtype)
    for n in range(N):
        _paste(G, Xs[n], n // A, n % A, H, W)
    return _to_unit_range(G)


def vis_nn(rows):
    """Arrange a table of images (a list of rows, each a list of (H, W, C) images) in one picture.

    Parameters
    ----------
    rows : list of list of ndarray, each of shape (H, W, C)
        N rows of D images each.

    Returns
    -------
    grid : ndarray of float64, shape (N*(H+1), D*(W+1), C)
        Rescaled as a whole to [0, 1]. The 1-pixel gaps hold the value 1 before the rescaling,
        as in CS231n.
    """
    if not rows or not all(isinstance(r, (list, tuple)) and r for r in rows):
        raise ValueError("rows must be a non-empty list of non-empty lists of images")
    first = np.asarray(rows[0][0])
    if first.ndim != 3:
        raise ValueError(f"each image must have shape (H, W, C), got {first.shape}")
    H, W, C = first.shape
    D = len(rows[0])
    if any(len(r) != D for r in rows):
        raise ValueError(f"every row must hold {D} images, got lengths {[len(r) for r in rows]}")
    G = np.ones((len(rows) * (H + 1), D * (W + 1), C), dtype=first.dtype)
    for y, row in enumerate(rows):
        for x, img in enumerate(row):
            img = np.asarray(img)
            if img.shape != first.shape:
                raise ValueError(f"image [{y}][{x}] has shape {img.shape}, expected {first.shape}")
            _paste(G, img, y, x, H, W)
    return _to_unit_range(G)
