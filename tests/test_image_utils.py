"""Tests for image_utils.py: the course's image helpers, on files written here (no network)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imsave

import image_utils as iu


def _png(tmp_path, h=6, w=10):
    img = (np.arange(h * w * 3).reshape(h, w, 3) % 256).astype(np.uint8)
    path = tmp_path / "img.png"
    imsave(path, img)
    return path, img


def test_image_from_url_reads_a_file_url(tmp_path):
    path, img = _png(tmp_path)
    got = iu.image_from_url(path.as_uri())
    np.testing.assert_array_equal(got[..., :3], img)


def test_image_from_url_reports_a_bad_url_and_returns_none(tmp_path, capsys):
    assert iu.image_from_url((tmp_path / "missing.png").as_uri()) is None
    assert "URL Error" in capsys.readouterr().out


def test_load_image_resizes_the_shorter_side_with_the_course_axis_quirk(tmp_path):
    path, img = _png(tmp_path, h=6, w=10)
    np.testing.assert_array_equal(iu.load_image(path)[..., :3], img)
    # shorter side 6 -> 3: the course asks Pillow for (3, 5), which Pillow reads as width 3, height 5
    assert iu.load_image(path, size=3).shape[:2] == (5, 3)


def test_preprocess_and_deprocess_round_trip():
    img = np.random.default_rng(0).integers(0, 256, (4, 5, 3)).astype(np.uint8)
    pre = iu.preprocess_image(img)
    assert pre.dtype == np.float32
    np.testing.assert_allclose(pre[0, 0], (img[0, 0] / 255 - iu.SQUEEZENET_MEAN) / iu.SQUEEZENET_STD, rtol=1e-6)
    assert np.abs(iu.deprocess_image(pre).astype(int) - img).max() <= 1
    stretched = iu.deprocess_image(pre, rescale=True)
    assert stretched.min() == 0 and stretched.max() == 255


def test_blur_image_is_the_course_kernel_per_channel():
    X = np.random.default_rng(1).standard_normal((2, 3, 5, 4))
    got = iu.blur_image(X)
    k = np.array([[1, 2, 1], [2, 188, 2], [1, 2, 1]]) / 200.0
    padded = np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1)))
    want = sum(k[i, j] * padded[:, :, i:i + 5, j:j + 4] for i in range(3) for j in range(3))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
