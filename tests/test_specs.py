"""The layer specifications (``_gradcheck/grader/specs.py``): each layer declared once, read by everyone.

* every specification is well formed and resolves to real functions, every exported layer
  function has one, and every fast twin agrees with its reference on every layout;
* a toy layer (leaky ReLU, ``tests/toy_layer.py``) added with one specification is checked by the
  command line and run through the hardening test matrices, in a separate pytest process;
* the same layer exported without a specification fails one test with a message naming the
  file and the entry to add, and nothing crashes at collection.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from _gradcheck.grader import grid
from _gradcheck.grader import specs
from _gradcheck.grader.cli import main
from tests import toy_layer
from tests._api_registry import missing_entries, tables
from tests.conftest import assert_close

from tests._product import subprocess_env

ROOT = Path(__file__).resolve().parents[1]


# --- the specifications themselves -----------------------------------------------------------------

@pytest.mark.parametrize("s", specs.SPECS, ids=[s.name for s in specs.SPECS])
def test_every_spec_resolves_and_its_layouts_run(s):
    fwd = specs.resolve(s.forward, s.module)
    assert fwd is not None, f"{s.module}.{s.forward} does not exist"
    bwds = [specs.resolve(b, s.module) for b in s.backwards]
    assert all(b is not None for b in bwds), f"{s.name}: a backward of {s.backwards} is missing in {s.module}"
    for lay in s.layouts:
        args = lay.make(np.random.default_rng(0), np.float64)
        assert len(args) == len(s.args), f"{s.name}: layout makes {len(args)} arguments, signature has {len(s.args)}"
        for a, v in zip(s.args, args):
            if a.ndim is not None:
                assert np.ndim(v) == a.ndim, f"{s.name} {a.name}: ndim {np.ndim(v)}, spec says {a.ndim}"
        out, second = fwd(*args)
        if s.is_loss:
            assert np.ndim(out) == 0
            continue
        grads = [b(np.ones_like(out), second) for b in bwds]
        for g in grads:
            g = g if isinstance(g, tuple) else (g,)
            assert [np.shape(x) for x in g] == [np.shape(v) for v in args[:len(g)]]


def test_layouts_cover_the_assignment_grid():
    conv = specs.spec("conv_forward_naive")
    cps = [lay.make(np.random.default_rng(0), np.float64) for lay in conv.grid()]
    assert {c[3]["stride"] for c in cps} >= {1, 2, 3} and {c[3]["pad"] for c in cps} >= {0, 1, 2}
    assert any(c[0].shape[2] != c[0].shape[3] for c in cps), "no non-square input"
    assert any(c[1].shape[2] != c[1].shape[3] for c in cps), "no non-square kernel"
    assert any(c[0].shape[0] == 1 for c in cps), "no N = 1 layout"
    assert any(len({c[0].shape[0], c[0].shape[1], c[1].shape[0]}) == 3 for c in cps), "N, C, F never distinct"
    for c in cps:  # the assignment lets students assume the stride divides the padded input
        assert (c[0].shape[2] + 2 * c[3]["pad"] - c[1].shape[2]) % c[3]["stride"] == 0
    pools = [lay.make(np.random.default_rng(0), np.float64)[1] for lay in specs.spec("max_pool_forward_naive").grid()]
    kinds = {(p["pool_height"], p["pool_width"], p["stride"]) for p in pools}
    assert {(2, 2, 2), (3, 3, 2), (2, 2, 1)} <= kinds and any(h != w for h, w, _ in kinds)
    gn = [lay.make(np.random.default_rng(0), np.float64) for lay in specs.spec("spatial_groupnorm_forward").grid()]
    assert len({a[3] for a in gn}) >= 3 and len({a[0].shape[0] for a in gn}) >= 2
    for name in ("softmax_loss", "svm_loss"):
        ns = {lay.make(np.random.default_rng(0), np.float64)[0].shape[0] for lay in specs.spec(name).grid()}
        assert len(ns - {1}) >= 2 and 1 in ns


def test_extended_layouts_hold_what_the_assignment_does_not_ask_for():
    conv = specs.spec("conv_forward_naive")
    ext = [lay.make(np.random.default_rng(0), np.float64)[3] for lay in conv.layouts if lay.extended]
    assert any(isinstance(c["stride"], tuple) for c in ext) and any(c.get("dilation", 1) != 1 for c in ext)
    assert all(not lay.extended for lay in conv.grid())


@pytest.mark.parametrize("s", [s for s in specs.SPECS if s.reference], ids=lambda s: s.name)
def test_every_fast_twin_agrees_with_its_reference_on_every_layout(s):
    ref = specs.spec(s.reference)
    fwd, rfwd = specs.resolve(s.forward, s.module), specs.resolve(ref.forward, ref.module)
    for k, lay in enumerate(s.layouts):
        args = lay.make(np.random.default_rng(k), np.float64)
        out, cache = fwd(*args)
        rout, rcache = rfwd(*args)
        assert_close(out, rout, err_msg=f"{s.name} layout {k}: {specs.describe(s, args)}")
        if s.is_loss:  # (loss, grads): the gradients come with the loss
            assert_close(cache, rcache, err_msg=f"{s.name} gradient, layout {k}: {specs.describe(s, args)}")
            continue
        bwd, rbwd = specs.resolve(s.backward, s.module), specs.resolve(ref.backward, ref.module)
        dout = np.random.default_rng(9).standard_normal(out.shape)
        for g, rg in zip(bwd(dout, cache), rbwd(dout, rcache)):
            assert_close(g, rg, scale=10, err_msg=f"{s.backward} layout {k}: {specs.describe(s, args)}")


def test_describe_names_the_geometry():
    s = specs.spec("conv_forward_naive")
    args = s.grid()[2].make(np.random.default_rng(0), np.float64)
    assert specs.describe(s, args) == "x 1x2x5x8, w 3x2x3x3, stride 3, pad 2"
    p = specs.spec("max_pool_forward_naive")
    assert specs.describe(p, p.grid()[1].make(np.random.default_rng(0), np.float64)) == "x 2x3x7x5, pool 3x3, stride 2"


def test_a_malformed_spec_is_refused_with_a_message():
    lay = (specs.Layout(specs.array_args((2, 3)), api=True),)
    with pytest.raises(ValueError, match="inputs must come first"):
        specs.LayerSpec("f", "m", "f", "f", "b", (specs.value("G"), specs.inp("x")), lay)
    with pytest.raises(ValueError, match="PARAM_KEYS in _gradcheck/grader/specs.py"):
        specs.LayerSpec("f", "m", "f", "f", "b", (specs.inp("x"), specs.param("p", "leaky")), lay)
    with pytest.raises(ValueError, match="api=True"):
        specs.LayerSpec("f", "m", "f", "f", "b", (specs.inp("x"),), (specs.Layout(specs.array_args((2,))),))
    with pytest.raises(specs.SpecNotFound, match=r"add a LayerSpec\('swish_forward', \.\.\.\) to SPECS in "
                                                 r"_gradcheck/grader/specs.py"):
        specs.spec("swish_forward")


# --- a toy layer added with one specification -------------------------------------------------------

@pytest.fixture
def with_toy(monkeypatch):
    monkeypatch.setattr(specs, "SPECS", specs.SPECS + (toy_layer.LEAKY_SPEC,))


def test_the_checker_picks_up_a_new_layer(with_toy, capsys):
    assert [j.label for j in grid.jobs(None, "leaky")[0]] == ["leaky_relu_forward"]
    assert main(["--only", "leaky_relu"]) == 0
    out = capsys.readouterr().out
    assert "leaky_relu_forward" in out and out.splitlines()[-1].startswith("OK: ")


def test_the_checker_fails_a_new_layer_with_a_wrong_backward(monkeypatch, capsys):
    monkeypatch.setattr(specs, "SPECS", specs.SPECS + (toy_layer.leaky_spec("leaky_relu_backward_buggy"),))
    assert main(["--only", "leaky_relu"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_the_test_matrices_pick_up_a_new_layer():
    forwards, _, backwards, _, spec_of, _ = tables(specs.SPECS + (toy_layer.LEAKY_SPEC,))
    assert "leaky_relu_forward" in forwards and backwards["leaky_relu_backward"][1] == "leaky_relu_forward"
    assert spec_of["leaky_relu_forward"] is toy_layer.LEAKY_SPEC


def _pytest(mode, *args):
    env = subprocess_env(CNNKIT_TOY=mode)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.toy_layer", "-p", "no:cacheprovider",
                           *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow  # a pytest subprocess collecting the hardening matrices (~10 s)
def test_the_hardening_tests_run_on_a_new_layer_in_a_fresh_process():
    proc = _pytest("spec", "tests/test_invalid_inputs.py", "tests/test_no_mutation.py", "-k", "leaky", "-rA")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    passed = [ln for ln in proc.stdout.splitlines() if ln.startswith("PASSED") and "leaky" in ln]
    # bad arrays, bad douts, bad caches, caches of every other forward, NaN data, no mutation
    for what in ("leaky_relu_forward: arg 0 complex", "leaky_relu_backward: cache truncated",
                 "leaky_relu_backward<-conv_forward_naive", "test_nan_and_inf_data_pass_through",
                 "test_forward_and_backward_mutate_nothing"):
        assert any(what in ln for ln in passed), f"no passing matrix case for {what!r}"
    assert len(passed) >= 60, len(passed)


@pytest.mark.slow
def test_a_layer_exported_without_a_spec_fails_with_what_to_add():
    proc = _pytest("missing", "tests/test_no_mutation.py", "tests/test_invalid_inputs.py", "-k",
                   "specification or cache_from_another", "-x")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-3000:]
    assert "errors during collection" not in out and "KeyError" not in out
    assert "layers.leaky_relu_forward" in out and "add a LayerSpec naming it to SPECS in _gradcheck/grader/specs.py" in out


def test_missing_entries_name_the_file_and_the_entry(monkeypatch):
    import layers

    monkeypatch.setattr(layers, "leaky_relu_forward", toy_layer.leaky_relu_forward, raising=False)
    monkeypatch.setattr(layers, "__all__", layers.__all__ + ["leaky_relu_forward"])
    msgs = missing_entries()
    assert len(msgs) == 1
    assert msgs[0].startswith("layers.leaky_relu_forward (exported in ") and "layers/__init__.py" in msgs[0]
    assert "add a LayerSpec naming it to SPECS in _gradcheck/grader/specs.py" in msgs[0]
    assert missing_entries(specs.SPECS + (toy_layer.LEAKY_SPEC,)) == []
