"""The grading worker: a disposable process that imports one student module and evaluates calls.

Started by :mod:`_gradcheck.grader.isolate` as ``python worker.py FD`` (a script, not a module of the
package: nothing of the checker is imported here but :mod:`_gradcheck.grader.wire`, loaded by file path
under a private name). It reads requests from the socket ``FD`` and answers each:

``hello``  load the toolkit's modules privately, put stand-ins under their names, import the student
           module, and list which of the requested function names it defines (and whether each is
           the toolkit's own);
``job``    the layer now under test: the toolkit's functions of its family become refusals;
``call``   ``fn(*args)`` -> the result, and the arguments again if the call changed them;
``call``   with ``of``: the method ``fn`` of an object held here (a student's model, by handle);
``getattr`` an attribute of an object held here (a model's ``params``);
``setitem`` an item of such an attribute set (``model.params["W1"] = value``);
``map``    ``fn`` called once per variant of one argument (one element set to one value each):
           the stacked first outputs, for the numeric gradient;
``map_loss`` a held object's loss method, once per variant of an item of its attribute: the losses;
``used``   the toolkit functions student code ran since the last ``job``.

The worker decides nothing: the grading process judges every array it returns, owns the time limit
(it kills this process's group) and writes the report. Under the toolkit's names (``layers``,
``fast_layers``, ``layer_utils``, ``classifiers``, ``im2col*``, ...) student code finds stand-ins: a
function of the family under test, and anything of the checker, raises :class:`BorrowedToolkitCode`
when called; other functions (a sandwich's building blocks) run the toolkit's code. A student's own
file of such a name next to the module (the course folder's ``layers.py``) is imported as usual.
"""

from __future__ import annotations

import faulthandler
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import socket
import sys
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == HERE:
    del sys.path[0]  # the script's folder would make the checker's modules importable

import numpy as np  # noqa: E402


def _load_wire():
    spec = importlib.util.spec_from_file_location("_cnnkit_grading_wire", HERE / "wire.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sys.modules.pop("_cnnkit_grading_wire", None)
    return mod


wire = _load_wire()
_send, _recv, _encode, _decode = wire.send, wire.recv, wire.encode, wire.decode
_real_exit = os._exit
_RNG_STATE = {}
_STAND_INS: dict = {}  # id -> (function, qualified name) of every stand-in handed to student code


class BorrowedToolkitCode(Exception):
    """Student code called the toolkit's own implementation of the function under test."""


class RefusedModule(ImportError):
    """Student code imported a module the course does not allow (``--refuse``)."""


# ---------------------------------------------------------------------------------------------
# The toolkit, kept privately; stand-ins under its names

class _Gate:
    """State shared by the import gate and the stand-ins."""

    toolkit_names: frozenset = frozenset()
    checker_names: frozenset = frozenset()
    refuse: frozenset = frozenset()
    student_paths: list = []
    real: dict = {}                 # module name -> the toolkit's module, out of sys.modules
    forbid: frozenset = frozenset()  # function names under test: refused
    forbid_modules: frozenset = frozenset()
    replaced: list = []
    used: set = set()               # toolkit functions student code ran in the current layer


def _refusal(qualname: str, why: str):
    def refused(*args, **kwargs):
        raise BorrowedToolkitCode(f"it calls the toolkit's own implementation {qualname} ({why}); the grader "
                                  f"checks the student's code, so write it yourself")
    refused.__name__ = qualname.rsplit(".", 1)[-1]
    refused.__qualname__ = refused.__name__
    _STAND_INS[id(refused)] = (refused, qualname)
    return refused


def _guard(qualname: str, name: str, fn):
    top = qualname.split(".")[0]

    def guarded(*args, **kwargs):
        if name in _Gate.forbid or top in _Gate.forbid_modules:
            raise BorrowedToolkitCode(f"it calls the toolkit's own implementation {qualname} (the function "
                                      f"under test, or its twin); the grader checks the student's code, so "
                                      f"write it yourself")
        _Gate.used.add(qualname)
        return fn(*args, **kwargs)

    guarded.__name__ = name
    guarded.__qualname__ = name
    guarded.__doc__ = getattr(fn, "__doc__", None)
    _STAND_INS[id(guarded)] = (guarded, qualname)  # by identity: an attribute could be forged
    return guarded


def _guard_class(qualname: str, name: str, cls):
    """The toolkit's class behind a subclass that refuses to be built while its name is under test (a
    student model that wraps the toolkit's model of the same name; issue 20)."""
    top = qualname.split(".")[0]

    def __init__(self, *args, **kwargs):
        if name in _Gate.forbid or top in _Gate.forbid_modules:
            raise BorrowedToolkitCode(f"it calls the toolkit's own implementation {qualname} (the class under "
                                      f"test); the grader checks the student's code, so write it yourself")
        cls.__init__(self, *args, **kwargs)

    try:
        guarded = type(cls)(cls.__name__, (cls,), {"__init__": __init__, "__module__": cls.__module__,
                                                   "__qualname__": cls.__qualname__, "__doc__": cls.__doc__})
    except TypeError:
        return cls
    _STAND_INS[id(guarded)] = (guarded, qualname)
    return guarded


class ToolkitStandIn(types.ModuleType):
    """What ``import layers`` (or any toolkit name) gives student code in the worker."""

    def __getattr__(self, name):
        modname = self.__name__
        if name == "__all__":
            real = _Gate.real.get(modname)
            return list(getattr(real, "__all__", [n for n in dir(real) if not n.startswith("_")])) if real else []
        if name.startswith("__"):
            raise AttributeError(name)
        qual = f"{modname}.{name}"
        if modname.split(".")[0] in _Gate.checker_names:
            value = _refusal(qual, "the grader's own checker")
        else:
            real = _Gate.real.get(modname)
            if real is None:
                raise AttributeError(f"module {modname!r} has no attribute {name!r}")
            value = getattr(real, name)
            if isinstance(value, types.ModuleType):
                return importlib.import_module(f"{modname}.{name}") if f"{modname}.{name}" in _Gate.real \
                    else value
            if callable(value) and not isinstance(value, type):
                value = _guard(qual, name, value)
            elif isinstance(value, type) and not issubclass(value, BaseException):
                value = _guard_class(qual, name, value)  # an object-style layer is an implementation too
        object.__setattr__(self, name, value)
        return value

    def __setattr__(self, name, value):
        if not name.startswith("__") and not isinstance(value, types.ModuleType):
            _Gate.replaced.append(f"{self.__name__}.{name}")
        object.__setattr__(self, name, value)


class _StandInLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return ToolkitStandIn(spec.name)

    def exec_module(self, module):
        object.__setattr__(module, "__path__", [])
        object.__setattr__(module, "__file__", None)


class _ImportGate(importlib.abc.MetaPathFinder):
    """Toolkit names resolve to the student's own files if any, else to stand-ins; refused names raise."""

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.split(".")[0]
        if top in _Gate.refuse:
            raise RefusedModule(f"importing {top!r} is not allowed in this assignment (the grader was run "
                                f"with --refuse {top})")
        if top not in _Gate.toolkit_names:
            return None
        parent = sys.modules.get(fullname.rpartition(".")[0]) if "." in fullname else None
        if "." in fullname and not isinstance(parent, ToolkitStandIn):
            return None  # a submodule of the student's own package of that name
        if "." not in fullname:
            found = importlib.machinery.PathFinder.find_spec(fullname, _Gate.student_paths)
            if found is not None:
                return found
        return importlib.machinery.ModuleSpec(fullname, _StandInLoader(), is_package=True)


def _load_toolkit(root: str, names) -> None:
    """Import the toolkit's modules from ``root``, then take them (and ``root``) out of sight."""
    sys.path.insert(0, root)
    try:
        for name in names:
            try:
                importlib.import_module(name)
            except ImportError:
                continue
    finally:
        # Only the entry put here: installed, the toolkit's folder is site-packages, which numpy and
        # the student's other libraries need (the import gate keeps the toolkit's names out of reach).
        if sys.path and sys.path[0] == root:
            del sys.path[0]
    rootp = Path(root).resolve()
    for name, mod in list(sys.modules.items()):
        f = getattr(mod, "__file__", None)
        if name.split(".")[0] in _Gate.toolkit_names and f and Path(f).resolve().is_relative_to(rootp):
            _Gate.real[name] = mod
            del sys.modules[name]
    importlib.invalidate_caches()


# ---------------------------------------------------------------------------------------------
# Student code

def _exc_info(exc: BaseException) -> dict:
    try:
        msg = str(exc)
    except BaseException:  # noqa: BLE001 - a student's __str__ may raise anything
        msg = "(its message cannot be shown)"
    kind = "exit" if isinstance(exc, SystemExit) else "notimpl" if isinstance(exc, NotImplementedError) else "other"
    code = getattr(exc, "code", None) if kind == "exit" else None
    if code is not None and not isinstance(code, (int, str)):
        code = repr(code)[:200]
    name = type(exc).__name__
    return {"type": name if isinstance(name, str) else "Exception", "message": msg[:2000], "kind": kind,
            "code": code}


def _refuse_hard_exit(code=0):
    raise SystemExit(code)


def _import_student(target: dict, names=()):
    kind, where = target["kind"], target["where"]
    if kind == "name":
        return importlib.import_module(where)
    path = Path(where)
    if kind == "file":
        name = "student_" + "".join(c if c.isalnum() else "_" for c in path.stem)
        spec = importlib.util.spec_from_file_location(name, path)
    else:
        name = path.name if path.name not in _Gate.toolkit_names else "student_" + path.name
        spec = importlib.util.spec_from_file_location(name, path / "__init__.py",
                                                      submodule_search_locations=[str(path)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # a package's relative imports look itself up here
    spec.loader.exec_module(module)
    return _package_namespace(module, name, path, names) if kind == "package" else module


def _package_namespace(package, pkgname: str, path: Path, names):
    """The package's names and those its submodules define (issue 20: a course's ``cs231n/`` with
    ``layers.py``, ``optim.py``, ``classifiers/fc_net.py``...). A submodule is imported only if its text
    defines one of ``names``; the first definition of a name is kept (the package's own first). A
    submodule that raises on import is recorded for each name it defines."""
    import re

    ns = types.ModuleType(pkgname)
    ns.__dict__.update({n: getattr(package, n) for n in names if hasattr(package, n)})
    errors = {}
    pattern = re.compile(r"^(?:def|class)\s+(" + "|".join(map(re.escape, names)) + r")\b", re.M) if names else None
    for file in sorted(path.rglob("*.py")):
        rel = file.relative_to(path)
        if pattern is None or rel.name == "__init__.py" or "__pycache__" in rel.parts or len(rel.parts) > 3 \
                or not all(part.isidentifier() for part in rel.with_suffix("").parts):
            continue
        try:
            defined = [n for n in dict.fromkeys(pattern.findall(file.read_text(encoding="utf-8", errors="replace")))
                       if n not in ns.__dict__]
        except OSError:
            continue
        if not defined:
            continue
        try:
            sub = importlib.import_module(pkgname + "." + ".".join(rel.with_suffix("").parts))
        except BaseException as exc:  # noqa: BLE001 - an ERROR row for each name the file defines
            for n in defined:
                errors.setdefault(n, {"file": str(rel), **_exc_info(exc)})
            continue
        for n in defined:
            if getattr(sub, n, None) is not None:
                ns.__dict__.setdefault(n, getattr(sub, n))
                ns.__dict__.setdefault("__cnnkit_where__", {})[n] = str(rel)
    ns.__cnnkit_import_errors__ = errors
    return ns


def _manifest(module, names) -> dict:
    out = {}
    files = {str(Path(m.__file__).resolve()) for m in _Gate.real.values() if getattr(m, "__file__", None)}
    for name in names:
        fn = getattr(module, name, None)
        if fn is None or not callable(fn):
            continue
        entry = _STAND_INS.get(id(fn))
        borrowed = entry[1] if entry is not None and entry[0] is fn else None
        toolkit_file = None
        code = getattr(fn, "__code__", None)
        try:
            if borrowed is None and code is not None and str(Path(code.co_filename).resolve()) in files:
                toolkit_file = str(code.co_filename)
        except (OSError, ValueError, TypeError):
            pass
        if isinstance(fn, type) and borrowed is None:  # a class (issue 20): the toolkit's, or built on it
            borrowed = next((f"{c.__module__}.{c.__qualname__}" for c in fn.__mro__
                             if c.__module__ in _Gate.real and getattr(_Gate.real[c.__module__], c.__name__, None)
                             is c), None)
        out[name] = {"borrowed": borrowed, "toolkit_file": toolkit_file,
                     "file": getattr(module, "__cnnkit_where__", {}).get(name)}
        if isinstance(fn, type):
            out[name]["layers"] = _layers_of(fn, names)
    for name, err in getattr(module, "__cnnkit_import_errors__", {}).items():
        out.setdefault(name, {"import_error": err})
    return out


def _layers_of(cls, names) -> dict:
    """Which layer functions the class's module sees: the student's own or the toolkit's (issue 20)."""
    ns = getattr(sys.modules.get(getattr(cls, "__module__", None)), "__dict__", {})
    own, toolkit = [], []
    for n in names:
        f = ns.get(n)
        if callable(f):
            entry = _STAND_INS.get(id(f))
            (toolkit if entry is not None and entry[0] is f else own).append(n)
    return {"own": sorted(own)[:100], "toolkit": sorted(toolkit)[:100]}


# ---------------------------------------------------------------------------------------------
# Serving calls

class Server:
    def __init__(self, sock):
        self.sock = sock
        self.read = sock.recv_into
        self.module = None
        self.handles: dict = {}

    def keep(self, obj) -> int:
        hid = len(self.handles) + 1
        self.handles[hid] = obj
        return hid

    def handle(self, hid, _type):
        if hid not in self.handles:
            raise wire.ProtocolError(f"unknown handle {hid}")
        return self.handles[hid]

    def reply(self, header, arrays=()):
        _send(self.sock, header, arrays)

    def fresh_args(self, tree, arrays):
        copies = [a.copy() for a in arrays]
        return _decode(tree, copies, self.handle), copies

    def serve(self):
        while True:
            try:
                header, arrays = _recv(self.read)
            except EOFError:
                _real_exit(0)
            op = header.get("op")
            try:
                getattr(self, "op_" + str(op))(header, arrays)
            except wire.ProtocolError as exc:
                self.reply({"protocol_error": str(exc)})

    def op_hello(self, h, _arrays):
        _Gate.toolkit_names = frozenset(h["toolkit_names"])
        _Gate.checker_names = frozenset(h["checker_names"])
        _Gate.refuse = frozenset(h.get("refuse", ()))
        for name in [n for n in sys.modules if n.split(".")[0] in _Gate.refuse]:
            del sys.modules[name]  # already loaded (by the worker itself): student code must still ask the gate
        _load_toolkit(h["root"], h["toolkit_modules"])
        _Gate.student_paths = list(h["student_paths"])
        sys.meta_path.insert(0, _ImportGate())
        for p in reversed(_Gate.student_paths):
            sys.path.insert(0, p)
        sys.path += [p for p in h.get("search_path", ()) if isinstance(p, str) and p not in sys.path]
        importlib.invalidate_caches()
        os._exit = _refuse_hard_exit  # os._exit ends as an exit() does: an ERROR row, not a silent death
        try:
            self.module = _import_student(h["target"], h["names"])
        except BaseException as exc:  # noqa: BLE001 - anything at all becomes the import's ERROR row
            self.reply({"raised": _exc_info(exc)})
            return
        self.reply({"manifest": _manifest(self.module, h["names"]),
                    "replaced": sorted(set(_Gate.replaced))})

    def op_job(self, h, _arrays):
        _Gate.forbid = frozenset(h.get("forbid", ()))
        _Gate.forbid_modules = frozenset(h.get("forbid_modules", ()))
        _Gate.used = set()
        self.handles.clear()
        self.reply({"ok": True})

    def op_used(self, h, _arrays):
        self.reply({"used": sorted(_Gate.used)[:100]})

    def _fn(self, name):
        fn = getattr(self.module, name, None)
        if fn is None:
            raise wire.ProtocolError(f"no function {name!r}")
        return fn

    def _call(self, fn, args, rng, kwargs=None):
        if rng is not None:
            saved = np.random.get_state()
            np.random.set_state(_rng_state(rng))
        try:
            return fn(*args, **(kwargs or {}))
        finally:
            if rng is not None:
                np.random.set_state(saved)

    def op_call(self, h, arrays):
        # A module function, or (with "of") a method of an object kept here: a student's model or
        # classifier, whose missing method is the student's AttributeError, not a protocol error.
        fn = self._fn(h["fn"]) if "of" not in h else None
        args, copies = self.fresh_args(h["args"], arrays)
        try:
            if fn is None:
                fn = getattr(self.handle(h["of"], ""), _public(h["fn"]))
            kw = args[-1] if h.get("kw") and args and isinstance(args[-1], dict) else None
            result = self._call(fn, args[:-1] if kw is not None else args, h.get("rng"), kw)
        except BaseException as exc:  # noqa: BLE001
            self.reply({"raised": _exc_info(exc)}, ())
            return
        index = {id(a): k for k, a in enumerate(copies)}

        def unchanged(a):
            k = index.get(id(a))
            if k is None:
                return None
            o = arrays[k]
            same = a.shape == o.shape and a.dtype == o.dtype and a.tobytes() == o.tobytes()
            return k if same else None

        try:
            res_tree, res_arrays = _encode(result, keep=self.keep, refs=unchanged)
            after_tree, after_arrays = _encode(args, keep=self.keep, refs=unchanged)
        except BaseException as exc:  # noqa: BLE001 - e.g. nested too deep
            self.reply({"raised": _exc_info(exc)}, ())
            return
        n = len(res_arrays)
        changed = _renumber(after_tree, n) if after_arrays or _shape_changed(h["args"], after_tree) else None
        self.reply({"result": res_tree, "args": changed}, res_arrays + (after_arrays if changed else []))

    # -- objects kept here, by handle (issue 20): attributes, items, and losses for numeric gradients
    def op_getattr(self, h, _arrays):
        try:
            value = getattr(self.handle(h["of"], ""), _public(h["name"]))
            tree, out = _encode(value, keep=self.keep)
        except BaseException as exc:  # noqa: BLE001 - a student's property may raise anything
            self.reply({"raised": _exc_info(exc)})
            return
        self.reply({"result": tree}, out)

    def op_setitem(self, h, arrays):
        value = _decode(h["value"], [a.copy() for a in arrays], self.handle)
        try:
            getattr(self.handle(h["of"], ""), _public(h["attr"]))[h["key"]] = value
        except BaseException as exc:  # noqa: BLE001
            self.reply({"raised": _exc_info(exc)})
            return
        self.reply({"result": None})

    def op_map_loss(self, h, arrays):
        """``obj.<fn>(*args)[0]`` with ``obj.<attr>[key]`` set to each variant (one element changed)."""
        obj = self.handle(h["of"], "")
        idx, vals, base = arrays[-2], arrays[-1], arrays[-3]
        outs, stop = np.empty(len(idx)), None
        for j in range(len(idx)):
            args, _ = self.fresh_args(h["args"], arrays[:-3])
            p = base.copy()
            p.flat[int(idx[j])] = vals[j]
            try:
                getattr(obj, _public(h["attr"]))[h["key"]] = p
                res = self._call(getattr(obj, _public(h["fn"])), args, h.get("rng"))
                loss = float(res[0]) if isinstance(res, (tuple, list)) else float(res)
            except BaseException:  # noqa: BLE001 - the grading process repeats this call to see what
                loss = None
            if loss is None:
                stop = j
                break
            outs[j] = loss
        try:
            getattr(obj, _public(h["attr"]))[h["key"]] = base.copy()
        except BaseException:  # noqa: BLE001
            pass
        m = len(idx) if stop is None else stop
        self.reply({"stop": stop}, [outs[:m]])

    def op_map(self, h, arrays):
        fn = self._fn(h["fn"])
        k, shape = h["arg"], tuple(h["shape"])
        idx, vals = arrays[-2], arrays[-1]
        base = arrays[:-2]
        size = int(np.prod(shape))
        outs = np.empty((len(idx), size))
        stop = None
        for j in range(len(idx)):
            args, _ = self.fresh_args(h["args"], base)
            args[k].flat[int(idx[j])] = vals[j]
            try:
                res = self._call(fn, args, h.get("rng"))
                out = np.asarray(res[0]) if isinstance(res, (tuple, list)) and len(res) == 2 else None
            except BaseException:  # noqa: BLE001 - the grading process repeats this one call to see what
                out = None
            if out is None or out.dtype.kind != "f" or out.shape != shape:
                stop = j
                break
            outs[j] = out.reshape(-1)
        m = len(idx) if stop is None else stop
        self.reply({"stop": stop}, [outs[:m]])


def _public(name):
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("__"):
        raise wire.ProtocolError(f"bad attribute name {str(name)[:80]!r}")
    return name


def _rng_state(seed):
    if seed not in _RNG_STATE:
        _RNG_STATE[seed] = np.random.RandomState(int(seed)).get_state()
    return _RNG_STATE[seed]


def _renumber(tree, offset):
    """Shift the ``{"a": k}`` nodes of ``tree`` by ``offset`` (its arrays follow the result's)."""
    if isinstance(tree, dict):
        if set(tree) in ({"a"}, {"s"}):
            (tag, k), = tree.items()
            return {tag: k + offset}
        if "h" in tree:
            return tree
        return {key: _renumber(v, offset) for key, v in tree.items()}
    if isinstance(tree, list):
        return [_renumber(v, offset) for v in tree]
    return tree


def _shape_changed(before, after) -> bool:
    """Whether the argument tree differs from the request's other than by unchanged arrays."""
    def norm(t):
        if isinstance(t, dict):
            if set(t) == {"a"}:
                return {"r": t["a"]}
            return {key: norm(v) for key, v in t.items()}
        if isinstance(t, list):
            return [norm(v) for v in t]
        return t
    return norm(before) != after


def main(argv) -> None:
    faulthandler.enable()
    sock = socket.socket(fileno=int(argv[1]))
    Server(sock).serve()


if __name__ == "__main__":
    main(sys.argv)
