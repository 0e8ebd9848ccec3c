"""Tests for features.py: assignment 1's HOG and hue-histogram features.

Oracles: hand-computed cases, the course's recipe written out here with scipy's uniform_filter and
np.histogram (scipy only as a test oracle, behind importorskip), and the per-image functions
against the vectorized blocks of extract_features.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from matplotlib.colors import rgb_to_hsv

import features as F


def _images(rng, n, size=32):
    return rng.random((n, size, size, 3)) * 255


# --- oracles ---------------------------------------------------------------------------------------

def _course_recipe_hog(im):
    """The course's HOG recipe: uniform_filter over 8 x 8 sampled at the cell centres, transposed."""
    ndimage = pytest.importorskip("scipy.ndimage")
    grey = np.dot(im[..., :3], [0.299, 0.587, 0.144])
    gx, gy = np.zeros(grey.shape), np.zeros(grey.shape)
    gx[:, :-1] = np.diff(grey, axis=1)
    gy[:-1, :] = np.diff(grey, axis=0)
    mag = np.sqrt(gx ** 2 + gy ** 2)
    ori = np.arctan2(gy, gx + 1e-15) * (180 / np.pi) + 90
    rows, cols = grey.shape[0] // 8, grey.shape[1] // 8
    hist = np.zeros((rows, cols, 9))
    for k in range(9):
        keep = (ori >= 20 * k) & (ori < 20 * (k + 1)) & (ori > 0)
        hist[:, :, k] = ndimage.uniform_filter(np.where(keep, mag, 0), size=(8, 8))[4::8, 4::8].T
    return hist.ravel()


def _course_recipe_hue(im, nbin=10, xmin=0, xmax=255, normalized=True):
    hist, edges = np.histogram(rgb_to_hsv(im / xmax)[..., 0] * xmax, bins=np.linspace(xmin, xmax, nbin + 1),
                               density=normalized)
    return hist * np.diff(edges)


# --- rgb2gray --------------------------------------------------------------------------------------

def test_rgb2gray_uses_the_course_weights():
    px = np.array([[[100.0, 0.0, 0.0], [0.0, 100.0, 0.0], [0.0, 0.0, 100.0], [1.0, 2.0, 3.0]]])
    np.testing.assert_allclose(F.rgb2gray(px), [[29.9, 58.7, 14.4, 0.299 + 1.174 + 0.432]], rtol=1e-15)


# --- HOG -------------------------------------------------------------------------------------------

def test_hog_of_a_vertical_edge_has_one_orientation():
    # left half 0, right half 255: gx = 255 * 0.299... at the edge column, gy = 0 -> orientation 90
    im = np.zeros((16, 16, 3))
    im[:, 8:] = 255.0
    hog = F.hog_feature(im).reshape(2, 2, 9)                    # (cell column, cell row, bin)
    grey_step = 255 * (0.299 + 0.587 + 0.144)
    # column 7 of the left cells carries the step; 8 of the 64 pixels of each such cell
    np.testing.assert_allclose(hog[0, :, 4], grey_step * 8 / 64, rtol=1e-14)   # bin 4 = [80, 100)
    assert np.count_nonzero(hog) == 2


def test_hog_has_the_course_length_for_cifar_images():
    assert F.hog_feature(np.zeros((32, 32, 3))).shape == (144,)
    assert F.hog_feature(np.zeros((36, 36, 3))).shape == (144,)
    assert F.hog_feature(np.zeros((40, 24))).shape == (9 * 3 * 5,)      # grey, non-square: whole cells


@pytest.mark.parametrize("size", [8, 16, 32, 36, 44])
@pytest.mark.parametrize("kind", ["random", "uint8", "stripes"])
def test_hog_matches_the_course_recipe(size, kind):
    rng = np.random.default_rng(size)
    if kind == "random":
        im = rng.random((size, size, 3)) * 255
    elif kind == "uint8":
        im = rng.integers(0, 256, (size, size, 3)).astype(np.uint8)
    else:
        im = np.zeros((size, size, 3))
        im[::3] = 200.0
        im[:, ::5, 1] = 90.0
    want = _course_recipe_hog(im)
    got = F.hog_feature(im)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


# --- hue histogram ---------------------------------------------------------------------------------

def test_hue_histogram_of_pure_colours():
    im = np.zeros((2, 2, 3))
    im[0, 0] = [255, 0, 0]        # hue 0
    im[0, 1] = [0, 255, 0]        # hue 1/3 -> 85
    im[1, :] = [0, 0, 255]        # hue 2/3 -> 170, twice
    np.testing.assert_allclose(F.color_histogram_hsv(im, nbin=3), [0.25, 0.25, 0.5])
    # unnormalized: counts times the bin width (85), as the course computes it
    np.testing.assert_allclose(F.color_histogram_hsv(im, nbin=3, normalized=False), [85, 85, 170])


@pytest.mark.parametrize("kw", [{}, {"nbin": 7}, {"normalized": False}, {"nbin": 12, "xmin": 10}])
def test_hue_histogram_matches_np_histogram_bin_for_bin(kw):
    rng = np.random.default_rng(1)
    for im in (rng.random((32, 32, 3)) * 255, rng.integers(0, 256, (20, 30, 3)).astype(float)):
        np.testing.assert_array_equal(F.color_histogram_hsv(im, **kw), _course_recipe_hue(im, **kw))


# --- extract_features ------------------------------------------------------------------------------

def test_extract_features_blocks_equal_the_per_image_functions(capsys):
    rng = np.random.default_rng(2)
    imgs = _images(rng, 1203)                                   # two blocks and a bit
    hue7 = functools.partial(F.color_histogram_hsv, nbin=7)
    out = F.extract_features(imgs, [F.hog_feature, hue7], verbose=True)
    assert out.shape == (1203, 144 + 7) and out.dtype == np.float64
    for i in (0, 1, 999, 1000, 1202):
        np.testing.assert_array_equal(out[i], np.concatenate([F.hog_feature(imgs[i]), hue7(imgs[i])]))
    assert capsys.readouterr().out == "Done extracting features for 1000 / 1203 images\n"


def test_extract_features_runs_any_function_per_image():
    rng = np.random.default_rng(3)
    imgs = _images(rng, 5, size=16)
    out = F.extract_features(imgs, [lambda im: im.mean(axis=(0, 1)), F.hog_feature])
    np.testing.assert_allclose(out[:, :3], imgs.mean(axis=(1, 2)))
    np.testing.assert_array_equal(out[:, 3:], np.stack([F.hog_feature(im) for im in imgs]))


def test_extract_features_squeezes_grey_images_like_the_course():
    rng = np.random.default_rng(4)
    grey = rng.random((3, 16, 16, 1)) * 255
    np.testing.assert_array_equal(F.extract_features(grey, [F.hog_feature])[1], F.hog_feature(grey[1, :, :, 0]))


def test_extract_features_of_no_images_is_empty():
    assert F.extract_features(np.zeros((0, 32, 32, 3)), [F.hog_feature]).shape == (0,)


@pytest.mark.parametrize("call, exc, words", [
    (lambda: F.hog_feature(np.zeros((4, 4, 3))), ValueError, "at least 8 x 8"),
    (lambda: F.color_histogram_hsv(np.zeros((4, 4))), ValueError, r"\(H, W, 3\)"),
    (lambda: F.extract_features(np.zeros((2, 8, 8, 3)), [lambda im: im]), ValueError, "1-D"),
    (lambda: F.extract_features([[1.0]], [F.hog_feature]), TypeError, "numpy ndarray"),
    (lambda: F.color_histogram_hsv(np.zeros((4, 4, 3)), nbin=0), ValueError, "nbin"),
])
def test_bad_arguments_raise_a_message(call, exc, words):
    with pytest.raises(exc, match=words):
        call()
