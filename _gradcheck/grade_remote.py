"""A student's object (a model, a classifier) kept in the grading worker and used by reference.

``construct(session, "TwoLayerNet", **kwargs)`` builds the object in the worker and returns a
:class:`RemoteObject`; its methods run there (``obj.call("loss", X, y)``), its attributes come back
as plain values (``obj.get("params")``), an item of a dict attribute can be set
(``obj.set_item("params", "W1", w)``), and :meth:`RemoteObject.map_loss` evaluates the loss with one
parameter element changed per variant (the numeric gradient's batched calls). Everything travels in
the wire format of :mod:`_gradcheck.wire`: arrays and JSON values, never a pickle.
"""

from __future__ import annotations

import numpy as np

from . import wire
from .isolate import _apply, _encode_request, rebuild

__all__ = ["RemoteObject", "construct"]

_MAP_VARIANTS = 4096   # variants per batched request


def _request(session, header, args, running):
    origins: list = []
    tree, arrays = _encode_request(list(args), origins)
    header = dict(header, args=tree)
    reply, out = session._live().request(header, arrays, running=running)
    if "raised" in reply:
        raise rebuild(reply["raised"])
    try:
        result = wire.decode(reply.get("result"), out, wire.Handle, origins)
        if reply.get("args") is not None:
            _apply(list(args), wire.decode(reply["args"], out, wire.Handle, origins))
    except wire.ProtocolError as exc:
        raise session._live()._death(f"a malformed reply: {exc}") from None
    return result


def construct(session, cls_name: str, rng=None, **kwargs):
    """``cls_name(**kwargs)`` in the worker: a :class:`RemoteObject` (or whatever it returned)."""
    out = _request(session, {"op": "call", "fn": cls_name, "rng": rng, "kw": True}, [kwargs],
                   running=f"{cls_name}(...)")
    return RemoteObject(session, out, cls_name) if isinstance(out, wire.Handle) else out


class RemoteObject:
    """An object in the worker, known here by its handle."""

    def __init__(self, session, handle: wire.Handle, label: str):
        self.session, self.handle, self.label = session, handle, label

    def call(self, method: str, *args, rng=None, **kwargs):
        header = {"op": "call", "fn": method, "on": self.handle.id, "rng": rng, "kw": bool(kwargs)}
        return _request(self.session, header, list(args) + ([kwargs] if kwargs else []),
                        running=f"{self.label}.{method}")

    def get(self, attr: str):
        return self.session.getattr(self.handle, attr)

    def set_item(self, attr: str, key, value) -> None:
        tree, arrays = wire.encode(value)
        reply, _ = self.session._live().request(
            {"op": "setitem", "on": self.handle.id, "attr": attr, "key": key, "value": tree}, arrays,
            running=f"{self.label}.{attr}[{key!r}] = ...")
        if "raised" in reply:
            raise rebuild(reply["raised"])

    def map_loss(self, method, args, attr, key, base, flat_idx, values, rng=None):
        """Losses ``obj.method(*args)[0]`` with ``obj.attr[key] = base`` changed at ``flat_idx[j]`` to
        ``values[j]``; returns ``(losses, stop)`` (``stop``: first variant that did not give a number)."""
        losses, at = [], 0
        base = np.ascontiguousarray(base, np.float64)
        while at < len(flat_idx):
            chunk = slice(at, at + _MAP_VARIANTS)
            tree, arrays = wire.encode(list(args))
            reply, out = self.session._live().request(
                {"op": "map_loss", "on": self.handle.id, "fn": method, "attr": attr, "key": key, "args": tree,
                 "rng": rng},
                arrays + [base, np.asarray(flat_idx[chunk], np.int64), np.asarray(values[chunk], np.float64)],
                running=f"{self.label}.{method}")
            stop = reply.get("stop")
            n = len(flat_idx[chunk])
            m = n if stop is None else stop
            if len(out) != 1 or type(m) is not int or not 0 <= m <= n or out[0].shape != (m,) \
                    or out[0].dtype != np.float64:
                raise self.session._live()._death("a malformed reply to a batch of loss calls")
            losses.append(out[0])
            if stop is not None:
                return np.concatenate(losses), at + stop
            at += n
        return (np.concatenate(losses) if losses else np.empty(0)), None
