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


# --------------------------------------------------------------------- safety and odd files

class _WritesAFile:
    """Unpickling this runs ``open(path, 'w').write(...)``: what a crafted batch could do."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (exec, (f"open({self.path!r}, 'w').write('pwned')",))


def test_a_crafted_batch_file_cannot_run_code(tmp_path):
    victim = tmp_path / "victim.txt"
    with open(tmp_path / "data_batch_1", "wb") as fh:
        pickle.dump({"data": np.zeros((1, 3072), np.uint8), "labels": [_WritesAFile(victim)]}, fh)
    with pytest.raises(pickle.UnpicklingError, match=r"data_batch_1.*refusing to load builtins.exec"):
        data_utils.load_CIFAR_batch(tmp_path / "data_batch_1")
    assert not victim.exists()
    # Likewise for a file that only looks like an .npy of saved parameters.
    np.save(tmp_path / "params.npy", np.array({"W": _WritesAFile(victim)}, dtype=object), allow_pickle=True)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        data_utils.load_npy_dict(tmp_path / "params.npy")
    assert not victim.exists()


def test_load_pickle_still_reads_plain_data_and_numpy_arrays(tmp_path):
    value = {"a": [1, 2.5, "s", b"b"], "arr": np.arange(6, dtype=np.int16).reshape(2, 3), "f": np.float32(1.5)}
    for protocol in (0, 2, 5):
        path = tmp_path / f"p{protocol}"
        with open(path, "wb") as fh:
            pickle.dump(value, fh, protocol=protocol)
        with open(path, "rb") as fh:
            got = data_utils.load_pickle(fh)
        assert got["a"] == value["a"] and got["f"] == 1.5
        np.testing.assert_array_equal(got["arr"], value["arr"])
        assert got["arr"].dtype == np.int16


@pytest.mark.parametrize("labels, match", [
    ([0, 0.9], r"'labels' must be a list of integers, found 0.9"),
    ([0, 42], r"labels must lie in 0..9, found 42"),
    ([0, -1], r"labels must lie in 0..9, found -1"),
    ([0, "3"], r"'labels' must be a list of integers"),
])
def test_bad_labels_are_refused_with_the_file_name(tmp_path, labels, match):
    _write_batch(tmp_path / "data_batch_2", np.zeros((2, 3072), dtype=np.uint8), labels)
    with pytest.raises(ValueError, match="data_batch_2") as info:
        data_utils.load_CIFAR_batch(tmp_path / "data_batch_2")
    assert __import__("re").search(match, str(info.value)), str(info.value)


def test_float_or_out_of_range_pixels_are_refused(tmp_path):
    _write_batch(tmp_path / "b", np.full((1, 3072), 0.5), [1])
    with pytest.raises(ValueError, match="integer pixels"):
        data_utils.load_CIFAR_batch(tmp_path / "b")
    _write_batch(tmp_path / "b", np.full((1, 3072), 300, dtype=np.int32), [1])
    with pytest.raises(ValueError, match="0..255"):
        data_utils.load_CIFAR_batch(tmp_path / "b")


@pytest.mark.parametrize("content, match", [(b"", "the file is empty or truncated"),
                                            (b"\x80\x02}q\x00(", "empty or truncated"),
                                            (b"not a pickle at all", "cannot read it as a pickle")])
def test_an_empty_or_corrupt_file_is_named(tmp_path, content, match):
    path = tmp_path / "test_batch"
    path.write_bytes(content)
    with pytest.raises((ValueError, pickle.UnpicklingError), match=match) as info:
        data_utils.load_CIFAR_batch(path)
    assert str(path) in str(info.value)


def _official_layout(root):
    """cs231n/datasets/cifar-10-batches-py under root, as the course's get_datasets.sh leaves it."""
    folder = root / "cs231n" / "datasets" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        _write_batch(folder / name, np.full((2, 3072), i, dtype=np.uint8), [i, i + 1])
    return folder


@pytest.fixture
def no_data_env(monkeypatch):
    monkeypatch.delenv("CNNKIT_CIFAR10_DIR", raising=False)
    monkeypatch.delenv("CNNKIT_DATA", raising=False)


def test_get_cifar10_data_finds_the_official_layout(tmp_path, monkeypatch, no_data_env):
    _official_layout(tmp_path)
    monkeypatch.chdir(tmp_path)
    # What the official notebooks call, from the assignment folder:
    X_train, y_train, _, _ = data_utils.load_CIFAR10("cs231n/datasets/cifar-10-batches-py")
    assert X_train.shape == (10, 32, 32, 3)
    data = data_utils.get_CIFAR10_data(num_training=8, num_validation=2, num_test=2)
    assert data["X_train"].shape == (8, 3, 32, 32)
    np.testing.assert_array_equal(data["y_val"], [4, 5])


def test_get_cifar10_data_finds_datasets_and_the_environment_variables(tmp_path, monkeypatch, no_data_env):
    official = _official_layout(tmp_path / "elsewhere")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CNNKIT_CIFAR10_DIR", str(official))
    assert data_utils.get_CIFAR10_data(8, 2, 2)["X_train"].shape[0] == 8
    monkeypatch.delenv("CNNKIT_CIFAR10_DIR")
    monkeypatch.setenv("CNNKIT_DATA", str(official.parent))
    assert data_utils.get_CIFAR10_data(8, 2, 2)["X_train"].shape[0] == 8
    monkeypatch.delenv("CNNKIT_DATA")
    (tmp_path / "datasets").mkdir()
    official.rename(tmp_path / "datasets" / "cifar-10-batches-py")
    assert data_utils.get_CIFAR10_data(8, 2, 2)["X_train"].shape[0] == 8


def test_missing_cifar10_lists_where_it_looked_and_how_to_fix_it(tmp_path, monkeypatch, no_data_env):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path / "mydata"))
    with pytest.raises(FileNotFoundError) as info:
        data_utils.get_CIFAR10_data()
    msg = str(info.value)
    for place in (tmp_path / "mydata" / "cifar-10-batches-py", tmp_path / "cs231n" / "datasets" / "cifar-10-batches-py",
                  tmp_path / "datasets" / "cifar-10-batches-py"):
        assert str(place) in msg
    assert "CNNKIT_CIFAR10_DIR" in msg and "cifar10_dir" in msg and "download" in msg
    # An explicit path that is wrong points to a copy that does exist.
    folder = _official_layout(tmp_path)
    with pytest.raises(FileNotFoundError, match=f"a copy exists at '{folder}'"):
        data_utils.load_CIFAR10("datasets/cifar-10-batches-py")


def test_load_digits_data_refuses_integer_dtypes():
    with pytest.raises(TypeError, match="floating dtype.*got uint8"):
        data_utils.load_digits_data(dtype=np.uint8)


def test_load_digits_data_without_seed_follows_the_global_generator():
    np.random.seed(7)
    a = data_utils.load_digits_data(seed=None)
    np.random.seed(7)
    b = data_utils.load_digits_data(seed=None)
    np.testing.assert_array_equal(a["y_train"], b["y_train"])


def test_load_models_reads_model_checkpoints_and_skips_the_rest(tmp_path, recwarn):
    from classifiers import TwoLayerNet

    model = TwoLayerNet(input_dim=3, hidden_dim=2, num_classes=2)
    with open(tmp_path / "net.pkl", "wb") as fh:
        pickle.dump({"model": model}, fh)
    (tmp_path / "README.txt").write_text("not a pickle")
    with open(tmp_path / "evil.pkl", "wb") as fh:
        pickle.dump({"model": _WritesAFile(tmp_path / "victim")}, fh)
    models = data_utils.load_models(tmp_path)
    assert sorted(models) == ["net.pkl"]
    np.testing.assert_array_equal(models["net.pkl"].params["W1"], model.params["W1"])
    assert not (tmp_path / "victim").exists()
    assert any("evil.pkl" in str(w.message) for w in recwarn)


def test_load_imagenet_val_reads_the_npz_and_says_where_it_looked(tmp_path, monkeypatch, no_data_env):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="imagenet_val_25.npz not found; looked in"):
        data_utils.load_imagenet_val()
    (tmp_path / "datasets").mkdir()
    X = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    np.savez(tmp_path / "datasets" / "imagenet_val_25.npz", X=X, y=np.array([3, 1]),
             label_map=np.array({1: "one", 3: "three"}, dtype=object))
    Xg, y, names = data_utils.load_imagenet_val(num=1)
    np.testing.assert_array_equal(Xg, X[:1])
    assert list(y) == [3] and names == {1: "one", 3: "three"}


def test_load_tiny_imagenet_reads_the_folder_layout(tmp_path):
    from PIL import Image

    root = tmp_path / "tiny"
    wnids = ["n01", "n02"]
    (root / "val" / "images").mkdir(parents=True)
    (root / "test" / "images").mkdir(parents=True)
    (root / "wnids.txt").write_text("\n".join(wnids) + "\n")
    (root / "words.txt").write_text("n01\tcat, kitty\nn02\tdog\nn03\tunused\n")
    rng = np.random.default_rng(0)

    def img(path, grey=False):
        shape = (64, 64) if grey else (64, 64, 3)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(path)

    for wnid in wnids:
        (root / "train" / wnid / "images").mkdir(parents=True)
        (root / "train" / wnid / f"{wnid}_boxes.txt").write_text(f"{wnid}_0.png\t0\t0\t1\t1\n")
        img(root / "train" / wnid / "images" / f"{wnid}_0.png", grey=wnid == "n02")
    (root / "val" / "val_annotations.txt").write_text("v0.png\tn02\t0\t0\t1\t1\n")
    img(root / "val" / "images" / "v0.png")
    img(root / "test" / "images" / "t0.png")
    data = data_utils.load_tiny_imagenet(str(root), subtract_mean=False)
    assert data["class_names"] == [["cat", "kitty"], ["dog"]]
    assert data["X_train"].shape == (2, 3, 64, 64) and list(data["y_train"]) == [0, 1]
    assert data["X_val"].shape == (1, 3, 64, 64) and list(data["y_val"]) == [1]
    assert data["X_test"].shape == (1, 3, 64, 64) and data["y_test"] is None
    # The grey training image is repeated on the three channels.
    np.testing.assert_array_equal(data["X_train"][1, 0], data["X_train"][1, 2])
    np.testing.assert_allclose(data["mean_image"], data["X_train"].mean(axis=0))
