"""Execute the notebooks from a clean kernel and store their outputs, or check that the stored ones are current.

    python notebooks/execute.py                 # run every notebook, store the outputs in place
    python notebooks/execute.py 04_training     # only the notebooks whose name contains one of these
    python notebooks/execute.py --check         # exit 1 naming each cell whose stored output is stale

Each notebook runs in a fresh ``python3`` kernel with a scratch folder as its working directory
(whatever it writes lands there and is thrown away) and the installed cnnkit (or the checkout, for
an editable install). What is stored is kept reviewable: no execution timestamps, no Python version,
and a cell tagged ``volatile`` (one that prints timings, which change with every run and machine)
is stored with a note instead of its output. ``--check`` compares text outputs exactly and
pictures by count, since the bytes of a PNG depend on the matplotlib and freetype versions.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CELL_TIMEOUT_S = 300
VOLATILE_TAG = "volatile"
VOLATILE_NOTE = ("[output not stored: this cell measures time, which changes with every run and machine; "
                 "run the notebook to see yours]\n")


def notebooks(selected=()):
    paths = sorted(HERE.glob("*.ipynb"))
    return [p for p in paths if not selected or any(s in p.stem for s in selected)]


@contextlib.contextmanager
def _inline_backend():
    """Unset MPLBACKEND while a kernel starts: ipykernel picks its inline backend (figures stored in the
    notebook) only then; Agg would store no figure and a GUI backend would try to open windows."""
    saved = os.environ.pop("MPLBACKEND", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["MPLBACKEND"] = saved


def execute(path: Path):
    """Run ``path`` top to bottom in a scratch folder; return the executed notebook, normalized."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="cnnkit-nb-") as scratch:
        client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", record_timing=False,
                                resources={"metadata": {"path": scratch}})
        with _inline_backend():
            client.execute()  # raises CellExecutionError naming the cell on any error
        left = sorted(p.name for p in Path(scratch).iterdir())
    if left:
        raise RuntimeError(f"{path.name} left files in its working folder: {left} (write them to a tempfile folder)")
    return normalize(nb)


def normalize(nb):
    """Drop what changes from run to run or machine to machine, so stored outputs diff cleanly."""
    import nbformat

    nb.metadata.get("language_info", {}).pop("version", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if VOLATILE_TAG in cell.metadata.get("tags", []):
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=VOLATILE_NOTE)]
        for out in cell.outputs:
            out.get("metadata", {}).pop("execution", None)
    return nb


def comparable(nb):
    """Per code cell: its text outputs verbatim and the number of pictures."""
    rows = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        texts, pictures = [], 0
        for out in cell.outputs:
            if out.output_type == "stream":
                texts.append(out.text)
            elif out.output_type == "error":
                texts.append(f"ERROR {out.ename}: {out.evalue}")
            else:
                data = out.get("data", {})
                pictures += sum(1 for kind in data if kind.startswith("image/"))
                if not any(kind.startswith("image/") for kind in data) and "text/plain" in data:
                    texts.append(data["text/plain"])
        rows.append((index, "".join(texts), pictures))
    return rows


def stale_cells(stored, fresh) -> list[str]:
    problems = []
    old, new = comparable(stored), comparable(fresh)
    if [r[0] for r in old] != [r[0] for r in new]:
        return ["the cells changed: store the notebook again"]
    for (index, old_text, old_pics), (_, new_text, new_pics) in zip(old, new):
        if old_text != new_text:
            diff = "".join(difflib.unified_diff(old_text.splitlines(True), new_text.splitlines(True),
                                                "stored", "now", n=1))
            problems.append(f"cell {index}: text output differs\n{diff}")
        if old_pics != new_pics:
            problems.append(f"cell {index}: {old_pics} stored picture(s), {new_pics} now")
    unrun = [r for r in stored.cells if r.cell_type == "code" and r.get("execution_count") is None]
    if unrun:
        problems.append(f"{len(unrun)} code cell(s) stored without being run")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="run only notebooks whose file name contains one of these")
    parser.add_argument("--check", action="store_true", help="compare with the stored outputs, write nothing")
    args = parser.parse_args(argv)
    import nbformat

    paths = notebooks(args.names)
    if not paths:
        parser.error(f"no notebook matches {args.names}")
    failed = []
    for path in paths:
        fresh = execute(path)
        if args.check:
            problems = stale_cells(nbformat.read(path, as_version=4), fresh)
            if problems:
                failed.append(path.name)
                print(f"{path.name}: stored outputs are stale:\n  " + "\n  ".join(problems))
            else:
                print(f"{path.name}: stored outputs are current")
        else:
            nbformat.write(fresh, path)
            print(f"{path.name}: executed and stored")
    if failed:
        print(f"refresh with: python notebooks/execute.py {' '.join(Path(f).stem for f in failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
