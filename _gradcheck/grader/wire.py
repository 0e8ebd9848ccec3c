"""The grader's wire format: plain arrays and JSON values between the grading process and its worker.

One message is ``MAGIC``, the header length (8 bytes, little-endian), a UTF-8 JSON header, then the raw
bytes of every array the header lists, back to back. Nothing is ever unpickled: a receiver parses
JSON, checks every array's dtype against :data:`DTYPE_KINDS` and its shape, and refuses a header or an
array total above its limits *before* allocating or reading the bytes.

A value travels as a tree. JSON's ``null``, booleans, integers, finite floats and strings stand for
themselves; everything else is a one-key object::

    {"a": k}        the k-th array of this message
    {"s": k}        a numpy scalar (the k-th array, 0-d)
    {"r": k}        the k-th array of the *request* this reply answers, unchanged (aliasing kept)
    {"f": "nan"}    a non-finite float ("nan", "inf", "-inf")
    {"t": [...]}    a tuple          {"l": [...]} a list         {"d": [[key, value], ...]} a dict
    {"h": id, "type": name}   an object that stays in the worker (a student's class instance, ...)

This module imports only the standard library and numpy: the worker loads it by file path, so that
no module of the toolkit is importable under its name there.
"""

from __future__ import annotations

import json
import math
import struct

import numpy as np

MAGIC = b"CKW1"
DTYPE_KINDS = "biufcSU"          # no object, void or datetime arrays: bytes that are only numbers or text
MAX_HEADER = 4 << 20             # bytes of JSON in one message
MAX_DEPTH = 64                   # nesting of tuples, lists and dicts
MAX_ITEMSIZE = 4096              # bytes per element (long fixed-width strings)
DEFAULT_MAX_ARRAY_BYTES = 1 << 30

__all__ = ["ProtocolError", "Handle", "encode", "decode", "send", "recv", "MAGIC"]


class ProtocolError(Exception):
    """A message that breaks the format or its limits (the sender is not trusted)."""


class Handle:
    """An object kept by the worker, known to the grading process only by its number and type name."""

    __slots__ = ("id", "type")

    def __init__(self, hid: int, type_name: str):
        self.id, self.type = hid, type_name

    def __repr__(self):
        return f"<{self.type} object held by the grading worker>"

    def __deepcopy__(self, memo):
        return self  # it lives in the other process; copying the reference is all the parent can do

    def __copy__(self):
        return self


def _safe_dtype(text) -> np.dtype:
    if not isinstance(text, str) or len(text) > 16:
        raise ProtocolError(f"bad dtype {text!r}")
    try:
        dt = np.dtype(text)
    except TypeError as exc:
        raise ProtocolError(f"bad dtype {text!r}: {exc}") from None
    if dt.kind not in DTYPE_KINDS or dt.fields is not None or dt.shape != () or not 0 < dt.itemsize <= MAX_ITEMSIZE:
        raise ProtocolError(f"dtype {text!r} is not allowed on the wire")
    return dt


def encode(obj, keep=None, refs=None, origins=None):
    """``(tree, arrays)``: ``obj`` as a JSON-able tree and the arrays it refers to.

    ``keep(obj) -> int`` stores an object the format cannot carry and returns its handle number
    (the worker); without it such an object raises ``TypeError`` (the grading process sends only
    what it made). ``refs(array) -> int or None`` names an array of the request sent back unchanged.
    ``origins``, a list, receives the object behind each array (a copy is sent for a non-contiguous one).
    """
    arrays: list = []
    memo: dict = {}

    def walk(o, depth):
        if depth > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
        if o is None or isinstance(o, (bool, str)):
            return o
        if type(o) is int:
            return o
        if type(o) is float:
            return o if math.isfinite(o) else {"f": repr(o)}
        if isinstance(o, Handle):
            return {"h": o.id, "type": o.type}
        if isinstance(o, np.ndarray) and type(o) is np.ndarray and o.dtype.kind in DTYPE_KINDS \
                and o.dtype.fields is None and 0 < o.dtype.itemsize <= MAX_ITEMSIZE:
            if refs is not None and (k := refs(o)) is not None:
                return {"r": k}
            if id(o) not in memo:
                memo[id(o)] = len(arrays)
                arrays.append(np.ascontiguousarray(o))
                if origins is not None:
                    origins.append(o)
            return {"a": memo[id(o)]}
        if isinstance(o, np.generic) and o.dtype.kind in DTYPE_KINDS and 0 < o.dtype.itemsize <= MAX_ITEMSIZE:
            arrays.append(np.asarray(o).reshape(()))
            if origins is not None:
                origins.append(arrays[-1])
            return {"s": len(arrays) - 1}
        if type(o) is tuple:
            return {"t": [walk(v, depth + 1) for v in o]}
        if type(o) is list:
            return {"l": [walk(v, depth + 1) for v in o]}
        if type(o) is dict and all(k is None or type(k) in (str, int, float, bool) for k in o):
            return {"d": [[walk(k, depth + 1), walk(v, depth + 1)] for k, v in o.items()]}
        if keep is None:
            raise TypeError(f"cannot send a {type(o).__name__} to the worker")
        return {"h": keep(o), "type": type(o).__name__[:80]}

    return walk(obj, 0), arrays


def decode(tree, arrays, handle=None, request_arrays=None):
    """The value a tree stands for. ``handle(id, type)`` resolves ``{"h": ...}``; arrays are used as given.

    Raises ``ProtocolError`` for anything that is not a tree of this format.
    """

    def walk(t, depth):
        if depth > MAX_DEPTH:
            raise ProtocolError(f"nested deeper than {MAX_DEPTH} levels")
        if t is None or isinstance(t, (bool, str, int, float)):
            return t
        if not isinstance(t, dict) or not (len(t) == 1 or (len(t) == 2 and set(t) == {"h", "type"})):
            raise ProtocolError(f"bad node {str(t)[:80]!r}")
        tag = "h" if "h" in t else next(iter(t))
        v = t[tag]
        if tag in ("a", "s", "r"):
            pool = request_arrays if tag == "r" else arrays
            if pool is None or type(v) is not int or not 0 <= v < len(pool):
                raise ProtocolError(f"bad array reference {str(t)[:80]!r}")
            a = pool[v]
            return a[()] if tag == "s" else a
        if tag == "f" and v in ("nan", "inf", "-inf"):
            return float(v)
        if tag in ("t", "l") and isinstance(v, list):
            items = [walk(x, depth + 1) for x in v]
            return tuple(items) if tag == "t" else items
        if tag == "d" and isinstance(v, list):
            out = {}
            for pair in v:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ProtocolError("bad dict entry")
                key = walk(pair[0], depth + 1)
                if key is not None and type(key) not in (str, int, float, bool):
                    raise ProtocolError("bad dict key")
                out[key] = walk(pair[1], depth + 1)
            return out
        if tag == "h" and type(v) is int and isinstance(t.get("type"), str):
            if handle is None:
                raise ProtocolError("unexpected handle")
            return handle(v, t["type"][:80])
        raise ProtocolError(f"bad node {str(t)[:80]!r}")

    return walk(tree, 0)


# ---------------------------------------------------------------------------------------------
# Framing

def send(sock, header: dict, arrays=()) -> None:
    """Send one message: ``header`` (JSON-able) and the arrays its trees refer to."""
    specs = [{"dtype": a.dtype.str, "shape": list(a.shape)} for a in arrays]
    body = json.dumps({"h": header, "arrays": specs}, allow_nan=False, separators=(",", ":")).encode()
    sock.sendall(MAGIC + struct.pack("<Q", len(body)) + body)
    for a in arrays:
        if a.nbytes:
            sock.sendall(memoryview(np.ascontiguousarray(a)).cast("B"))


def _read_exact(read, n: int) -> bytearray:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = read(view[got:])
        if not k:
            raise EOFError(f"connection closed after {got} of {n} bytes")
        got += k
    return buf


def recv(read, max_array_bytes: int = DEFAULT_MAX_ARRAY_BYTES):
    """Receive one message with ``read(buffer) -> bytes read`` (``sock.recv_into``): ``(header, arrays)``.

    Raises ``EOFError`` on a closed connection and ``ProtocolError`` on anything malformed or
    too large (checked before the bytes are allocated).
    """
    head = _read_exact(read, len(MAGIC) + 8)
    if bytes(head[:len(MAGIC)]) != MAGIC:
        raise ProtocolError(f"bad magic {bytes(head[:len(MAGIC)])!r}")
    (n,) = struct.unpack("<Q", head[len(MAGIC):])
    if n > MAX_HEADER:
        raise ProtocolError(f"header of {n} bytes is over the limit of {MAX_HEADER}")
    try:
        body = json.loads(bytes(_read_exact(read, n)).decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"header is not JSON: {type(exc).__name__}") from None
    if not isinstance(body, dict) or not isinstance(body.get("arrays"), list) or "h" not in body:
        raise ProtocolError("header lacks 'h' or 'arrays'")
    layout, total = [], 0
    for spec in body["arrays"]:
        if not isinstance(spec, dict) or not isinstance(spec.get("shape"), list) or len(spec["shape"]) > 32:
            raise ProtocolError("bad array spec")
        dt = _safe_dtype(spec.get("dtype"))
        shape = spec["shape"]
        if not all(type(s) is int and 0 <= s <= max_array_bytes for s in shape):
            raise ProtocolError(f"bad shape {str(shape)[:80]}")
        size = dt.itemsize
        for s in shape:
            size *= s
            if size > max_array_bytes:
                break
        total += size
        if total > max_array_bytes:
            raise ProtocolError(f"arrays of more than {max_array_bytes} bytes in one message")
        layout.append((dt, tuple(shape), size))
    arrays = []
    for dt, shape, size in layout:
        buf = _read_exact(read, size) if size else bytearray()
        arrays.append(np.frombuffer(buf, dtype=dt).reshape(shape) if size else np.zeros(shape, dt))
    return body["h"], arrays
