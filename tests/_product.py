"""Which cnnkit the tests exercise, and where the source tree they read lives.

Two roots, kept apart on purpose:

``TESTS_ROOT``
    The folder holding this ``tests`` package. Subprocesses put it on ``PYTHONPATH`` (or use it
    as their working directory) so ``tests.*`` helpers import. ``python -m tests`` copies the
    suite to a temporary folder first, so this root holds nothing but the tests: no module of
    the checkout can shadow the installed package.
``SOURCE_ROOT``
    The source tree (a checkout or an unpacked sdist) for the tests that read files which are
    not installed: notebooks, benchmarks, README, docs, ``pyproject.toml``, the ``.pyx`` sources.
    ``$CNNKIT_SOURCE_ROOT`` when set, else ``TESTS_ROOT``.

Importing product modules is left to the interpreter: whatever ``import layers`` finds is what
is tested, and :func:`product_origin` says where that was.
"""

from __future__ import annotations

import json
import os
import sysconfig
from importlib import metadata
from pathlib import Path

TESTS_ROOT = Path(__file__).resolve().parents[1]
SOURCE_ROOT = Path(os.environ.get("CNNKIT_SOURCE_ROOT") or TESTS_ROOT).resolve()

# Set by ``python -m tests``: the run must use an installed (not editable) cnnkit.
REQUIRE_INSTALLED = os.environ.get("CNNKIT_TEST_INSTALLED", "") == "1"

# Folders of a source tree that are not importable product code.
NOT_PRODUCT = {"setup", "tests", "build", "dist", "notebooks", "benchmarks", "docs"}


def subprocess_env(**extra) -> dict:
    """The environment for a subprocess that must import the same cnnkit and the ``tests`` helpers."""
    path = os.pathsep.join(filter(None, [str(TESTS_ROOT), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path, **extra)


def product_names(root: Path = SOURCE_ROOT) -> list[str]:
    """Top-level importable names of the product found in a source tree (modules, packages, .pyx)."""
    names = set()
    for p in root.iterdir():
        if p.name.startswith(".") or p.stem in NOT_PRODUCT or not p.stem.isidentifier():
            continue
        if p.is_dir() and (p / "__init__.py").exists():
            names.add(p.name)
        elif p.is_file() and p.suffix in (".py", ".pyx"):
            names.add(p.stem)
    return sorted(names)


def install_kind() -> str:
    """``'installed'`` (from a wheel or sdist), ``'editable'``, or ``'none'`` (not installed)."""
    try:
        dist = metadata.distribution("cnnkit")
    except metadata.PackageNotFoundError:
        return "none"
    # A build leaves cnnkit.egg-info in the source tree, found through the working directory: that
    # describes no installation.
    if Path(str(dist.locate_file(""))).resolve() in (TESTS_ROOT, SOURCE_ROOT):
        return "none"
    direct_url = dist.read_text("direct_url.json")
    if direct_url:
        try:
            if json.loads(direct_url).get("dir_info", {}).get("editable"):
                return "editable"
        except ValueError:
            pass
    return "installed"


def product_origin(name: str = "layers") -> Path:
    """The folder a product module was imported from (its package folder's parent)."""
    module = __import__(name)
    return Path(module.__file__).resolve().parents[1 if Path(module.__file__).stem == "__init__" else 0]


def shadowing_problem() -> str | None:
    """Why this run would not test what is installed, or None when it does.

    An installed (not editable) cnnkit next to a source tree on ``sys.path`` would be shadowed by
    the tree's modules, so the tests would pass on files the wheel may lack.
    """
    kind = install_kind()
    tree_has_modules = (TESTS_ROOT / "layers" / "__init__.py").exists()
    if kind == "installed" and tree_has_modules:
        return (f"cnnkit is installed from a wheel or sdist, but these tests sit in the source tree {TESTS_ROOT}, "
                f"whose modules would shadow the installed ones. Run `python -m tests` (it copies the suite "
                f"out of the tree and runs it against the installed package), or install with `pip install -e .`.")
    if REQUIRE_INSTALLED:
        if kind != "installed":
            return f"CNNKIT_TEST_INSTALLED=1 but cnnkit is {kind!r} (expected a wheel or sdist install)"
        origin = product_origin()
        # A venv may sit inside the checkout (README's `.venv`): its site-packages is an install.
        installed = {Path(sysconfig.get_paths()[k]).resolve() for k in ("purelib", "platlib")}
        if origin in installed:
            return None
        for root in {TESTS_ROOT, SOURCE_ROOT}:
            if origin == root or root in origin.parents:
                return f"CNNKIT_TEST_INSTALLED=1 but layers was imported from {origin}, inside {root}"
    return None
