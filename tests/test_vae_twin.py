"""The VAE beside its PyTorch twin, and examples/train_vae.py's refusals.

The twin (benchmarks/twins/vae.py) is pytorch/examples' VAE; from the same
weights, batch and ε both frameworks must give the same losses and
gradients. Skipped where PyTorch is not installed (minigan never needs it).
"""
import importlib.util
import json
import os
import sys

import numpy as np
import pytest

from minigan.data import MNISTNotFoundError, load_mnist
from minigan.models import vae
from minigan.training.cli import main as train_main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mnist_available():
    try:
        load_mnist("test", download=False, limit=1)
        return True
    except MNISTNotFoundError:
        return False


def example():
    spec = importlib.util.spec_from_file_location("train_vae", os.path.join(ROOT, "examples", "train_vae.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("flags, words", [
    (["--eval-samples", "20000"], "--eval-samples 20000: must be an integer in [1, 10000]"),
    (["--z-dim", "0"], "--z-dim 0: must be an integer >= 1"),
    (["--hidden", "0"], "--hidden 0: must be an integer >= 1"),
    (["--lr", "0"], "--lr 0.0: must be a number in (0, inf)"),
])
def test_a_bad_value_is_one_line_and_exit_2_with_nothing_written(tmp_path, capsys, flags, words):
    assert train_main("vae", flags + ["--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err, err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("flags", [["--torch-twin", "--resume"], ["--same-eps"]])
def test_a_twin_run_cannot_resume_and_same_eps_needs_the_twin(tmp_path, capsys, flags):
    assert example().main(flags + ["--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--torch-twin" in err and flags[-1] in err
    assert not (tmp_path / "run").exists()


def test_the_twin_computes_the_same_step():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from twins.vae import build

    model = vae.VAE(vae.Config(hidden=64))
    before = [p.data.copy() for p in model.encoder.parameters()]
    parity = dict(build(model).parity(batch=8))
    assert len(parity) == 3 + 10 + 1          # three losses, ten gradients, the loss after one Adam step
    assert all(err < 1e-5 for err in parity.values()), parity
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.encoder.parameters()))  # task untouched


@pytest.mark.skipif(not mnist_available(), reason="MNIST files not found: set MINIGAN_DATA_DIR")
def test_train_vae_with_the_twin_prints_both_and_saves_the_rows(tmp_path, capsys):
    """With --same-eps the two frameworks take the same steps: their test -ELBOs agree to rounding."""
    pytest.importorskip("torch")
    out = tmp_path / "run"
    status = example().main(["--torch-twin", "--same-eps", "--limit", "128", "--batch-size", "32", "--epochs", "2",
                             "--hidden", "32", "--eval-samples", "200", "--out", str(out), "--no-progress",
                             "--no-eval"])
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "epoch 1: test negative ELBO  minigan" in printed and "epoch 2:" in printed and "gap" in printed
    rows = json.loads((out / "torch_twin.json").read_text())["rows"]
    assert [r["step"] for r in rows] == [4, 8]
    assert all(abs(r["gap"]) < 1e-4 for r in rows) and rows[-1]["minigan"] < rows[0]["minigan"]
    assert not (out / "metrics.json").exists()                    # --no-eval: no sample metrics at the end
