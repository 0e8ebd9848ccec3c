"""Loading a student's code without letting it change what the checker compares it with.

The checker's references are the toolkit's own files. :meth:`Toolkit.load` imports them from the
toolkit's folder (:data:`ROOT`) *before* any student code runs, with that folder first on
``sys.path``, so a student file named ``layers.py`` (or the course's ``gradient_check.py``) in the
current directory cannot stand in for them. :meth:`Toolkit.restore` puts back every toolkit
module in ``sys.modules`` and every module attribute a student's code replaced (say
``layers.affine_forward = mine`` at import time); the command line calls it after the import and
after each layer. A student module may still import its *own* files of the same names (a
``layers.py`` next to it): while it is imported those names resolve to the student's folder,
then the toolkit's modules are put back.

Student code runs under :func:`guarded`: whatever it raises, ``SystemExit`` included (and
``os._exit``, made to raise meanwhile), is returned as a message (``KeyboardInterrupt`` still stops the run), and a wall-clock limit (:func:`time_limit`,
``SIGALRM``; main thread on POSIX only) ends a layer that never returns.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import signal
import sys
import threading
import types
from dataclasses import dataclass, field
from pathlib import Path

from _gradcheck.core.state import TimeLimitExceeded, describe_exception

__all__ = ["ROOT", "TOOLKIT_NAMES", "Toolkit", "ReferenceCollision", "TimeLimitExceeded",
           "load_student", "guarded", "time_limit", "assert_not_same", "is_toolkit_function", "shadows",
           "reference_modules"]

ROOT = Path(__file__).resolve().parents[2]  # the folder holding the toolkit's top-level modules

# Top-level names of the toolkit: a student file or folder with one of these names would shadow it.
TOOLKIT_NAMES = ("_rules", "layers", "fast_layers", "layer_utils", "layer_modules", "im2col", "im2col_cython",
                 "gradient_check", "_gradcheck", "classifiers", "optim", "solver", "data_utils", "vis_utils",
                 "rnn_layers", "captioning_solver", "coco_utils", "features", "image_utils")
# What the references need loaded before a student's code runs (the rest are loaded if present).
_PRELOAD = ("_rules", "layers", "fast_layers", "layer_utils", "gradient_check",
            "classifiers")  # assignment 1's losses (classifiers.softmax, .linear_svm) are references too


def reference_modules(extra=()) -> tuple:
    """The toolkit modules the references need, each once, in the order to load them.

    Parameters
    ----------
    extra : sequence of str, optional
        More module names, loaded after the rest.

    Returns
    -------
    tuple of str
        ``_PRELOAD``, then the module of every layer specification, then ``extra``.
    """
    from _gradcheck.grader import specs

    return tuple(dict.fromkeys(_PRELOAD + tuple(s.module for s in specs.specs()) + tuple(extra)))


class ReferenceCollision(RuntimeError):
    """The reference about to be compared with a student's function is not the toolkit's own."""


# ---------------------------------------------------------------------------------------------
# The toolkit's own modules

def _toolkit_name(module) -> str | None:
    """The toolkit top-level name ``module`` was loaded from (under ROOT), else None."""
    f = getattr(module, "__file__", None)
    if not f:
        return None
    try:
        rel = Path(f).resolve().relative_to(ROOT)
    except ValueError:
        return None
    top = rel.parts[0].split(".")[0]
    return top if top in TOOLKIT_NAMES else None


def _is_ours(name: str, module) -> bool:
    return _toolkit_name(module) == name.split(".")[0]


@contextlib.contextmanager
def _root_first():
    sys.path.insert(0, str(ROOT))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(ROOT))


def _drop(name: str) -> None:
    for k in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[k]


@dataclass
class Toolkit:
    """The toolkit's modules as loaded before any student code, and their attributes then."""

    modules: dict = field(default_factory=dict)     # name -> module
    saved: dict = field(default_factory=dict)       # name -> copy of the module's namespace
    notes: list = field(default_factory=list)
    # files() of the modules recorded: is_toolkit_function asks per function, and resolving every path is a
    # stat each; the modules (and their saved __file__) change only in snapshot(), which clears it.
    _files: frozenset | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def load(cls, names=None) -> Toolkit:
        """Import ``names`` (default: what every layer specification resolves through) from :data:`ROOT`.

        A same-named module already imported from elsewhere is replaced by the toolkit's own.
        """
        if names is None:
            names = reference_modules()
        tk = cls()
        with _root_first():
            for name in names:
                mod = sys.modules.get(name)
                if mod is not None and name.split(".")[0] in TOOLKIT_NAMES and not _is_ours(name, mod):
                    tk.notes.append(f"a module named {name!r} from {getattr(mod, '__file__', '?')} had been "
                                    f"imported before the checker; the toolkit's own ({ROOT / name}) is used")
                    _drop(name)
                try:
                    importlib.import_module(name)
                except ModuleNotFoundError as exc:
                    if exc.name != name:
                        raise
                    continue  # an optional top-level module this version does not have
                if name.split(".")[0] in TOOLKIT_NAMES and not _is_ours(name, sys.modules[name]):
                    raise ImportError(f"the checker cannot load its own {name!r}: found "
                                      f"{sys.modules[name].__file__} instead of a file under {ROOT}")
        tk.snapshot()
        return tk

    def snapshot(self) -> None:
        """Record every toolkit module now loaded and its namespace."""
        for name, mod in list(sys.modules.items()):
            if isinstance(mod, types.ModuleType) and _is_ours(name, mod):
                self.modules[name] = mod
                self.saved[name] = dict(vars(mod))
        self._files = None  # the modules may have changed: files() recomputes on its next call

    def restore(self, report_modules: bool = True) -> list:
        """Undo what student code did to the toolkit's modules.

        Parameters
        ----------
        report_modules : bool, optional
            Whether a module put back in ``sys.modules`` is listed too (it is put back either way).

        Returns
        -------
        list of str
            One phrase per change undone: ``sys.modules['name']`` or ``module.attribute``.
        """
        undone = []
        for name, mod in self.modules.items():
            if sys.modules.get(name) is not mod:
                sys.modules[name] = mod
                if report_modules:
                    undone.append(f"sys.modules[{name!r}]")
            ns, saved = vars(mod), self.saved[name]
            for k, v in saved.items():
                if ns.get(k, _MISSING) is not v:
                    ns[k] = v
                    undone.append(f"{name}.{k}")
        return undone

    def files(self) -> frozenset:
        """The source files of the toolkit's modules recorded by the last :meth:`Toolkit.snapshot`."""
        if self._files is None:
            self._files = frozenset(str(Path(m.__file__).resolve()) for m in self.modules.values()
                                    if getattr(m, "__file__", None))
        return self._files


_MISSING = object()


def is_toolkit_function(fn, toolkit: Toolkit) -> bool:
    """True if ``fn`` was defined in one of the toolkit's own files (a student re-exporting it)."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    return str(Path(code.co_filename).resolve()) in toolkit.files()


def assert_not_same(reference, student_fn, name: str, toolkit: Toolkit | None = None) -> None:
    """Refuse (``ReferenceCollision``) to compare a student's function with itself or with a non-toolkit reference."""
    ref_code = getattr(reference, "__code__", None)
    if reference is student_fn or (ref_code is not None and ref_code is getattr(student_fn, "__code__", None)):
        raise ReferenceCollision(f"the reference for {name} is the student's own function: refusing to compare "
                                 f"a layer with itself (a student module replaced the toolkit's {name}?)")
    if toolkit is not None and ref_code is not None and not is_toolkit_function(reference, toolkit):
        raise ReferenceCollision(f"the reference for {name} comes from {ref_code.co_filename}, not from the "
                                 f"toolkit's files under {ROOT}: refusing to compare with it")


# ---------------------------------------------------------------------------------------------
# Shadowing

def shadows(folders) -> list:
    """``(name, path)`` for each file or folder in ``folders`` named like a toolkit module (not ours)."""
    found, seen = [], set()
    for folder in folders:
        folder = Path(folder).resolve()
        if folder == ROOT or folder in seen:
            continue
        seen.add(folder)
        for name in TOOLKIT_NAMES:
            for cand in (folder / f"{name}.py", folder / name):
                if cand.exists() and (cand.suffix == ".py" or cand.is_dir()):
                    found.append((name, cand))
    return found


# ---------------------------------------------------------------------------------------------
# Running student code

@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Raise :class:`TimeLimitExceeded` in the block after ``seconds`` of wall-clock time.

    Uses ``SIGALRM`` (re-armed every second, so a layer that swallows the first one is stopped by
    the next); a no-op outside the main thread, without ``setitimer`` (Windows), or for 0/None.
    """
    if not seconds or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise TimeLimitExceeded(seconds)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, float(seconds), 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _no_hard_exit():
    """Make ``os._exit(n)`` raise ``SystemExit(n)`` meanwhile: it would end the run with no report."""
    def refuse(code=0):
        raise SystemExit(code)

    real, os._exit = os._exit, refuse
    try:
        yield
    finally:
        os._exit = real


def guarded(fn, what: str, seconds: float | None):
    """Run ``fn()`` under the time limit; return ``(result, None)`` or ``(None, message)``.

    Anything raised becomes the message (``os._exit`` raises too, meanwhile); only
    ``KeyboardInterrupt`` propagates.
    """
    try:
        with time_limit(seconds), _no_hard_exit():
            return fn(), None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - student code: anything at all is an ERROR row
        return None, describe_exception(exc, what)


def _module_target(spec: str):
    """``(kind, path_or_name)``: a ``.py`` file, a package folder, or an importable module name."""
    path = Path(spec)
    if spec.endswith(".py") or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"--module: no such file {spec!r}")
        return "file", path.resolve()
    if path.is_dir():
        if not (path / "__init__.py").is_file():
            raise FileNotFoundError(f"--module: {spec!r} is a folder without __init__.py; give the .py file "
                                    f"that holds your layers (or add an __init__.py that imports them)")
        return "package", path.resolve()
    if any(sep in spec for sep in ("/", "\\")):
        raise FileNotFoundError(f"--module: no such file or folder {spec!r}")
    top = spec.split(".")[0]
    if top in TOOLKIT_NAMES:
        raise FileNotFoundError(f"--module {spec!r} names the toolkit's own module; give the path of your file "
                                f"(e.g. ./{top}.py) or rename it (e.g. my_{top}.py)")
    return "name", spec


def _exec_file(kind: str, path: Path):
    if kind == "file":
        name = "student_" + "".join(c if c.isalnum() else "_" for c in path.stem)
        mspec = importlib.util.spec_from_file_location(name, path)
    else:
        name = path.name if path.name not in TOOLKIT_NAMES else "student_" + path.name
        mspec = importlib.util.spec_from_file_location(name, path / "__init__.py",
                                                       submodule_search_locations=[str(path)])
    module = importlib.util.module_from_spec(mspec)
    sys.modules[name] = module  # a package's relative imports look itself up here
    try:
        mspec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def load_student(spec: str, toolkit: Toolkit, seconds: float | None):
    """Import a student's module; return ``(module or None, import error message or None, notes)``.

    Raises ``FileNotFoundError`` for a path that does not exist (a usage error).
    """
    kind, target = _module_target(spec)
    folder = target.parent if kind != "name" else None
    found = shadows([f for f in (folder, Path.cwd()) if f is not None])
    # No note for a student file named like a toolkit module: the references are the toolkit's whatever
    # the folder holds, the course folder has ten such files, and the README explains the shadowing once.
    notes = []
    shadowed = {name for name, _ in found}
    for name in shadowed:  # the student's own files of these names win while their code is imported
        _drop(name)
    if folder is not None:
        sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    try:
        if kind == "name":
            module, err = guarded(lambda: importlib.import_module(target), f"importing module {target}", seconds)
        else:
            module, err = guarded(lambda: _exec_file(kind, target), f"importing {spec} (the module)", seconds)
    finally:
        if folder is not None:
            with contextlib.suppress(ValueError):
                sys.path.remove(str(folder))
        for name in shadowed:
            _drop(name)
        # Module entries displaced by the student's own files of the toolkit's names are expected
        # (the course folder has ten): put back silently. A replaced function is worth a note.
        undone = toolkit.restore(report_modules=False)
    if undone:
        notes.append(f"importing {spec} replaced the toolkit's {', '.join(sorted(undone))}; the checker put its "
                     f"own back (it always compares with the toolkit's references)")
    return module, err, notes
