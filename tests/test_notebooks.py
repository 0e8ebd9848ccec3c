"""The notebooks are stored executed, their stored outputs are current, and they run top to bottom.

``notebooks/execute.py`` runs each notebook in a fresh ``python3`` kernel of the interpreter
running the tests, in a scratch folder (anything a notebook writes lands there, and a file left
behind fails), against the cnnkit this interpreter imports. The slow test executes every notebook
and compares the outputs with the stored ones (text exactly, pictures by count).
"""

from __future__ import annotations

import importlib.util
import json
import re

import pytest

from tests._product import SOURCE_ROOT, subprocess_env

NOTEBOOKS = sorted((SOURCE_ROOT / "notebooks").glob("*.ipynb"))
# Stored text must not change from run to run: no durations, no temporary paths, no addresses.
VOLATILE_TEXT = re.compile(r"\b\d+(\.\d+)?\s?(ms|s)\b(?! of)|/tmp/|0x[0-9a-f]{6,}")


def _executor():
    spec = importlib.util.spec_from_file_location("notebooks_execute", SOURCE_ROOT / "notebooks" / "execute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_notebooks_to_run():
    names = [p.name for p in NOTEBOOKS]
    assert "01_convolutions.ipynb" in names and "04_training.ipynb" in names, names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_executed_without_volatile_output(path):
    execute = _executor()
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert [c.get("execution_count") for c in code] == list(range(1, len(code) + 1)), \
        f"{path.name} is not stored as one clean run: run python notebooks/execute.py {path.stem}"
    for i, cell in enumerate(nb["cells"]):
        pictures = 0
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{path.name} cell {i} stored an error"
            text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
            if "volatile" in cell["metadata"].get("tags", []):
                assert text == execute.VOLATILE_NOTE, f"{path.name} cell {i} is volatile but stored its output"
                continue
            found = VOLATILE_TEXT.search(text)
            assert not found, f"{path.name} cell {i} stores run-dependent text {found.group(0)!r}: {text[:200]!r}"
            pictures += any(k.startswith("image/") for k in out.get("data", {}))
        assert "execution" not in cell["metadata"], f"{path.name} cell {i} stores execution timestamps"
        draws = "plt.show()" in "".join(cell.get("source", "")) and "volatile" not in cell["metadata"].get("tags", [])
        assert pictures >= 1 or not draws, f"{path.name} cell {i} draws a figure but stores none"
    assert "version" not in nb["metadata"].get("language_info", {})


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_and_its_stored_outputs_are_current(path, monkeypatch):
    import nbformat

    monkeypatch.setenv("PYTHONPATH", subprocess_env()["PYTHONPATH"])  # the kernel imports the cnnkit under test
    execute = _executor()
    fresh = execute.execute(path)  # raises on an error in any cell, or a file left behind
    problems = execute.stale_cells(nbformat.read(path, as_version=4), fresh)
    assert not problems, (f"{path.name}: " + "\n".join(problems)
                          + f"\nrefresh with: python notebooks/execute.py {path.stem}")
