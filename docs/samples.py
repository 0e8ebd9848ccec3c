"""Regenerate the sample outputs shown in README.md and docs/*.md by running what they show.

A sample is a fenced block between ``<!-- sample: NAME -->`` and ``<!-- end sample -->``. The
block's first line, when it starts with ``$ cnnkit-check``, is the command that is run; a
``notebook-*`` sample runs the ```python block just above it (lines that only display or plot are
left out) and prints ``check.report()``. Commands run in a scratch folder holding a copy of
``tests/data``, against whichever cnnkit is importable (the installed one when run from outside
the checkout).

    python docs/samples.py          # rewrite the samples in place
    python docs/samples.py --check  # exit 1 naming each stale sample (timings are ignored)
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SAMPLE = re.compile(r"(<!-- sample: (?P<name>[\w-]+) -->\n```\n)(?P<body>.*?)(```\n<!-- end sample -->)", re.S)
PYTHON_BLOCK = re.compile(r"```python\n(?P<code>.*?)```\n", re.S)
# Seconds vary from run to run, and so does the example value quoted for a student layer that draws
# unseeded random numbers (the sample file's dropout); a sample is stale only when anything else differs.
TIMING = re.compile(r"\b\d+(\.\d+)?\s?s\b|(?<=\(e\.g\. )[-+.\deE]+(?= for x = )")
DISPLAY_ONLY = re.compile(r"^\s*(check|check\.plot\(\))\s*(#.*)?$")
SHOWN_ROWS = 6


def _run(argv, cwd, code=None):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", COLUMNS="100")
    if code is not None:
        cmd = [sys.executable, "-c", code]
    else:
        launcher = "import sys; sys.argv[0] = 'cnnkit-check'; from _gradcheck.grader.cli import main; sys.exit(main())"
        cmd = [sys.executable, "-c", launcher, *argv]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"samples: {' '.join(argv) or 'snippet'} exited {proc.returncode}:\n{proc.stderr}")
    return proc.stdout


def _trim(lines):
    """A long table keeps its head and a few rows; every line after the table (the verdicts) is kept."""
    table_end = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    if table_end <= SHOWN_ROWS:
        return lines
    return lines[:SHOWN_ROWS] + ["..."] + lines[table_end:]


def render(name, body, text_before, scratch):
    first = body.splitlines()[0] if body.strip() else ""
    if first.startswith("$ cnnkit-check"):
        out = _run(shlex.split(first)[2:] + ["--no-progress"], scratch)
        return "\n".join([first, *_trim(out.rstrip("\n").splitlines())]) + "\n"
    if name.startswith("notebook"):
        code = PYTHON_BLOCK.findall(text_before)[-1]
        kept = [line for line in code.splitlines() if not DISPLAY_ONLY.match(line)]
        return _run([], scratch, code="\n".join(kept + ["print(check.report())"]))
    raise SystemExit(f"samples: do not know how to make sample {name!r}")


def regenerate(text, scratch):
    pieces, last = [], 0
    for m in SAMPLE.finditer(text):
        pieces += [text[last:m.start("body")], render(m["name"], m["body"], text[:m.start()], scratch)]
        last = m.end("body")
    return "".join(pieces + [text[last:]])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale samples instead of rewriting them")
    args = parser.parse_args(argv)
    stale = []
    with tempfile.TemporaryDirectory(prefix="cnnkit-samples-") as scratch:
        shutil.copytree(ROOT / "tests" / "data", Path(scratch) / "tests" / "data")
        for doc in DOCUMENTS:
            old = doc.read_text(encoding="utf-8")
            new = regenerate(old, scratch)
            if TIMING.sub("<t>", new) != TIMING.sub("<t>", old):
                stale.append(str(doc.relative_to(ROOT)))
                if args.check:
                    sys.stdout.writelines(difflib.unified_diff(
                        TIMING.sub("<t>", old).splitlines(True), TIMING.sub("<t>", new).splitlines(True),
                        "stored", "now", n=1))
                if not args.check:
                    doc.write_text(new, encoding="utf-8")
    if stale:
        print(("stale samples in: " if args.check else "rewrote samples in: ") + ", ".join(stale))
    return 1 if (stale and args.check) else 0


if __name__ == "__main__":
    sys.exit(main())
