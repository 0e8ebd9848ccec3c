"""``python -m _gradcheck``: the checker's command line, like ``python -m gradient_check``.

Useful inside a folder that holds another ``gradient_check.py`` (the course's), which
``python -m gradient_check`` would run instead of the toolkit's (the current folder comes first on
``sys.path``); the ``cnnkit-check`` console script is the same program.
"""

import sys

from _gradcheck.grader.cli import main

if __name__ == "__main__":
    sys.exit(main())
