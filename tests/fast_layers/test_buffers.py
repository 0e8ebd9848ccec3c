"""The buffer cache (fast_layers.buffers): scoped to cnnkit's calls, reuses blocks, never changes a result.

Which allocator made an array is read back with numpy's ``get_handler_name``, so these tests see
the handler itself, not a timing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from numpy._core.multiarray import get_handler_name

import fast_layers
from classifiers import FullyConnectedNet, ThreeLayerConvNet
from fast_layers import buffers, tuning

OURS = "cnnkit_buffer_cache"
BIG = 3 << 20  # bytes: above the smallest kept block

pytestmark = pytest.mark.skipif(not buffers.AVAILABLE, reason="the compiled buffer cache is not built")


@pytest.fixture(autouse=True)
def empty_cache():
    buffers.release()
    yield
    buffers.release()


def test_the_handler_is_installed_only_inside_the_block():
    outside_before = np.empty(10)
    with buffers.recycled():
        inside = np.empty(10)
    outside_after = np.empty(10)
    assert get_handler_name(inside) == OURS
    assert get_handler_name(outside_before) != OURS
    assert get_handler_name(outside_after) != OURS
    assert get_handler_name() != OURS  # the context's allocator is back to what it was


def test_a_fast_layer_returns_arrays_from_the_cache_and_leaves_the_context_alone():
    x, w, b = np.ones((2, 3, 8, 8)), np.ones((4, 3, 3, 3)), np.zeros(4)
    out, cache = fast_layers.conv_forward_fast(x, w, b, {"stride": 1, "pad": 1})
    assert get_handler_name(out) == OURS
    assert get_handler_name(cache[4]) == OURS
    assert get_handler_name(np.empty(3)) != OURS


def test_a_freed_block_is_reused_for_the_next_request_of_its_size():
    with buffers.recycled():
        a = np.empty(BIG, dtype=np.uint8)
        address = a.ctypes.data
        del a
        assert buffers.stats()["kept_blocks"] == 1
        hits = buffers.stats()["hits"]
        b = np.empty(BIG - 1000, dtype=np.uint8)
        assert b.ctypes.data == address
        assert buffers.stats()["hits"] == hits + 1


def test_a_reused_block_for_zeros_is_zeroed():
    with buffers.recycled():
        a = np.full(BIG // 8, 7.0)
        address = a.ctypes.data
        del a
        z = np.zeros(BIG // 8)
    assert z.ctypes.data == address
    assert not z.any()


def test_a_block_much_larger_than_the_request_is_not_handed_out():
    with buffers.recycled():
        del_me = np.empty(4 * BIG, dtype=np.uint8)
        address = del_me.ctypes.data
        del del_me
        small = np.empty(BIG, dtype=np.uint8)
    assert small.ctypes.data != address
    assert buffers.stats()["kept_blocks"] == 1


def test_small_blocks_are_not_kept():
    with buffers.recycled():
        a = np.empty(tuning.BUFFER_CACHE_MIN_BYTES // 2, dtype=np.uint8)
        del a
    assert buffers.stats()["kept_blocks"] == 0


def test_the_limit_bounds_what_is_kept_and_release_gives_it_back():
    with tuning.override(buffer_cache_bytes=2 * BIG + (1 << 20)):
        with buffers.recycled():
            arrays = [np.empty(BIG, dtype=np.uint8) for _ in range(4)]
            del arrays
        kept = buffers.stats()["kept_bytes"]
        assert 0 < kept <= 2 * BIG + (1 << 20)
        assert buffers.stats()["kept_blocks"] == 2
        assert buffers.release() == kept
        assert buffers.stats()["kept_bytes"] == 0


def test_lowering_the_limit_drops_what_no_longer_fits():
    with buffers.recycled():
        a = np.empty(BIG, dtype=np.uint8)
        del a
    assert buffers.stats()["kept_blocks"] == 1
    with tuning.override(buffer_cache_bytes=BIG // 2):
        assert buffers.stats()["kept_bytes"] == 0


def test_a_limit_of_zero_turns_the_cache_off():
    with tuning.override(buffer_cache_bytes=0):
        with buffers.recycled():
            a = np.empty(10)
        out, _ = fast_layers.conv_forward_fast(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), np.zeros(1),
                                                {"stride": 1, "pad": 1})
    assert get_handler_name(a) != OURS
    assert get_handler_name(out) != OURS


def test_growing_an_array_in_place_keeps_its_contents():
    with buffers.recycled():
        a = np.arange(BIG // 8, dtype=np.float64)
        a.resize(BIG // 4, refcheck=False)
    np.testing.assert_array_equal(a[:BIG // 8], np.arange(BIG // 8, dtype=np.float64))
    assert a.shape == (BIG // 4,)


def test_threads_allocating_at_once_get_distinct_correct_buffers():
    errors = []

    def work(k):
        try:
            for i in range(30):
                with buffers.recycled():
                    a = np.full(BIG // 8 + 17 * k, float(k * 1000 + i))
                    b = np.zeros(BIG // 8)
                if not (a == k * 1000 + i).all() or b.any():
                    errors.append((k, i))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def _models(dtype):
    def cnn():
        return ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=4, hidden_dim=7, dtype=dtype, seed=1, reg=0.1)

    def fc():
        np.random.seed(3)
        return FullyConnectedNet([9, 8], input_dim=192, normalization="batchnorm", reg=0.1, dtype=dtype)

    return [cnn, fc]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_models_give_the_same_bits_with_and_without_the_cache(dtype):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 3, 8, 8))
    y = rng.integers(0, 10, 6)
    for make in _models(dtype):
        with tuning.override(buffer_cache_bytes=0):
            loss_off, grads_off = make().loss(X, y)
        with tuning.override(buffer_cache_min_bytes=1024):  # these small models' arrays are kept too
            hits = buffers.stats()["hits"]
            for _ in range(2):  # the second run reuses the first one's blocks
                loss_on, grads_on = make().loss(X, y)
                assert loss_on == loss_off
                assert grads_on.keys() == grads_off.keys()
                for k in grads_on:
                    np.testing.assert_array_equal(grads_on[k], grads_off[k], err_msg=k)
            assert buffers.stats()["hits"] > hits


def test_the_numpy_fallback_build_switch_turns_the_cache_off():
    code = "from fast_layers import buffers; print(buffers.AVAILABLE)"
    env = dict(os.environ, CNNKIT_DISABLE_CYTHON="1")
    res = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, env=env,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"


def test_a_budget_about_to_be_refused_first_gives_the_kept_blocks_back(monkeypatch):
    import _rules.resources as resources

    with buffers.recycled():
        a = np.empty(BIG, dtype=np.uint8)
        del a
    assert buffers.stats()["kept_bytes"] > 0
    # The OS reports too little memory while the cache holds blocks, and enough once it is empty.
    monkeypatch.setattr(resources, "available_memory",
                        lambda: 10 if buffers.stats()["kept_bytes"] else 10**9)
    assert resources.require("f", [resources.Buffer("out", (100,), np.float64)]) == 800
    assert buffers.stats()["kept_bytes"] == 0
    monkeypatch.setattr(resources, "available_memory", lambda: 10)
    with pytest.raises(MemoryError, match="needs 800 bytes"):
        resources.require("f", [resources.Buffer("out", (100,), np.float64)])
