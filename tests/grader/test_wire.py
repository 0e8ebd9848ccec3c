"""The grader's wire format (_gradcheck/grader/wire.py): what crosses from the worker is only data, bounded first."""

from __future__ import annotations

import json
import pickle
import socket
import struct

import numpy as np
import pytest

from _gradcheck.grader import wire


def _roundtrip(obj):
    a, b = socket.socketpair()
    with a, b:
        tree, arrays = wire.encode(obj)
        wire.send(a, {"v": tree}, arrays)
        header, got = wire.recv(b.recv_into)
    return wire.decode(header["v"], got, wire.Handle)


def test_nested_values_arrays_and_scalars_come_back_equal_with_aliasing_kept():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    obj = (x, [x, {"stride": 2, "pad": (1, 1), "mode": "train", 3: None}], np.float64(2.5), float("nan"),
           np.array(["ab", "c"]), np.zeros((0, 3)), np.arange(6)[::2], True)
    back = _roundtrip(obj)
    assert type(back) is tuple and type(back[1]) is list and type(back[1][1]) is dict
    np.testing.assert_array_equal(back[0], x)
    assert back[0].dtype == np.float32 and back[0].flags.writeable
    assert back[1][0] is back[0]  # one array sent once: a cache holding x holds the same x
    assert back[1][1] == {"stride": 2, "pad": (1, 1), "mode": "train", 3: None}
    assert back[2] == 2.5 and isinstance(back[2], np.float64) and np.isnan(back[3])
    assert back[4].tolist() == ["ab", "c"] and back[5].shape == (0, 3) and back[6].tolist() == [0, 2, 4]
    assert back[7] is True


def test_objects_the_format_cannot_carry_stay_behind_as_handles():
    kept = []

    class Cache:
        pass

    tree, arrays = wire.encode((np.ones(2), Cache()), keep=lambda o: kept.append(o) or len(kept))
    assert tree["t"][1] == {"h": 1, "type": "Cache"} and isinstance(kept[0], Cache)
    with pytest.raises(TypeError, match="cannot send a Cache"):
        wire.encode(Cache())
    with pytest.raises(TypeError, match="cannot send a ndarray"):
        wire.encode(np.array([object()], dtype=object))


def _frame(body: dict, payload=b"") -> bytes:
    raw = json.dumps(body).encode()
    return wire.MAGIC + struct.pack("<Q", len(raw)) + raw + payload


class _Reader:
    """A ``recv_into`` over bytes that counts how much was asked for."""

    def __init__(self, data: bytes):
        self.data, self.at, self.asked = data, 0, 0

    def __call__(self, view):
        self.asked += len(view)
        n = min(len(view), len(self.data) - self.at)
        view[:n] = self.data[self.at:self.at + n]
        self.at += n
        return n


@pytest.mark.parametrize("dtype", ["|O", "V8", "<M8[s]", "O", "[('a', '<f8')]", "<f8,<f8", "(2,)f8", "x" * 40])
def test_a_dtype_outside_the_whitelist_is_refused_before_any_array_byte_is_read(dtype):
    reader = _Reader(_frame({"h": {}, "arrays": [{"dtype": dtype, "shape": [1]}]}, pickle.dumps(object())))
    with pytest.raises(wire.ProtocolError):
        wire.recv(reader)
    assert reader.at == len(_frame({"h": {}, "arrays": [{"dtype": dtype, "shape": [1]}]}))


def test_sizes_are_bounded_before_allocation():
    huge = _frame({"h": {}, "arrays": [{"dtype": "<f8", "shape": [1 << 19, 1 << 19]}]})
    reader = _Reader(huge)
    with pytest.raises(wire.ProtocolError, match="more than"):
        wire.recv(reader, max_array_bytes=1 << 20)
    assert reader.at == len(huge)
    with pytest.raises(wire.ProtocolError, match="over the limit"):
        wire.recv(_Reader(wire.MAGIC + struct.pack("<Q", wire.MAX_HEADER + 1)))
    for shape in ([-1], ["3"], [1.5], "3"):
        with pytest.raises(wire.ProtocolError):
            wire.recv(_Reader(_frame({"h": {}, "arrays": [{"dtype": "<f8", "shape": shape}]})))


def test_malformed_frames_and_trees_are_protocol_errors():
    with pytest.raises(wire.ProtocolError, match="magic"):
        wire.recv(_Reader(b"PKL1" + struct.pack("<Q", 2) + b"{}"))
    with pytest.raises(wire.ProtocolError, match="not JSON"):
        wire.recv(_Reader(wire.MAGIC + struct.pack("<Q", 3) + b"\x80\x04."))
    with pytest.raises(EOFError):
        wire.recv(_Reader(wire.MAGIC))
    for tree in ({"a": 5}, {"x": 1}, {"t": 3}, {"d": [[{"l": []}, 1]]}, {"h": 1, "type": "C"}, {"r": 0}, [1, 2]):
        with pytest.raises(wire.ProtocolError):
            wire.decode(tree, [])
    deep = 0
    for _ in range(wire.MAX_DEPTH + 2):
        deep = {"l": [deep]}
    with pytest.raises(wire.ProtocolError, match="deeper"):
        wire.decode(deep, [])
