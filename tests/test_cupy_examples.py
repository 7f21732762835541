"""Every example with ``--backend cupy``, as a user runs it: train a few steps, evaluate, resume, then draw
samples or translate both ways, and evaluate the run again.

Marked ``cupy``: on a GPU this is the real thing; in CI (``pytest --cupy-standin``) the strict
stand-in refuses every host/device slip the way CuPy does (tests/cupy_standin/). The scripts run
in this process, through their ``main``, so the whole walk takes seconds.
"""
import json
import os
import runpy

import pytest

from minigan import models, set_backend
from minigan.data import MNISTNotFoundError, load_mnist
from minigan.translation.translator import Translator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.cupy

#: training images each model's smoke run needs for 3 steps of batch 16 (the WGANs take n_critic batches a step;
#: the unpaired translators split them into two domains; StackGAN leaves the held-out captions out)
LIMIT = {"wgan": 256, "wgan_gp": 256, "cyclegan": 128, "discogan": 128, "stackgan": 80}
EXTRA = {"stackgan": ["--eval-per-caption", "10"], "srgan": ["--pretrain-epochs", "0"]}


def example(name):
    """The ``main`` of examples/NAME.py."""
    return runpy.run_path(os.path.join(ROOT, "examples", f"{name}.py"), run_name="example")["main"]


@pytest.fixture(autouse=True)
def numpy_after():
    yield
    set_backend("numpy")


@pytest.mark.parametrize("name", models.names())
def test_an_example_trains_evaluates_resumes_and_draws_on_cupy(name, tmp_path, capsys):
    try:
        load_mnist("test", download=False, limit=1)
    except MNISTNotFoundError:
        pytest.skip("MNIST files not found: set MINIGAN_DATA_DIR")
    from minigan.training.cli import main

    run = str(tmp_path / "run")
    common = ["--backend", "cupy", "--limit", str(LIMIT.get(name, 64)), "--batch-size", "16", "--epochs", "1",
              "--out", run, "--no-progress", "--sample-every", "1", "--eval-samples", "10", *EXTRA.get(name, [])]
    assert main(name, common + ["--max-steps", "2"]) == 0, capsys.readouterr().err
    assert os.path.exists(os.path.join(run, "metrics.json")) and os.path.exists(os.path.join(run, "samples.png"))
    assert main(name, common + ["--max-steps", "3", "--resume", "--no-eval"]) == 0, capsys.readouterr().err
    with open(os.path.join(run, "log.csv")) as f:
        assert [line.split(",")[0] for line in f.read().splitlines()[1:]] == ["1", "2", "3"]

    if issubclass(models.get(name), Translator):
        ways = [[]] if models.get(name).paired else [["--direction", "a2b"], ["--direction", "b2a"]]
        for i, way in enumerate(ways):
            out = str(tmp_path / f"translated{i}.png")
            assert example("translate")([run, "--backend", "cupy", "--n", "10", *way, "--out", out]) == 0, \
                capsys.readouterr().err
            assert os.path.exists(out)
    else:
        out = str(tmp_path / "generated.png")
        assert example("generate")([run, "--backend", "cupy", "--n", "8", "--out", out]) == 0, capsys.readouterr().err
        assert os.path.exists(out)
    scored = str(tmp_path / "again.json")
    assert example("evaluate")([run, "--backend", "cupy", "--n", "10", "--out", scored]) == 0, capsys.readouterr().err
    with open(scored) as f:
        assert json.load(f)
