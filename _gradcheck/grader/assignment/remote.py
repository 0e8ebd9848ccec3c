"""A student's object (a model, a classifier) kept in the grading worker and used by reference.

``construct(session, "TwoLayerNet", **kwargs)`` builds the object in the worker and returns a
:class:`RemoteObject`; its methods run there (``obj.call("loss", X, y)``), its attributes come back
as plain values (``obj.get("params")``), an item of a dict attribute can be set
(``obj.set_item("params", "W1", w)``), and :meth:`RemoteObject.map_loss` evaluates the loss with one
parameter element changed per variant (the numeric gradient's batched calls). Everything travels in
the wire format of :mod:`_gradcheck.grader.wire`: arrays and JSON values, never a pickle.
"""

from __future__ import annotations

import numpy as np

from _gradcheck.grader import wire
from _gradcheck.grader.isolate import rebuild

__all__ = ["RemoteObject", "construct"]

_MAP_VARIANTS = 4096   # variants per batched request


def construct(session, cls_name: str, rng=None, **kwargs):
    """``cls_name(**kwargs)`` in the worker: a :class:`RemoteObject` (or whatever it returned)."""
    out = session.call(cls_name, [], rng, kwargs=kwargs)
    return RemoteObject(session, out, cls_name) if isinstance(out, wire.Handle) else out


class RemoteObject:
    """An object in the worker, known here by its handle."""

    def __init__(self, session, handle: wire.Handle, label: str):
        self.session, self.handle, self.label = session, handle, label

    def call(self, method: str, *args, rng=None, **kwargs):
        return self.session.call(method, list(args), rng, of=self.handle, kwargs=kwargs)

    def get(self, attr: str):
        return self.session.getattr(self.handle, attr)

    def set_item(self, attr: str, key, value) -> None:
        tree, arrays = wire.encode(value)
        reply, _ = self.session._live().request(
            {"op": "setitem", "of": self.handle.id, "attr": attr, "key": key, "value": tree}, arrays,
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
                {"op": "map_loss", "of": self.handle.id, "fn": method, "attr": attr, "key": key, "args": tree,
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
