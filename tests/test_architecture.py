"""Imports run one way: every module imports from its own level or below, never above.

``LEVELS`` is the map of the toolkit's layers (docs/architecture.md's "Layout" section is written from it).
The tests read every import statement of every source file, including imports inside
functions, and every notebook code cell, and fail naming the file, the line and the upward
import. A second group imports each top-level module first in a fresh interpreter, so an
import cycle (which only shows on the first import in a process) cannot hide. docs/architecture.md's Layout
section is read back and must list every module on its level here.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests._product import SOURCE_ROOT as ROOT, TESTS_ROOT, product_names

# Level of every top-level module or package of the project. A module may import from its
# own level or below.
LEVELS = {
    # 0: shared rules: geometry, validation and error messages, importing nothing of the project.
    "_rules": 0,
    # 1: the readable loop references, the oracle of every test.
    "layers": 1,
    # 2: fast layers and the compiled kernels (with their numpy twins inside fast_layers).
    "fast_layers": 2,
    "im2col_cython": 2,
    "im2col": 2,  # CS231n's im2col by fancy indexing (used by fast_layers.pool_variants)
    # 3: compositions: CS231n's sandwich layers and the object-style layers.
    "layer_utils": 3,
    "layer_modules": 3,
    "rnn_layers": 3,  # CS231n's rnn_layers: the recurrent references under the course's module name
    # 4: models, training and tools.
    "classifiers": 4,
    "optim": 4,
    "solver": 4,
    "data_utils": 4,
    "coco_utils": 4,  # assignment 3's captioning data (the course's COCO layout, and an offline digits set)
    "captioning_solver": 4,
    "features": 4,  # assignment 1's hand-made image features (HOG, hue histogram)
    "image_utils": 4,  # assignment 3's image helpers (image_from_url for the captioning notebooks)
    "vis_utils": 4,
    "gradient_check": 4,
    "_gradcheck": 4,
}
LEVEL_NAMES = {
    0: "shared rules",
    1: "references",
    2: "fast layers + kernels",
    3: "compositions",
    4: "models, training, tools",
}
# Folders of scripts and notebooks that use the toolkit from the top; no project module imports them.
TOP_USERS = {"notebooks": 4, "benchmarks": 5}

# `from x import`, `import x` and `cimport x` in a .pyx file (not Python syntax, so no ast).
_PYX_IMPORT = re.compile(r"^\s*(?:from\s+(?P<from>[\w.]+)\s+c?import\b|c?import\s+(?P<imp>[\w.]+))")


def project_modules():
    """Top-level names of the project's importable code found in the repository root."""
    return set(product_names(ROOT))


def imports_in_python(source: str, filename: str):
    """``(line, imported top-level name)`` for every absolute import, at any depth of the code."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def imports_in_pyx(source: str):
    found = []
    for lineno, line in enumerate(source.splitlines(), 1):
        m = _PYX_IMPORT.match(line)
        if m:
            found.append((lineno, (m.group("from") or m.group("imp")).split(".")[0]))
    return found


def notebook_code(path: Path) -> str:
    """The notebook's code cells joined into one module (IPython magics and shell lines dropped)."""
    cells = json.loads(path.read_text())["cells"]
    lines = []
    for cell in cells:
        if cell["cell_type"] == "code":
            src = "".join(cell["source"]).splitlines()
            lines += ["" if s.lstrip().startswith(("%", "!")) else s for s in src] + [""]
    return "\n".join(lines)


def upward_imports(own_level: int, imports, where: str):
    """Messages for each import in ``imports`` of a project module above ``own_level``."""
    return [
        f"{where}:{line}: imports {name} (level {LEVELS[name]}, {LEVEL_NAMES[LEVELS[name]]}) "
        f"from level {own_level} ({LEVEL_NAMES.get(own_level, 'scripts')})"
        for line, name in imports
        if name in LEVELS and LEVELS[name] > own_level
    ]


def source_files():
    """``(path, level)`` of every project source file, scripts and notebooks included."""
    for name, level in LEVELS.items():
        package = ROOT / name
        if package.is_dir():
            yield from ((p, level) for p in sorted(package.rglob("*.py")))
        for suffix in (".py", ".pyx"):
            if (ROOT / (name + suffix)).exists():
                yield ROOT / (name + suffix), level
    for folder, level in TOP_USERS.items():
        for pattern in ("*.py", "*.ipynb"):
            yield from ((p, level) for p in sorted((ROOT / folder).glob(pattern)))


def imports_of(path: Path):
    if path.suffix == ".pyx":
        return imports_in_pyx(path.read_text())
    if path.suffix == ".ipynb":
        return imports_in_python(notebook_code(path), str(path))
    return imports_in_python(path.read_text(), str(path))


def test_every_project_module_has_a_level():
    missing = sorted(project_modules() - set(LEVELS))
    assert not missing, f"add these top-level modules to LEVELS in tests/test_architecture.py: {missing}"
    gone = sorted(n for n in set(LEVELS) - project_modules())
    assert not gone, f"LEVELS lists modules that no longer exist: {gone}"


@pytest.mark.parametrize("path, level", list(source_files()), ids=lambda v: str(v.relative_to(ROOT)) if isinstance(v, Path) else str(v))
def test_no_import_reaches_a_higher_level(path, level):
    problems = upward_imports(level, imports_of(path), str(path.relative_to(ROOT)))
    assert not problems, "imports must run downward:\n" + "\n".join(problems)


def test_the_level_check_sees_an_upward_import_inside_a_function():
    # The check itself can fail: a call-time import in a reference layer is reported with its line.
    source = "import numpy as np\nfrom _rules.geometry import check_array\n\n\ndef f():\n    import fast_layers.conv\n"
    problems = upward_imports(LEVELS["layers"], imports_in_python(source, "layers/x.py"), "layers/x.py")
    assert problems == ["layers/x.py:6: imports fast_layers (level 2, fast layers + kernels) from level 1 (references)"]
    pyx = "from cython.parallel cimport prange\nfrom layers.conv import conv_forward_naive\n"
    assert upward_imports(0, imports_in_pyx(pyx), "k.pyx") == [
        "k.pyx:2: imports layers (level 1, references) from level 0 (shared rules)"]


def test_layers_never_names_a_higher_package():
    # The issue's own check, spelled as a grep over layers/ (comments and docstrings excluded).
    pattern = re.compile(r"^\s*(from|import) (fast_layers|optim|solver|classifiers|layer_utils|layer_modules"
                         r"|gradient_check|_gradcheck)\b")
    hits = [f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
            for p in sorted((ROOT / "layers").rglob("*.py"))
            for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.match(line)]
    assert not hits, hits


def _module_level_graph():
    """Top-level module -> project modules it imports at module level (function bodies excluded)."""
    graph = {name: set() for name in LEVELS}
    for path, _ in source_files():
        if path.suffix == ".ipynb" or path.parent.name in TOP_USERS:
            continue
        owner = path.relative_to(ROOT).parts[0].split(".")[0]
        if path.suffix == ".pyx":
            imports = imports_in_pyx(path.read_text())
        else:
            tree = ast.parse(path.read_text())
            body = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
            body += [n for t in tree.body if isinstance(t, (ast.If, ast.Try))
                     for n in ast.walk(t) if isinstance(n, (ast.Import, ast.ImportFrom))]
            imports = imports_in_python(ast.unparse(ast.Module(body=body, type_ignores=[])), str(path))
        graph[owner] |= {name for _, name in imports if name in LEVELS and name != owner}
    return graph


def test_no_import_cycle_between_top_level_modules():
    graph = _module_level_graph()
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycle = path[path.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    # Sanity: the graph is not empty, so the search above had something to look at.
    assert "_rules" in graph["layers"] and "fast_layers" in graph["layer_utils"]


def _importable_modules():
    names = sorted(LEVELS, key=lambda n: (LEVELS[n], n))
    try:
        import im2col_cython  # noqa: F401
    except ImportError:
        names.remove("im2col_cython")  # not built: fast_layers uses its numpy twins
    return names


# Each module first (then the rest from the top level down), and everything from the bottom up.
ORDERS = {f"{first}-first": [first] + [n for n in reversed(_importable_modules()) if n != first]
          for first in _importable_modules()}
ORDERS["bottom-up"] = _importable_modules()


@pytest.mark.parametrize("order", list(ORDERS.values()), ids=list(ORDERS))
def test_modules_import_in_a_fresh_process_in_this_order(order):
    code = "".join(f"import {name}\n" for name in order)
    res = subprocess.run([sys.executable, "-c", code], cwd=TESTS_ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, f"importing {order} in this order failed:\n{res.stderr}"


def layout_levels():
    """docs/architecture.md's Layout block read back: the levels each module or folder is listed under."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    found, level = {}, None
    for line in block.splitlines():
        head = re.match(r"level (\d)\b", line)
        if head:
            level = int(head.group(1))
            line = line[head.end():]
        elif not line.strip():
            level = None  # a blank line ends the levels (scripts and tests follow)
        for name in re.findall(r"(?<![\w/.])(\w+)(?:/|\.pyx?\b)", line):
            found.setdefault(name, set()).add(level)
    return found


def test_the_layout_section_lists_every_module_on_its_level():
    listed = layout_levels()
    expected = {**LEVELS, "notebooks": TOP_USERS["notebooks"]}
    wrong = {name: sorted(listed.get(name, set()) - {None}) for name, level in expected.items()
             if listed.get(name, set()) - {None} != {level}}
    assert not wrong, (f"docs/architecture.md's Layout section disagrees with LEVELS in tests/test_architecture.py "
                       f"(name: the levels the doc lists it under): {wrong}")
    assert None in listed.get("benchmarks", set()), "docs/architecture.md's Layout should list benchmarks/ below the levels"


# --- inside the checker: core <- diagnose <- check <- grader -------------------------------------

# Level of each part of the private package _gradcheck (its docstring says what each part does).
GRADCHECK_PARTS = {"core": 0, "diagnose": 1, "check": 2, "grader": 3}


def gradcheck_part(relpath: Path):
    """The part a file under ``_gradcheck/`` belongs to (None for the package's own __init__/__main__)."""
    first = relpath.parts[1].removesuffix(".py")
    return first if first in GRADCHECK_PARTS else None


def gradcheck_imports(source: str, relpath: Path):
    """``(line, part)`` for every import of ``_gradcheck.<part>``, absolute or relative, at any depth."""
    package = list(relpath.with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(source, str(relpath))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names = [module] if node.module else [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "_gradcheck" and len(parts) > 1 and parts[1] in GRADCHECK_PARTS:
                found.append((node.lineno, parts[1]))
    return sorted(found)


def gradcheck_upward_imports(source: str, relpath: Path):
    own = gradcheck_part(relpath)
    if own is None:
        return []
    return [f"{relpath}:{line}: {own} imports _gradcheck.{part}, a later part (core <- diagnose <- check <- grader)"
            for line, part in gradcheck_imports(source, relpath) if GRADCHECK_PARTS[part] > GRADCHECK_PARTS[own]]


def test_every_file_of_the_checker_is_in_one_part():
    files = sorted(p.relative_to(ROOT) for p in (ROOT / "_gradcheck").rglob("*.py"))
    stray = [str(p) for p in files if gradcheck_part(p) is None and p.name not in ("__init__.py", "__main__.py")]
    assert len(files) > 30 and not stray, stray
    for part in ("core", "diagnose", "grader", "grader/assignment"):
        doc = ast.get_docstring(ast.parse((ROOT / "_gradcheck" / part / "__init__.py").read_text())) or ""
        assert len(doc.split()) >= 40, f"_gradcheck/{part}/__init__.py needs its one-paragraph docstring"


def test_the_checker_parts_import_one_way():
    problems = []
    for path in sorted((ROOT / "_gradcheck").rglob("*.py")):
        rel = path.relative_to(ROOT)
        problems += gradcheck_upward_imports(path.read_text(), rel)
    assert not problems, "\n".join(problems)


def test_the_parts_check_sees_upward_and_relative_imports():
    source = ("from _gradcheck.core import numeric\n"
              "def f():\n    from ..grader import grid\n"
              "from .. import check\n")
    assert gradcheck_upward_imports(source, Path("_gradcheck/diagnose/x.py")) == [
        "_gradcheck/diagnose/x.py:3: diagnose imports _gradcheck.grader, a later part (core <- diagnose <- check <- grader)",
        "_gradcheck/diagnose/x.py:4: diagnose imports _gradcheck.check, a later part (core <- diagnose <- check <- grader)"]


def test_the_worker_imports_nothing_of_the_checker():
    # The worker runs student code; it loads only the wire format, by file path (grader/worker.py's docstring).
    source = (ROOT / "_gradcheck" / "grader" / "worker.py").read_text()
    rel = Path("_gradcheck/grader/worker.py")
    assert gradcheck_imports(source, rel) == []
    assert not [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom) and n.level]
