"""The coursework notebooks run top to bottom (each asserts its own results) and are stored clean.

Executed with nbclient in a fresh ``python3`` kernel of the interpreter running the tests, in a
temporary folder (anything a notebook writes lands there), with the checkout on PYTHONPATH so an
uninstalled checkout works too. matplotlib draws through the kernel's inline (Agg-based) backend:
no display is needed.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests._product import SOURCE_ROOT, TESTS_ROOT

ROOT = TESTS_ROOT
NOTEBOOKS = sorted((SOURCE_ROOT / "notebooks").glob("*.ipynb"))
# Generous per-cell limit: a hung kernel fails the test instead of eating the CI budget.
CELL_TIMEOUT_S = 300


def test_there_are_notebooks_to_run():
    names = [p.name for p in NOTEBOOKS]
    assert "01_convolutions.ipynb" in names and "04_training.ipynb" in names, names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name} cell {i} has stored outputs; strip them"
            assert cell.get("execution_count") is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes_top_to_bottom(path, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    # A leftover GUI backend setting would make plt.show() try to open a window.
    monkeypatch.delenv("MPLBACKEND", raising=False)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell and the traceback, on any error
    print(f"{path.name}: {time.perf_counter() - start:.1f} s")
    errors = [out for cell in nb.cells if cell.cell_type == "code"
              for out in cell.outputs if out.get("output_type") == "error"]
    assert not errors
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [], f"{path.name} left files in its working folder: {left} (write them to a tempfile folder)"
