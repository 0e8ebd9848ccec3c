"""A student module that calls sys.exit(0) at import (a leftover `if not ok: sys.exit(0)`).

The checker must not end with exit 0 and no report: the import becomes an ERROR row, the run exits
1, and --json is still written.
EXPECT: exit=1 error=import json
"""
import sys

import numpy as np


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


sys.exit(0)
