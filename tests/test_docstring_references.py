"""The checker's docstrings name functions, classes and modules that exist.

Every Sphinx role (``:func:``, ``:class:``, ``:mod:``, ``:meth:``, ``:data:``, ``:attr:``) in a docstring of
``_gradcheck`` must resolve, absolutely or from the module it is written in; so must a double-backquoted
dotted name whose first part is a module of the checker (``grid.check_job``). A moved or renamed
function fails here, naming the file and the stale reference.
"""

from __future__ import annotations

import ast
import importlib
import re

import pytest

from tests._product import SOURCE_ROOT as ROOT

_ROLE = re.compile(r":(?:func|class|mod|meth|data|attr):`~?([\w.]+)`")
_DOTTED = re.compile(r"``([a-z_]\w*(?:\.[A-Za-z_]\w*)+)(?:\(\))?``")
_FILE_SUFFIXES = {"py", "pyx", "md", "json", "csv", "txt", "ipynb", "sh"}
_PACKAGES = ("_gradcheck", "_gradcheck.core", "_gradcheck.diagnose", "_gradcheck.grader",
             "_gradcheck.grader.assignment")


def _modules():
    for path in sorted((ROOT / "_gradcheck").rglob("*.py")):
        if path.name == "worker.py":
            continue  # a script run by the worker process, not importable as a module of the package
        yield path, ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _docstrings(source: str):
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return [d for n in ast.walk(ast.parse(source)) if isinstance(n, kinds) and (d := ast.get_docstring(n))]


def _resolve(dotted: str, home):
    """The object ``dotted`` names, from an importable prefix or from module ``home``; None if nothing."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        return _attrs(obj, parts[i:])
    return _attrs(home, parts)


def _attrs(obj, names):
    for name in names:
        obj = getattr(obj, name, _MISSING)
        if obj is _MISSING:
            return None
    return obj


_MISSING = object()


def _checker_module(first: str):
    for package in _PACKAGES:
        try:
            return importlib.import_module(f"{package}.{first}")
        except ImportError:
            continue
    return None


def stale_references(source: str, home) -> list:
    """Role targets and checker-module dotted names in ``source``'s docstrings that resolve to nothing."""
    stale = []
    for doc in _docstrings(source):
        stale += [m for m in _ROLE.findall(doc) if _resolve(m, home) is None]
        for dotted in _DOTTED.findall(doc):
            first, *rest = dotted.split(".")
            if rest[-1] in _FILE_SUFFIXES:
                continue  # a file name (``layers.py``), not an attribute
            module = _checker_module(first)
            if module is not None and _attrs(module, rest) is None:
                stale.append(dotted)
    return stale


@pytest.mark.parametrize("path,name", list(_modules()), ids=lambda v: str(v))
def test_docstrings_name_what_exists(path, name):
    home = importlib.import_module(name)
    stale = stale_references(path.read_text(), home)
    assert not stale, f"{path.relative_to(ROOT)} names what does not exist: {stale}"


def test_a_stale_reference_is_seen():
    import _gradcheck.grader.grid as home

    source = '"""See :func:`check_job`, :func:`grid.check_layout_twice` and ``specs.no_such_thing``."""\n'
    assert stale_references(source, home) == ["grid.check_layout_twice", "specs.no_such_thing"]
