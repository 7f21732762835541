"""The tools on a translator's run: translate.py writes what it is asked, and every tool refuses what it can't do.

Each needs the MNIST files (``MINIGAN_DATA_DIR``; CI uses ../shared/mnist).
"""
import json

import numpy as np
import pytest
from test_examples import mnist_available, script

from minigan.training.run import load_model
from minigan.translation.data import load_task as load_images

pytestmark = pytest.mark.skipif(not mnist_available(), reason="MNIST files not found: set MINIGAN_DATA_DIR")
SMOKE = ["--limit", "64", "--batch-size", "32", "--epochs", "1", "--no-progress", "--eval-samples", "20"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A 2-step pix2pix run and a 2-step MLP GAN run, each scored on 20 images."""
    out = tmp_path_factory.mktemp("runs")
    for name, script_name, extra in (("pix2pix", "train_pix2pix.py", ["--base", "4"]),
                                     ("mlp", "train_mlp_gan.py", [])):
        done = script(script_name, *SMOKE, *extra, "--out", out / name)
        assert done.returncode == 0, done.stderr
    return out


def test_translate_writes_the_outputs_and_inputs_of_the_first_test_images(runs, tmp_path):
    done = script("translate.py", runs / "pix2pix", "--n", "13", "--npy", tmp_path / "out.npy",
                  "--inputs-npy", tmp_path / "in.npy", "--out", tmp_path / "grid.png")
    assert done.returncode == 0, done.stderr
    outputs, inputs = np.load(tmp_path / "out.npy"), np.load(tmp_path / "in.npy")
    assert outputs.shape == inputs.shape == (13, 1, 28, 28) and outputs.dtype == inputs.dtype == np.float32
    np.testing.assert_array_equal(inputs, load_images("edges", "test", limit=13).a)   # test-set order
    np.testing.assert_array_equal(outputs, load_model(str(runs / "pix2pix")).translate(inputs))
    assert outputs.min() >= -1 and outputs.max() <= 1 and (tmp_path / "grid.png").exists()


def test_evaluate_gives_back_a_translators_own_metrics(runs, tmp_path):
    done = script("evaluate.py", runs / "pix2pix", "--out", tmp_path / "m.json")
    assert done.returncode == 0, done.stderr
    own = json.loads((runs / "pix2pix" / "metrics.json").read_text())
    again = json.loads((tmp_path / "m.json").read_text())
    assert again["a2b"] == own["a2b"] and own["n"] == 20


@pytest.mark.parametrize("tool, run, args, words", [
    ("translate.py", "mlp", [], "holds a mlp_gan run, which translates nothing"),
    ("generate.py", "pix2pix", [], "which draws no samples; it translates images: use examples/translate.py"),
    ("translate.py", "pix2pix", ["--direction", "b2a"], "--direction b2a: the pix2pix run learned the paired"),
    ("translate.py", "pix2pix", ["--n", "10001"], "--n 10001: the task's test split has 10000 images"),
    ("translate.py", "pix2pix", ["--npy", "{tmp}/x.txt"], "must be a file name ending in .npy"),
    ("translate.py", "pix2pix", ["--npy", "{tmp}/same.npy", "--inputs-npy", "{tmp}/same.npy"], "different files"),
    ("evaluate.py", "pix2pix", ["--seed", "1"], "--seed 1: a translator is scored on the first --n test images"),
    ("evaluate.py", "pix2pix", ["--n", "20000"], "--n 20000: a translator is scored on the test images"),
])
def test_a_tool_refuses_what_it_cannot_do_in_one_line_and_writes_nothing(runs, tmp_path, tool, run, args, words):
    before = sorted(p.name for p in (runs / run).iterdir())
    out = tmp_path / ("x.json" if tool == "evaluate.py" else "x.png")
    done = script(tool, runs / run, *[a.format(tmp=tmp_path) for a in args], "--out", out)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and words in done.stderr, done.stderr
    assert sorted(p.name for p in (runs / run).iterdir()) == before and list(tmp_path.iterdir()) == []
