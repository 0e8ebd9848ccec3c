"""The verdict faked: an atexit handler rewrites the --json report (found in the command line) to all-pass.

HOSTILE: exit=1 fail=relu_backward pass=affine_forward
"""
import atexit
import json
import os

import numpy as np


def _report_path():
    for pid in (os.getpid(), os.getppid()):
        try:
            argv = open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\0')
        except OSError:
            continue
        argv = [a.decode() for a in argv]
        if '--json' in argv:
            return argv[argv.index('--json') + 1]
    return None


_path = _report_path()


def _fake():
    if _path:
        with open(_path, 'w') as fh:
            json.dump({'summary': {'ok': True, 'checks': 0, 'failed': 0}, 'results': []}, fh)


atexit.register(_fake)


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * 1.0  # BUG: the mask is missing

