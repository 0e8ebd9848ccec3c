"""Tile many small images (filters, activations) into one picture for ``plt.imshow``.

Notation
--------
N : number of images to tile
H, W : height and width of each image
C : channels (1 or 3 for a picture, any number for raw arrays)
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["visualize_grid"]


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
