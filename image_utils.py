"""CS231n's ``image_utils`` (assignment 3): reading, normalizing and blurring images.

The captioning notebooks import ``image_from_url`` in their setup cell (to show COCO images from the
web), so this module exists for them to run with the ``cs231n.`` prefix dropped. Images are decoded
with Pillow (which matplotlib already requires); nothing is written to disk.

Notation
--------
N : number of images; H, W : height and width; 3 : RGB channels
"""

from __future__ import annotations

import io
import urllib.error
import urllib.request

import numpy as np

from fast_layers import conv_forward_fast

__all__ = ["blur_image", "preprocess_image", "deprocess_image", "image_from_url", "load_image",
           "SQUEEZENET_MEAN", "SQUEEZENET_STD"]

SQUEEZENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
SQUEEZENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def blur_image(X):
    """Blur each channel very slightly (a regularizer of image generation, as in the course).

    Every pixel becomes ``(188 x + 2 (4 edge neighbours) + 1 (4 corner neighbours)) / 200`` of its
    own channel, with zero padding.

    Parameters
    ----------
    X : ndarray, shape (N, 3, H, W)

    Returns
    -------
    ndarray, shape (N, 3, H, W)
    """
    kernel = np.array([[1, 2, 1], [2, 188, 2], [1, 2, 1]], dtype=np.float64) / 200.0
    w = np.zeros((3, 3, 3, 3))
    for c in range(3):
        w[c, c] = kernel                       # each output channel reads only its own input channel
    return conv_forward_fast(X, w, np.zeros(3), {"stride": 1, "pad": 1})[0]


def preprocess_image(img):
    """Scale uint8 RGB pixels to [0, 1], then standardize with SqueezeNet's mean and std per channel.

    Parameters
    ----------
    img : ndarray, shape (H, W, 3)

    Returns
    -------
    ndarray of float32, shape (H, W, 3)
    """
    return (img.astype(np.float32) / 255.0 - SQUEEZENET_MEAN) / SQUEEZENET_STD


def deprocess_image(img, rescale=False):
    """Undo :func:`preprocess_image` and return uint8 pixels (``rescale``: stretch to [0, 255] first).

    Parameters
    ----------
    img : ndarray, shape (H, W, 3)
    rescale : bool

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
    """
    img = img * SQUEEZENET_STD + SQUEEZENET_MEAN
    if rescale:
        low, high = img.min(), img.max()
        img = (img - low) / (high - low)
    return np.clip(255 * img, 0.0, 255.0).astype(np.uint8)


def _decode(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.array(im)


def image_from_url(url):
    """Download an image and return its pixels; print the error and return None if the URL fails.

    Parameters
    ----------
    url : str
        Any URL urllib opens (``http(s)://``, ``file://``).

    Returns
    -------
    ndarray of uint8, shape (H, W) or (H, W, C), or None
    """
    try:
        with urllib.request.urlopen(url) as response:
            return _decode(response.read())
    except urllib.error.HTTPError as e:
        print("HTTP Error: ", e.code, url)
    except urllib.error.URLError as e:
        print("URL Error: ", e.reason, url)
    return None


def load_image(filename, size=None):
    """Read an image file; with ``size``, resize it (nearest neighbour) so its shorter side is ``size``.

    As in the course, the new ``(height, width)`` is handed to Pillow, which reads it as
    ``(width, height)``: a non-square image comes back with its sides exchanged.

    Parameters
    ----------
    filename : str or path
    size : int or None

    Returns
    -------
    ndarray of uint8
    """
    from PIL import Image

    with open(filename, "rb") as fh:
        img = _decode(fh.read())
    if size is not None:
        shape = np.array(img.shape[:2])
        new_shape = (shape * (float(size) / shape.min())).astype(int)
        img = np.array(Image.fromarray(img).resize(tuple(int(s) for s in new_shape), resample=Image.NEAREST))
    return img
