"""data_utils: CIFAR-10 pickles written in the real format round-trip; the digits set splits cleanly."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import data_utils

IMAGES_PER_BATCH = 4


def _write_batch(path, data, labels):
    # The real batches are dicts with byte-string keys, pickled by Python 2 (protocol 2).
    with open(path, "wb") as fh:
        pickle.dump({b"batch_label": b"test", b"labels": list(labels), b"data": data,
                     b"filenames": [b"x.png"] * len(labels)}, fh, protocol=2)


@pytest.fixture
def cifar_dir(tmp_path):
    """A cifar-10-batches-py folder with 5 training batches and one test batch of 4 images."""
    rng = np.random.default_rng(1)
    batches = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        data = rng.integers(0, 256, size=(IMAGES_PER_BATCH, 3072), dtype=np.uint8)
        labels = [(i + j) % 10 for j in range(IMAGES_PER_BATCH)]
        _write_batch(tmp_path / name, data, labels)
        batches[name] = (data, labels)
    return tmp_path, batches


def test_load_cifar_batch_puts_channel_major_rows_into_channels_last_images(tmp_path):
    data = np.zeros((2, 3072), dtype=np.uint8)
    # Row layout: 1024 red values, then 1024 green, then 1024 blue, each row-major 32x32.
    data[0, 0 * 1024 + 5 * 32 + 7] = 11    # red at (5, 7)
    data[0, 1 * 1024 + 0 * 32 + 31] = 22   # green at (0, 31)
    data[1, 2 * 1024 + 31 * 32 + 0] = 33   # blue at (31, 0) of image 1
    _write_batch(tmp_path / "b", data, [3, 9])
    X, y = data_utils.load_CIFAR_batch(tmp_path / "b")
    assert X.shape == (2, 32, 32, 3) and X.dtype == np.float64
    assert X[0, 5, 7, 0] == 11 and X[0, 0, 31, 1] == 22 and X[1, 31, 0, 2] == 33
    assert X.sum() == 11 + 22 + 33
    np.testing.assert_array_equal(y, [3, 9])


def test_load_cifar10_concatenates_the_five_training_batches_in_order(cifar_dir):
    root, batches = cifar_dir
    Xtr, ytr, Xte, yte = data_utils.load_CIFAR10(root)
    assert Xtr.shape == (5 * IMAGES_PER_BATCH, 32, 32, 3) and Xte.shape == (IMAGES_PER_BATCH, 32, 32, 3)
    data3, labels3 = batches["data_batch_3"]
    # Image 1 of batch 3 is training image 2*4 + 1 = 9; its green pixel (2, 4) is column 1024 + 68.
    assert Xtr[9, 2, 4, 1] == data3[1, 1024 + 2 * 32 + 4]
    np.testing.assert_array_equal(ytr[8:12], labels3)
    np.testing.assert_array_equal(yte, batches["test_batch"][1])


def test_get_cifar10_data_splits_transposes_and_subtracts_the_training_mean(cifar_dir):
    root, batches = cifar_dir
    data = data_utils.get_CIFAR10_data(num_training=15, num_validation=3, num_test=2, cifar10_dir=root)
    assert sorted(data) == sorted(["X_train", "y_train", "X_val", "y_val", "X_test", "y_test"])
    assert data["X_train"].shape == (15, 3, 32, 32)
    assert data["X_val"].shape == (3, 3, 32, 32) and data["X_test"].shape == (2, 3, 32, 32)
    raw = np.concatenate([batches[f"data_batch_{k}"][0] for k in range(1, 6)]).astype(np.float64)
    raw = raw.reshape(-1, 3, 32, 32)
    mean = raw[:15].mean(axis=0)
    np.testing.assert_allclose(data["X_train"], raw[:15] - mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(data["X_val"], raw[15:18] - mean, rtol=1e-12, atol=1e-12)
    test_raw = batches["test_batch"][0].astype(np.float64).reshape(-1, 3, 32, 32)
    np.testing.assert_allclose(data["X_test"], test_raw[:2] - mean, rtol=1e-12, atol=1e-12)
    all_labels = np.concatenate([batches[f"data_batch_{k}"][1] for k in range(1, 6)])
    np.testing.assert_array_equal(data["y_val"], all_labels[15:18])


def test_get_cifar10_data_without_mean_and_in_float32(cifar_dir):
    root, batches = cifar_dir
    data = data_utils.get_CIFAR10_data(4, 0, 1, subtract_mean=False, cifar10_dir=root, dtype=np.float32)
    assert data["X_train"].dtype == np.float32 and data["X_val"].shape == (0, 3, 32, 32)
    np.testing.assert_array_equal(data["X_train"][0].ravel(), batches["data_batch_1"][0][0])


def test_get_cifar10_data_rejects_more_images_than_exist(cifar_dir):
    root, _ = cifar_dir
    with pytest.raises(ValueError, match="exceeds the 20 training images"):
        data_utils.get_CIFAR10_data(num_training=19, num_validation=2, num_test=1, cifar10_dir=root)


def test_load_cifar10_names_the_missing_batches(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        data_utils.load_CIFAR10(tmp_path)


def test_load_cifar_batch_rejects_a_wrong_row_length(tmp_path):
    _write_batch(tmp_path / "b", np.zeros((2, 100), dtype=np.uint8), [0, 1])
    with pytest.raises(ValueError, match=r"\(N, 3072\)"):
        data_utils.load_CIFAR_batch(tmp_path / "b")


def test_load_digits_data_splits_every_image_exactly_once():
    from sklearn.datasets import load_digits

    data = data_utils.load_digits_data(num_validation=200, num_test=100, subtract_mean=False)
    assert data["X_train"].shape == (1497, 1, 8, 8) and data["X_train"].dtype == np.float32
    assert data["X_val"].shape == (200, 1, 8, 8) and data["X_test"].shape == (100, 1, 8, 8)
    assert data["y_train"].dtype == np.int64
    stacked = np.concatenate([data["X_train"], data["X_val"], data["X_test"]])[:, 0] * 16
    labels = np.concatenate([data["y_train"], data["y_val"], data["y_test"]])
    original = load_digits()
    # Every original image shows up once, with its label: match by sorting rows.
    key = np.lexsort(np.c_[stacked.reshape(len(stacked), -1), labels].T)
    key0 = np.lexsort(np.c_[original.images.reshape(1797, -1), original.target].T)
    np.testing.assert_array_equal(stacked.reshape(1797, -1)[key], original.images.reshape(1797, -1)[key0])
    np.testing.assert_array_equal(labels[key], original.target[key0])


def test_load_digits_data_is_reproducible_and_centred():
    a = data_utils.load_digits_data(seed=3)
    b = data_utils.load_digits_data(seed=3)
    c = data_utils.load_digits_data(seed=4)
    np.testing.assert_array_equal(a["X_val"], b["X_val"])
    assert not np.array_equal(a["y_val"], c["y_val"])
    np.testing.assert_allclose(a["X_train"].mean(axis=0), 0.0, atol=1e-6)


def test_load_digits_data_upsample_repeats_each_pixel():
    small = data_utils.load_digits_data(subtract_mean=False, dtype=np.float64)
    big = data_utils.load_digits_data(upsample=2, subtract_mean=False, dtype=np.float64)
    assert big["X_train"].shape[2:] == (16, 16)
    for di in range(2):
        for dj in range(2):
            np.testing.assert_array_equal(big["X_train"][:, :, di::2, dj::2], small["X_train"])


@pytest.mark.parametrize("kwargs, match", [
    ({"num_validation": 1000, "num_test": 797}, "leaves no training images"),
    ({"upsample": 0}, "upsample"),
    ({"num_test": -1}, "num_test"),
])
def test_load_digits_data_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data_utils.load_digits_data(**kwargs)
