"""The image-to-image and coarse-to-fine models beside their PyTorch twins (benchmarks/twins/<model>.py).

From the same weights and batches, one training step of minigan's model and of
its twin (the networks in torch.nn, autograd, torch.optim.Adam) must give the
same losses, gradients and updated weights in float32. Skipped where PyTorch
is not installed (minigan never needs it). Small widths, so each runs in about
a second.
"""
import importlib
import os
import sys

import numpy as np
import pytest

from minigan import models

torch = pytest.importorskip("torch", reason="PyTorch is not installed (the benchmark's twins need it)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOLERANCE = 1e-4   # benchmarks/bench.py's parity tolerance


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def twin_module(name):
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        return importlib.import_module(f"twins.{name}")
    finally:
        sys.path.remove(os.path.join(ROOT, "benchmarks"))


def parity(name, batch=4, **settings):
    Model = models.get(name)
    model = Model(Model.Config(**{**Model.tuned_settings({}), **settings, "out": "unused"}))
    errors = twin_module(name).build(model).parity(batch=batch)
    assert max(e for _, e in errors) < TOLERANCE, errors
    return dict(errors)


@pytest.mark.parametrize("loss", ["l1+gan", "l1"])
def test_pix2pix_twin_computes_the_same_step_with_minigans_dropout_masks(loss):
    errors = parity("pix2pix", base=8, loss=loss)               # dropout 0.5: the twin replays minigan's masks
    nets = ("G", "D") if loss != "l1" else ("G",)
    assert {f"dL/dθ_{n} (worst array)" for n in nets} | {f"θ_{n} after the step" for n in nets} <= set(errors)
    assert ("D loss" in errors) == (loss != "l1")


def test_cyclegan_twin_computes_the_same_step():
    errors = parity("cyclegan")                                  # the example's sizes: base 8, 3 blocks, pool 50
    assert {"G and F loss", "D_A loss", "D_B loss"} <= set(errors)
    assert all(f"θ_{n} after the step" in errors for n in ("G", "F", "D_A", "D_B"))


def test_cyclegan_parity_refuses_a_batch_that_would_let_the_pool_draw():
    Model = models.get("cyclegan")
    model = Model(Model.Config(pool_size=2, out="unused"))
    with pytest.raises(ValueError, match="pool of 2"):
        twin_module("cyclegan").build(model).parity(batch=4)


def test_cyclegan_twin_steps_with_a_full_pool():
    Model = models.get("cyclegan")
    model = Model(Model.Config(base=4, blocks=1, pool_size=3, out="unused"))
    twin = twin_module("cyclegan").build(model)
    a, b = (torch.from_numpy(v) for v in model.example_batch(np.random.default_rng(0), 4))
    for _ in range(3):                                           # the pool fills, then swaps
        losses = twin.step(a, b)
    assert len(twin.pool_a.images) == 3 and all(np.isfinite(losses))


def test_discogan_twin_computes_the_same_step():
    errors = parity("discogan", base=8)
    assert {"G and F loss", "D_A loss", "D_B loss"} <= set(errors)


def test_srgan_twin_computes_the_same_step_in_both_phases():
    errors = parity("srgan", base=8, blocks=2)
    assert {"pre-training: G loss", "SRGAN: G loss", "SRGAN: D loss", "SRGAN: θ_D after the step"} <= set(errors)
    assert "pre-training: D loss" not in errors                   # SRResNet's pre-training has no D


def test_bench_gives_a_translator_its_own_batch_shapes(monkeypatch):
    """benchmarks/bench.py's build_twin_pair: SRGAN's input is 7 x 7, and both steps run on it."""
    env, path = dict(os.environ), list(sys.path)
    monkeypatch.setattr(sys, "argv", ["bench.py", "--threads", "1"])
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        bench = importlib.import_module("bench")
    finally:
        sys.path[:] = path                                       # bench.py puts its folders first on import,
        os.environ.clear()
        os.environ.update(env)                                   # and exports its thread count
    bench.load_torch()
    ctx = type("Ctx", (), {"backend": "numpy", "device": "cpu"})()
    ours, theirs, twin = bench.build_twin_pair("srgan", twin_module("srgan"), 2, ctx)
    assert float(ours()["g_loss"]) > 0 and theirs()[1] > 0
    assert twin.pretraining                                      # the phase a run starts in


@pytest.mark.parametrize("conditional", [False, True])
def test_lapgan_twin_computes_the_same_step_at_every_level(conditional):
    errors = parity("lapgan", conditional=conditional, base=8, hidden=32)
    for k in (2, 1, 0):
        assert {f"level {k}: D loss", f"level {k}: G loss", f"θ_G{k} after the step", f"θ_D{k} after the step"} \
            <= set(errors)


def test_stackgan_twin_computes_the_same_step_at_each_stage():
    errors = parity("stackgan", base=8, c_dim=4, z_dim=8)
    for k in (1, 2):
        assert {f"stage {k}: D loss", f"stage {k}: G loss", f"θ_G{k} after the step", f"θ_CA{k} after the step",
                f"θ_D{k} after the step"} <= set(errors)
