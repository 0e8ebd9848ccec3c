"""The checker in a course folder (``cs231n/`` with files named like the toolkit's): quiet and right.

The folder is made here, shaped like the official assignment's: ``cs231n/layers.py`` holding
untouched starter stubs (bodies that leave their result as ``None``, and a dropout that goes on to
call ``out.astype``), next to the course's own ``gradient_check.py``, ``fast_layers.py``,
``layer_utils.py``, ``optim.py``, ``solver.py`` and a ``classifiers/`` package.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests._product import subprocess_env

STUBS = '''
import numpy as np


def affine_forward(x, w, b):
    out = None
    # TODO: implement the affine forward pass
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    x, w, b = cache
    dx, dw, db = None, None, None
    return dx, dw, db


def relu_forward(x):
    out = None
    cache = x
    return out, cache


def relu_backward(dout, cache):
    dx = None
    return dx


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    mask = None
    out = None
    if mode == "train":
        pass  # TODO: implement training phase forward pass for inverted dropout
    elif mode == "test":
        pass  # TODO: implement the test phase forward pass for inverted dropout
    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)
    return out, cache


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    dx = None
    return dx
'''

COURSE_FILES = {
    "cs231n/__init__.py": "",
    "cs231n/layers.py": STUBS,
    "cs231n/gradient_check.py": "def rel_error(x, y):\n    return 0.0\n",
    "cs231n/fast_layers.py": "def conv_forward_fast(x, w, b, conv_param):\n    raise NotImplementedError\n",
    "cs231n/layer_utils.py": "from .layers import *\n",
    "cs231n/optim.py": "def sgd(w, dw, config=None):\n    return w, config\n",
    "cs231n/solver.py": "class Solver:\n    pass\n",
    "cs231n/data_utils.py": "",
    "cs231n/classifiers/__init__.py": "",
    "cs231n/classifiers/fc_net.py": "from ..layers import *\n",
}


def _course(tmp_path):
    for rel, text in COURSE_FILES.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def _check(folder, *args):
    launcher = "import sys; sys.argv[0] = 'cnnkit-check'; from _gradcheck.grader.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", launcher, *args, "--no-progress"], cwd=folder, env=subprocess_env(),
                          capture_output=True, text=True, timeout=600)


def test_untouched_starter_is_not_implemented_yet_for_every_layer_dropout_included(tmp_path):
    folder = _course(tmp_path)
    proc = _check(folder, "--module", "cs231n/layers.py", "--json", "out.json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rows = json.loads((folder / "out.json").read_text())["results"]
    errors = [r for r in rows if r["status"] == "error"]
    assert errors and {r["layer"] for r in errors} >= {"affine_forward", "relu_forward", "dropout_forward"}
    vague = [r for r in errors if "not implemented yet" not in r["diagnosis"]]
    assert not vague, [(r["layer"], r["input"], r["diagnosis"]) for r in vague]
    assert not any(r["status"] == "pass" for r in rows if r["layer"].startswith("dropout"))


def test_a_course_folder_prints_no_notes_about_names_it_shares_with_the_toolkit(tmp_path):
    folder = _course(tmp_path)
    for cwd, module in ((folder, "cs231n/layers.py"), (folder / "cs231n", "layers.py")):
        proc = _check(cwd, "--module", module)
        notes = [line for line in proc.stdout.splitlines() if line.startswith("note:")]
        assert notes == [], notes
        assert all(len(line) <= 400 for line in proc.stdout.splitlines()), "an overlong line in the report"
        assert "Traceback" not in proc.stdout + proc.stderr


AFFINE_RIGHT = '''
import numpy as np


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    return dx, dw, dout.sum(axis=0)
'''


def test_a_package_grades_the_students_files_not_the_courses_ready_made_or_pytorch_ones(tmp_path):
    package = tmp_path / "cs231n"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "layers.py").write_text(AFFINE_RIGHT)
    # The course's own fast layers call its compiled extension, absent here; its PyTorch file takes tensors.
    (package / "fast_layers.py").write_text("def max_pool_forward_fast(x, pool_param):\n    return im2col(x)\n\n\n"
                                            "def max_pool_backward_fast(dout, cache):\n    return im2col(dout)\n")
    (package / "rnn_layers_pytorch.py").write_text(
        "def temporal_softmax_loss(x, y, mask, verbose=False):\n    raise TypeError('input must be Tensor')\n")
    # The sandwiches the course ships written reach its fast layers; a student's own addition is graded.
    (package / "layer_utils.py").write_text(
        "from .layers import *\nfrom .fast_layers import *\n\n\n"
        "def conv_relu_pool_forward(x, w, b, conv_param, pool_param):\n    return max_pool_forward_fast(x, pool_param)\n\n\n"
        "def conv_relu_pool_backward(dout, cache):\n    return max_pool_backward_fast(dout, cache)\n\n\n"
        "def affine_ln_relu_forward(x, w, b, gamma, beta, ln_param):\n    return None, None\n\n\n"
        "def affine_ln_relu_backward(dout, cache):\n    return None, None, None, None, None\n")
    proc = _check(tmp_path, "--module", "cs231n", "--json", "out.json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads((tmp_path / "out.json").read_text())
    assert {r["layer"] for r in doc["results"]} == {"affine_forward", "affine_ln_relu_forward"}
    assert {r["status"] for r in doc["results"] if r["layer"] == "affine_forward"} == {"pass"}
    assert {r["status"] for r in doc["results"] if r["layer"] == "affine_ln_relu_forward"} == {"error"}
    lines = proc.stdout.splitlines()
    assert any("max_pool_forward_fast (in the course's ready-made fast_layers.py: not graded" in x for x in lines)
    assert any("conv_relu_pool_forward (in the course's ready-made layer_utils.py: not graded" in x for x in lines)
    assert any("temporal_softmax_loss (in rnn_layers_pytorch.py, written for PyTorch tensors: not graded" in x
               for x in lines)
    # Given by itself, the course's file is graded (and its errors shown).
    alone = _check(tmp_path, "--module", "cs231n/fast_layers.py")
    assert alone.returncode == 1 and "NameError" in alone.stdout
