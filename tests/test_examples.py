"""The example scripts on real MNIST, as a user runs them: train, resume, evaluate, explore.

Each needs the MNIST files (``MINIGAN_DATA_DIR``; CI uses ../shared/mnist) and is
skipped with that reason where they are missing.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from minigan.data import MNISTNotFoundError, load_mnist

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mnist_available():
    try:
        load_mnist("test", download=False, limit=1)
        return True
    except MNISTNotFoundError:
        return False


pytestmark = pytest.mark.skipif(not mnist_available(), reason="MNIST files not found: set MINIGAN_DATA_DIR")


def script(name, *args, env=None, cwd=None):
    return subprocess.run([sys.executable, os.path.join(ROOT, "examples", name), *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=cwd)


@pytest.mark.parametrize("name", ["train_mlp_gan.py", "train_dcgan.py", "train_vae.py", "train_pix2pix.py",
                                  "train_cyclegan.py", "train_discogan.py", "train_srgan.py",
                                  "train_lapgan.py", "train_stackgan.py"])
def test_example_scripts_run_and_resume(tmp_path, name):
    """A smoke run on 64 real images, then --resume of the finished run, then a refused second start."""
    unpaired = name in ("train_cyclegan.py", "train_discogan.py")     # two domains: half the images each
    limit = "128" if unpaired else "76" if name == "train_stackgan.py" else "64"   # StackGAN drops held-out captions
    args = ["--limit", limit, "--batch-size", "32", "--epochs", "1", "--out", tmp_path,
            "--no-eval", "--no-progress", "--sample-every", "1"]
    done = script(name, *args)
    assert done.returncode == 0, done.stderr
    assert "finished at step 2" in done.stdout
    assert (tmp_path / "progress.gif").exists() and (tmp_path / "samples" / "step_000002.png").exists()
    again = script(name, *args, "--resume")
    assert again.returncode == 0 and "finished at step 2" in again.stdout, again.stderr
    refused = script(name, *args)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "--resume" in refused.stderr


def test_example_resume_without_a_checkpoint_is_a_clear_error(tmp_path):
    done = script("train_mlp_gan.py", "--limit", "64", "--out", tmp_path / "run", "--resume", "--no-progress")
    assert done.returncode == 2
    assert "no checkpoint" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def scored_run(tmp_path_factory):
    """A 2-step MLP GAN run on 64 images, with the metrics of 100 samples at its end."""
    out = tmp_path_factory.mktemp("scored")
    done = script("train_mlp_gan.py", "--limit", "64", "--batch-size", "32", "--epochs", "1", "--out", out,
                  "--no-progress", "--eval-samples", "100", "--overwrite")
    assert done.returncode == 0, done.stderr
    return out


def test_evaluate_reproduces_the_runs_own_metrics_exactly(scored_run, tmp_path):
    done = script("evaluate.py", scored_run)
    assert done.returncode == 0, done.stderr
    own = json.loads((scored_run / "metrics.json").read_text())
    again = json.loads((scored_run / "metrics_eval.json").read_text())
    assert again["n"] == own["n"] == 100
    for key in ("fid", "score", "histogram", "kl_uniform"):
        assert again[key] == own[key], key
    assert again["real_floor"] == own["real_floor"]
    script("evaluate.py", scored_run, "--seed", "1", "--out", tmp_path / "other.json")
    assert json.loads((tmp_path / "other.json").read_text())["fid"] != own["fid"]


@pytest.mark.parametrize("args, words", [
    (["--n", "0"], "--n: expected an integer >= 1, got 0"),
    (["--n", "5"], "--n 5: the score needs at least 10 samples"),
    (["--data-dir", "/no/such/folder"], "--data-dir '/no/such/folder': must be an existing folder"),
])
def test_evaluate_refuses_bad_flags_in_one_line(scored_run, args, words):
    done = script("evaluate.py", scored_run, *args)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and words in done.stderr, done.stderr


def test_evaluate_without_mnist_is_one_clear_error(scored_run, tmp_path):
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("MINIGAN_DATA_DIR")
    empty = tmp_path / "empty"
    empty.mkdir()
    done = script("evaluate.py", scored_run, "--data-dir", empty, env=env)
    assert done.returncode == 2 and done.stderr.startswith("error: MNIST file") and "Traceback" not in done.stderr


def test_explore_latent_writes_into_the_run_folder_and_names_only_settable_flags(scored_run, tmp_path):
    done = script("explore_latent.py", scored_run, "--confidence", "1.0", "--max-batches", "1", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--confidence" in done.stderr and "--max-batches" in done.stderr
    # a 2-step G draws few digits: walk from its most common one to itself
    d = int(np.argmax(json.loads((scored_run / "metrics.json").read_text())["histogram"]))
    done = script("explore_latent.py", scored_run, "--confidence", "0", "--per-digit", "1", "--steps", "3",
                  "--from-digit", d, "--to-digit", d, "--arithmetic", f"{d}-{d}+{d}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (scored_run / "latent" / "interpolation.png").exists()
    assert (scored_run / "latent" / "arithmetic.png").exists()
    assert os.listdir(tmp_path) == []                        # nothing in the current folder


def test_tools_on_a_missing_run_say_so_in_one_line(tmp_path):
    for name in ("generate.py", "evaluate.py", "explore_latent.py"):
        done = script(name, tmp_path / "nothing")
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and "no checkpoint at" in done.stderr, name


def test_generate_is_seeded_like_the_run(scored_run, tmp_path):
    a = script("generate.py", scored_run, "--n", "5", "--out", tmp_path / "a.png", "--npy", tmp_path / "a.npy")
    b = script("generate.py", scored_run, "--n", "5", "--out", tmp_path / "b.png", "--npy", tmp_path / "b.npy")
    assert a.returncode == b.returncode == 0
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))


def test_generate_refuses_a_digit_for_an_unconditional_model(scored_run, tmp_path):
    done = script("generate.py", scored_run, "--digit", "3", "--out", tmp_path / "x.png")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "--digit applies to a model fed a digit" in done.stderr and not (tmp_path / "x.png").exists()


def test_fingerprint_repeats_itself_and_refuses_an_unknown_setup(capsys):
    """scripts/fingerprint.py: the same commit gives the same line twice (so a changed line means changed numbers)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("fingerprint", os.path.join(ROOT, "scripts", "fingerprint.py"))
    fingerprint = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fingerprint)
    assert fingerprint.main(["vae", "vae"]) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert first == second and json.loads(first)["key"] == "vae"
    assert fingerprint.main(["nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: unknown setup 'nope'")


@pytest.mark.parametrize("conditional", [False, True])
def test_generate_draws_lapgan_samples_through_the_pyramid(tmp_path, conditional):
    """examples/generate.py on a LAPGAN run: 28 x 28 samples; --digit only where the model was given digits."""
    run = tmp_path / "run"
    flags = ["--conditional"] if conditional else []
    done = script("train_lapgan.py", "--limit", "32", "--batch-size", "16", "--max-steps", "1", "--out", run,
                  "--no-eval", "--no-progress", "--base", "2", "--hidden", "8", *flags)
    assert done.returncode == 0, done.stderr
    asked = script("generate.py", run, "--n", "6", "--digit", "3", "--out", tmp_path / "x.png",
                   "--npy", tmp_path / "x.npy")
    if conditional:
        assert asked.returncode == 0, asked.stderr
        images = np.load(tmp_path / "x.npy")
        assert images.shape == (6, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    else:
        assert asked.returncode == 2 and asked.stderr.count("\n") == 1, asked.stderr
        assert "--digit 3: this LAPGAN is unconditional" in asked.stderr and not (tmp_path / "x.png").exists()


def test_lapgan_bad_level_and_one_level_runs_are_refused_in_one_line(tmp_path):
    bad = script("train_lapgan.py", "--level", "3", "--out", tmp_path / "bad", "--no-progress")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and bad.stderr.startswith("error: --level 3")
    assert not (tmp_path / "bad").exists()
    run = tmp_path / "one"
    done = script("train_lapgan.py", "--level", "1", "--limit", "32", "--batch-size", "16", "--max-steps", "1",
                  "--out", run, "--no-eval", "--no-progress", "--base", "2")
    assert done.returncode == 0, done.stderr
    assert (run / "pyramid.png").exists()
    drawn = script("generate.py", run, "--out", tmp_path / "y.png")
    assert drawn.returncode == 2 and drawn.stderr.count("\n") == 1 and "--level 1" in drawn.stderr
    assert not (tmp_path / "y.png").exists()


def test_stackgan_generates_from_a_caption_and_refuses_bad_ones_in_one_line(tmp_path):
    run = tmp_path / "run"
    done = script("train_stackgan.py", "--limit", "32", "--batch-size", "16", "--epochs", "2", "--out", run,
                  "--no-eval", "--no-progress", "--base", "2", "--blocks", "1")
    assert done.returncode == 0, done.stderr
    assert (run / "captions.png").exists()
    drawn = script("generate.py", run, "--n", "4", "--caption", "a thin upright two", "--out", tmp_path / "x.png",
                   "--npy", tmp_path / "x.npy")
    assert drawn.returncode == 0, drawn.stderr
    assert np.load(tmp_path / "x.npy").shape == (4, 1, 28, 28)
    for caption, words in [("a thin upright twoo", "unknown word 'twoo'"), ("a thin upright", "names no digit")]:
        bad = script("generate.py", run, "--caption", caption, "--out", tmp_path / "y.png")
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and words in bad.stderr, bad.stderr
        assert not (tmp_path / "y.png").exists()
    assert "the vocabulary:" in bad.stderr or "say one of" in bad.stderr
    missing = script("train_stackgan.py", "--stage", "2", "--stage1-run", tmp_path / "none", "--out", tmp_path / "two",
                     "--no-progress")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no checkpoint there" in missing.stderr
    assert not (tmp_path / "two").exists()
    nostage = script("train_stackgan.py", "--stage", "2", "--out", tmp_path / "two", "--no-progress")
    assert nostage.returncode == 2 and "--stage1-run" in nostage.stderr and not (tmp_path / "two").exists()
