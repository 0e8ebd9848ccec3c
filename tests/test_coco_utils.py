"""Tests for coco_utils.py: the course's layout read from numpy files, the search and its error, decoding,
minibatches, and the offline digits captions."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import coco_utils as cu

WORDS = ["<NULL>", "<START>", "<END>", "a", "cat", "dog"]


def _write_coco(folder, h5=False):
    """A tiny coco_captioning folder in the course's layout (numpy files, or .h5 names only)."""
    folder.mkdir(parents=True)
    captions = {"train_captions": np.array([[1, 3, 4, 2, 0], [1, 3, 5, 2, 0], [1, 4, 2, 0, 0]]),
                "train_image_idxs": np.array([0, 1, 1]),
                "val_captions": np.array([[1, 3, 5, 2, 0]]), "val_image_idxs": np.array([0])}
    if h5:
        (folder / "coco2014_captions.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    else:
        np.savez(folder / "coco2014_captions.npz", **captions)
    np.save(folder / "train2014_vgg16_fc7_pca.npy", np.arange(6.0).reshape(2, 3))
    np.savez(folder / "val2014_vgg16_fc7_pca.npz", features=np.ones((1, 3)))
    (folder / "coco2014_vocab.json").write_text(json.dumps(
        {"idx_to_word": WORDS, "word_to_idx": {w: i for i, w in enumerate(WORDS)}}))
    (folder / "train2014_urls.txt").write_text("http://x/0.jpg\nhttp://x/1.jpg\n")
    (folder / "val2014_urls.txt").write_text("http://x/v0.jpg\n")
    return folder


def test_load_coco_data_reads_the_numpy_layout(tmp_path):
    data = cu.load_coco_data(_write_coco(tmp_path / "coco_captioning"))
    assert data["train_captions"].shape == (3, 5) and data["train_features"].shape == (2, 3)
    assert data["val_features"].shape == (1, 3) and list(data["train_urls"]) == ["http://x/0.jpg", "http://x/1.jpg"]
    assert data["idx_to_word"] == WORDS and data["word_to_idx"]["dog"] == 5


def test_load_coco_data_finds_the_folder_from_the_environment(tmp_path, monkeypatch):
    _write_coco(tmp_path / "data" / "coco_captioning")
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("CNNKIT_COCO_DIR", raising=False)
    assert cu.load_coco_data()["val_captions"].shape == (1, 5)


def test_missing_data_lists_every_place_looked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CNNKIT_COCO_DIR", str(tmp_path / "nowhere"))
    monkeypatch.delenv("CNNKIT_DATA", raising=False)
    with pytest.raises(FileNotFoundError) as info:
        cu.load_coco_data()
    text = str(info.value)
    for folder in cu.coco_search_dirs():
        assert os.path.abspath(folder) in text
    assert "get_coco_captioning.sh" in text and "load_digits_captions" in text


def test_hdf5_without_h5py_says_h5py_is_needed(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_h5py(name, *args, **kwargs):
        if name == "h5py":
            raise ImportError("no h5py here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_h5py)
    with pytest.raises(ImportError, match="needs h5py, which cnnkit does not depend on"):
        cu.load_coco_data(_write_coco(tmp_path / "coco_captioning", h5=True))


def test_max_train_subsamples_with_the_global_generator(tmp_path):
    folder = _write_coco(tmp_path / "coco_captioning")
    np.random.seed(3)
    a = cu.load_coco_data(folder, max_train=5)
    np.random.seed(3)
    b = cu.load_coco_data(folder, max_train=5)
    assert a["train_captions"].shape == (5, 5)
    np.testing.assert_array_equal(a["train_captions"], b["train_captions"])


def test_decode_captions_drops_null_and_stops_after_end():
    captions = np.array([[1, 3, 0, 4, 2, 5], [3, 5, 5, 0, 0, 0]])
    assert cu.decode_captions(captions, WORDS) == ["<START> a cat <END>", "a dog dog"]
    assert cu.decode_captions(captions[0], WORDS) == "<START> a cat <END>"


def test_sample_coco_minibatch_pairs_captions_with_their_images(tmp_path):
    data = cu.load_coco_data(_write_coco(tmp_path / "coco_captioning"))
    np.random.seed(0)
    captions, features, urls = cu.sample_coco_minibatch(data, batch_size=20)
    for cap, feat, url in zip(captions, features, urls):
        i = next(k for k, c in enumerate(data["train_captions"]) if np.array_equal(c, cap))
        img = data["train_image_idxs"][i]
        np.testing.assert_array_equal(feat, data["train_features"][img])
        assert url == data["train_urls"][img]
    np.random.seed(0)
    again, _, _ = cu.sample_coco_minibatch(data, batch_size=20)
    np.testing.assert_array_equal(captions, again)


def test_digits_captions_describe_each_image():
    data = cu.load_digits_captions()
    words = data["idx_to_word"]
    assert data["train_features"].shape == (1497, 64) and data["val_features"].shape == (300, 64)
    assert data["train_features"].dtype == np.float32
    digits = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    lengths = set()
    for split in ("train", "val"):
        texts = cu.decode_captions(data[f"{split}_captions"], words)
        for text, label in zip(texts, data[f"{split}_labels"]):
            w = text.split()
            lengths.add(len(w))
            assert w[0] == "<START>" and w[-1] == "<END>" and digits[label] in w
            assert w[-2] == ("odd" if label % 2 else "even")
    assert lengths == {7, 8}                                   # with and without a stroke word: padding
    stroke = [t.split()[2] for t in cu.decode_captions(data["train_captions"], words)]
    assert 0.25 < stroke.count("bold") / len(stroke) < 0.4 and 0.25 < stroke.count("thin") / len(stroke) < 0.4
