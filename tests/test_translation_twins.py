"""The image-to-image models beside their PyTorch twins (benchmarks/twins/<model>.py).

From the same weights and batches, one training step of minigan's model and of
its twin (the networks in torch.nn, autograd, torch.optim.Adam) must give the
same losses, gradients and updated weights in float32. Skipped where PyTorch
is not installed (minigan never needs it). Small widths, so each runs in about
a second.
"""
import importlib
import os
import sys

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
    Task = models.get(name)
    task = Task(Task.Config(**{**Task.tuned_settings({}), **settings, "out": "unused"}))
    errors = twin_module(name).build(task).parity(batch=batch)
    assert max(e for _, e in errors) < TOLERANCE, errors
    return dict(errors)


@pytest.mark.parametrize("loss", ["l1+gan", "l1"])
def test_pix2pix_twin_computes_the_same_step_with_minigans_dropout_masks(loss):
    errors = parity("pix2pix", base=8, loss=loss)               # dropout 0.5: the twin replays minigan's masks
    nets = ("G", "D") if loss != "l1" else ("G",)
    assert {f"dL/dθ_{n} (worst array)" for n in nets} | {f"θ_{n} after the step" for n in nets} <= set(errors)
    assert ("D loss" in errors) == (loss != "l1")
