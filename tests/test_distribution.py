"""The wheel and the sdist carry everything: no top-level module of the source tree is left out.

The expected contents come from the checkout (``$CNNKIT_CHECKOUT``, else the source tree these
tests read): every top-level module, package and ``.pyx``, and for the sdist every file git tracks
outside ``.ci/``; never from setup.py's own list.
The wheel's file list is ``$CNNKIT_WHEEL``'s when set (CI), else the installed distribution's
RECORD (what ``pip install`` put in site-packages), else a wheel built here; the sdist is
``$CNNKIT_SDIST``, or one built here from a copy of the source tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from tests._product import SOURCE_ROOT, install_kind, product_names

pytestmark = pytest.mark.slow

CHECKOUT = Path(os.environ.get("CNNKIT_CHECKOUT") or SOURCE_ROOT)

BUILD_OUTPUTS = shutil.ignore_patterns("build", "dist", "*.egg-info", "*.c", "*.so", "__pycache__", ".hypothesis", ".venv",
                                       ".pytest_cache", ".git")


def _tracked_files() -> list[str]:
    """Files of the source tree that belong in an sdist: git's list, else every file but build outputs."""
    try:
        out = subprocess.run(["git", "ls-files"], cwd=CHECKOUT, capture_output=True, text=True, check=True).stdout
        files = out.split()
    except (OSError, subprocess.CalledProcessError):
        files = [str(p.relative_to(CHECKOUT)) for p in CHECKOUT.rglob("*") if p.is_file()]
        files = [f for f in files if f != "PKG-INFO" and ".egg-info" not in f and not f.endswith((".c", ".so"))]
    return sorted(f for f in files if not f.startswith((".ci/", ".git")) and "__pycache__" not in f)


def _build(kind: str, tmp: Path) -> Path:
    """Build an sdist or a wheel from a copy of the source tree (the tree itself stays untouched)."""
    tree = tmp / "tree"
    if not tree.exists():
        shutil.copytree(CHECKOUT, tree, ignore=BUILD_OUTPUTS)
    code = f"from setuptools import build_meta as b; print(b.build_{kind}({str(tmp / 'out')!r}))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp / "out" / proc.stdout.strip().splitlines()[-1]


def _wheel_files(tmp: Path) -> list[str]:
    if os.environ.get("CNNKIT_WHEEL"):
        with zipfile.ZipFile(os.environ["CNNKIT_WHEEL"]) as wheel:
            return wheel.namelist()
    if install_kind() == "installed":
        return [str(f) for f in metadata.files("cnnkit")]
    with zipfile.ZipFile(_build("wheel", tmp)) as wheel:
        return wheel.namelist()


def _sdist_files(tmp: Path) -> list[str]:
    path = os.environ.get("CNNKIT_SDIST") or _build("sdist", tmp)
    with tarfile.open(path) as sdist:
        names = sdist.getnames()
    top = names[0].split("/")[0]
    return [n.split("/", 1)[1] for n in names if "/" in n and n.startswith(top + "/")]


def test_the_source_tree_has_the_modules_these_checks_expect():
    names = product_names(CHECKOUT)
    assert {"layers", "fast_layers", "im2col", "im2col_cython", "gradient_check", "_gradcheck"} <= set(names), names


def test_every_top_level_module_and_package_is_in_the_wheel(tmp_path):
    files = _wheel_files(tmp_path)
    missing = []
    for name in product_names(CHECKOUT):
        as_module = f"{name}.py" in files
        as_package = any(f.startswith(f"{name}/") for f in files)
        compiled = any(f.startswith(f"{name}.") and f.endswith((".so", ".pyd")) for f in files)
        if not (as_module or as_package or compiled):
            missing.append(name)
    assert not missing, f"the wheel lacks top-level module(s) {missing} of the source tree"
    packages = {p.parent.relative_to(CHECKOUT).as_posix() for name in product_names(CHECKOUT)
                for p in (CHECKOUT / name).rglob("__init__.py")}
    lacking = sorted(p for p in packages if f"{p}/__init__.py" not in files)
    assert not lacking, f"the wheel lacks package(s) {lacking}"


def test_the_sdist_carries_every_tracked_file(tmp_path):
    files = set(_sdist_files(tmp_path))
    missing = [f for f in _tracked_files() if f not in files]
    assert not missing, f"the sdist lacks {len(missing)} tracked file(s), e.g. {missing[:10]}"
    generated = sorted(f for f in files if f.endswith((".c", ".so", ".o")))
    assert not generated, f"the sdist carries build outputs {generated}"
