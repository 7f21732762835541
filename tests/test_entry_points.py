"""Every entry point, tried as a careless user would: one clear line, exit status 2, the user's files untouched.

The training examples are held to this in test_cli.py and test_examples.py;
here are the tools that read a run (generate, evaluate, explore_latent), the
scripts (ablate, train_classifier), the benchmarks' argument handling, a
checkpoint with a few damaged bytes, and the layer API's refusals. One tiny
run (one step on 64 made-up images, no MNIST) serves every test; the tests
that damage it work on a copy.
"""
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import minigan
from minigan.gan import penalties
from minigan.models import mlp_gan
from minigan.nn import fastpath
from minigan.training import cli
from minigan.training.run import Run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_script(relpath):
    """A script of the checkout as a module, so its ``main(argv)`` runs in this process (fast)."""
    name = "script_" + relpath.replace("/", "_").replace(".py", "")
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, relpath))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def scripts():
    return {name: load_script(path) for name, path in [
        ("generate", "examples/generate.py"), ("evaluate", "examples/evaluate.py"),
        ("explore_latent", "examples/explore_latent.py"), ("ablate", "scripts/ablate.py"),
        ("train_classifier", "scripts/train_classifier.py")]}


def call(capsys, main, *argv):
    """``main(argv)``'s exit status, stdout and stderr (argparse's SystemExit included)."""
    capsys.readouterr()
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line(status, err, *words):
    assert status == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err


def snapshot(folder):
    """Every file under ``folder`` and a hash of its bytes: what "untouched" means."""
    seen = {}
    for dirpath, _, files in os.walk(folder):
        for f in files:
            path = os.path.join(dirpath, f)
            with open(path, "rb") as fh:
                seen[os.path.relpath(path, folder)] = hashlib.sha256(fh.read()).hexdigest()
    return seen


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One step of the MLP GAN on 64 made-up images: a run folder with a real checkpoint (read-only for tests)."""
    out = tmp_path_factory.mktemp("tiny") / "run"
    images = np.tanh(np.random.default_rng(0).standard_normal((64, 1, 28, 28))).astype(np.float32)
    cfg = mlp_gan.Config(out=str(out), epochs=1, batch_size=32, max_steps=1, progress=False, evaluate=False)
    Run(cfg, images=images).train()
    return out


@pytest.fixture(scope="module")
def before(tiny_run):
    return snapshot(tiny_run)


def damage(path, where):
    """Flip 8 bytes of a checkpoint, its zip index left intact (so it still opens as a zip)."""
    with zipfile.ZipFile(path) as z:
        info = {i.filename: i for i in z.infolist()}
    with open(path, "rb") as f:
        data = bytearray(f.read())
    member = info["meta.npy" if where == "meta" else "G/0.weight.npy"]
    start = member.header_offset + 30 + len(member.filename)       # the member's data (no extra field)
    offset = {"local header": member.header_offset + 2, "npy header": start + 30,
              "array bytes": start + 5000, "meta": start + 100}[where]
    for i in range(8):
        data[offset + i] ^= 0xFF
    with open(path, "wb") as f:
        f.write(data)


# ---- a damaged checkpoint: one line from every entry point that reads it, and the file left as it was -----

@pytest.mark.parametrize("where", ["local header", "npy header", "array bytes", "meta"])
def test_a_damaged_checkpoint_is_one_line_everywhere_and_never_lost(tiny_run, tmp_path, capsys, scripts, where):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    damage(run / "checkpoint.npz", where)
    kept = snapshot(run)
    for name in ("generate", "evaluate", "explore_latent"):
        status, _, err = call(capsys, scripts[name].main, run)
        assert_one_line(status, err, f"the checkpoint {run / 'checkpoint.npz'} is damaged", "left as it is")
    status, out, err = call(capsys, lambda argv: cli.main("mlp", argv), "--out", run, "--resume", "--epochs", 2,
                            "--batch-size", 32, "--limit", 64, "--no-progress")
    assert_one_line(status, err, "is damaged")
    assert out == ""                                  # refused before any work: not even "training ..."
    status, _, err = call(capsys, lambda argv: cli.main("mlp", argv), "--out", run, "--no-progress")
    assert_one_line(status, err, "already holds a run", "--overwrite")   # a new run is refused as ever
    if where == "meta":
        assert "whose checkpoint is damaged" in err
    assert snapshot(run) == kept


@pytest.mark.parametrize("content", [b"not a zip file", "object array", "npy"])
def test_a_file_that_is_no_checkpoint_never_invites_an_unsafe_load(tmp_path, capsys, scripts, content):
    run = tmp_path / "run"
    run.mkdir()
    path = run / "checkpoint.npz"
    if content == "object array":
        np.savez(path, meta=np.array([{"model": "mlp"}], dtype=object))
    elif content == "npy":
        with open(path, "wb") as f:
            np.save(f, np.zeros(3))
    else:
        path.write_bytes(content)
    status, _, err = call(capsys, scripts["generate"].main, run)
    assert_one_line(status, err, "is damaged")
    assert "pickle" not in err.replace("not loaded", ""), err    # numpy's own advice would be allow_pickle=True


# ---- the tools' outputs: checked before any work ----------------------------------------------------------

def test_generate_refuses_bad_outputs_and_huge_counts_before_any_work(tiny_run, before, tmp_path, capsys, scripts):
    a_file = tmp_path / "a_file"
    a_file.write_text("mine")
    cases = [
        (["--n", 10 ** 9], "--n 1000000000: at most 10000 samples"),
        (["--out", tmp_path], "is a folder; give a file name ending in .png"),
        (["--out", tmp_path / "grid.txt"], "must be a file name ending in .png"),
        (["--out", a_file / "grid.png"], "which is a file, not a folder"),
        (["--npy", tmp_path / "images.txt"], "--npy"),
        (["--out", tiny_run / "samples.png"], "one of the files of the run"),
    ]
    for args, words in cases:
        status, _, err = call(capsys, scripts["generate"].main, tiny_run, *args)
        assert_one_line(status, err, words)
    assert sorted(os.listdir(tmp_path)) == ["a_file"] and a_file.read_text() == "mine"
    assert snapshot(tiny_run) == before
    status, _, err = call(capsys, scripts["generate"].main, tiny_run, "--n", 3, "--nrow", 10 ** 9,
                          "--out", tmp_path / "new" / "grid.png")
    assert status == 0 and (tmp_path / "new" / "grid.png").exists(), err


def test_evaluate_checks_its_output_before_computing(tiny_run, before, tmp_path, capsys, scripts):
    for out, words in [(tmp_path, "is a folder; give a file name ending in .json"),
                       (tmp_path / "m.txt", "must be a file name ending in .json"),
                       (tiny_run / "metrics.json", "one of the files of the run")]:
        status, out_text, err = call(capsys, scripts["evaluate"].main, tiny_run, "--out", out)
        assert_one_line(status, err, "--out", words)
        assert out_text == ""                          # nothing computed, nothing printed
    assert os.listdir(tmp_path) == [] and snapshot(tiny_run) == before


def test_explore_latent_refuses_what_is_not_classifier_weights(tiny_run, before, tmp_path, capsys, scripts):
    broken = tmp_path / "broken.npz"
    shutil.copy(tiny_run / "checkpoint.npz", broken)
    damage(broken, "array bytes")
    a_file = tmp_path / "a_file"
    a_file.write_text("mine")
    out = ["--out-dir", tmp_path / "pictures"]
    for args, words in [(["--classifier", tiny_run / "checkpoint.npz"], "is not MNIST classifier weights"),
                        (["--classifier", tiny_run], "is a folder, not classifier weights"),
                        (["--classifier", broken], "are damaged"),
                        (["--out-dir", a_file], "--out-dir")]:
        status, _, err = call(capsys, scripts["explore_latent"].main, tiny_run, *(out + args))
        assert_one_line(status, err, words)
    assert sorted(os.listdir(tmp_path)) == ["a_file", "broken.npz"] and snapshot(tiny_run) == before


@pytest.mark.parametrize("name, args, words", [
    ("generate", ["--seed", "-1"], "--seed: expected an integer >= 0, got -1"),
    ("evaluate", ["--seed", "-1"], "--seed: expected an integer >= 0, got -1"),
    ("explore_latent", ["--seed", "-1"], "--seed: expected an integer >= 0, got -1"),
    ("explore_latent", ["--steps", "100000000"], "--steps 100000000: must be from 2 to 100"),
])
def test_the_tools_refuse_values_numpy_or_memory_would_refuse_later(tiny_run, before, capsys, scripts, name, args,
                                                                      words):
    status, _, err = call(capsys, scripts[name].main, tiny_run, *args)
    assert_one_line(status, err, words)
    assert snapshot(tiny_run) == before


# ---- scripts/ ----------------------------------------------------------------------------------------------

def test_ablate_keeps_each_seed_in_its_own_folder_and_never_replaces_a_run(tiny_run, tmp_path, capsys, scripts,
                                                                           monkeypatch):
    monkeypatch.chdir(tmp_path)
    ablate = scripts["ablate"]
    first = tmp_path / "runs" / "ablate" / "mlp" / "base-seed0"
    shutil.copytree(tiny_run, first)                       # seed 0's run, already done
    kept = snapshot(first)
    started = []

    class NoTraining:  # the folder a row trains into, without the minutes of training
        def __init__(self, cfg, resume=False, overwrite=False, **kw):
            started.append((cfg.out, cfg.seed, resume, overwrite))

        def train(self, callback=None):
            return "finished"

    monkeypatch.setattr(ablate, "Run", NoTraining)
    assert call(capsys, ablate.main, "mlp", "base", "--seed", 1, "--")[0] == 0
    assert started == [(os.path.join("runs", "ablate", "mlp", "base-seed1"), 1, False, False)]
    status, _, err = call(capsys, ablate.main, "mlp", "base", "--seed", 0, "--")   # docs/tuning.md's command again
    assert_one_line(status, err, "base-seed0", "--resume", "--overwrite")
    assert len(started) == 1 and snapshot(first) == kept


@pytest.mark.parametrize("args, words", [
    (["nosuch", "x"], "invalid choice: 'nosuch'"),
    (["mlp", "x", "--epochs-at", "1,a"], "--epochs-at"),
    (["mlp", "x", "--final", "5"], "--final 5"),
    (["mlp", "x", "--", "--lr", "-1"], "--lr -1.0"),
    (["mlp", "x", "--", "--data-dir", "/no/such/folder"], "--data-dir"),
])
def test_ablate_bad_arguments_are_one_line(tmp_path, capsys, scripts, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    status, _, err = call(capsys, scripts["ablate"].main, *args)
    assert_one_line(status, err, words)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("args, words", [
    (["--epochs", "0"], "--epochs: expected an integer >= 1"),
    (["--lr", "nan"], "--lr: expected a finite number > 0"),
    (["--min-accuracy", "2"], "--min-accuracy"),
    (["--out", "."], "is a folder"),
    (["--out", "weights.txt"], "ending in .npz"),
    (["--data-dir", "/no/such/folder"], "--data-dir '/no/such/folder': must be an existing folder"),
])
def test_train_classifier_bad_arguments_are_one_line(tmp_path, capsys, scripts, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    status, _, err = call(capsys, scripts["train_classifier"].main, *args)
    assert_one_line(status, err, words)
    assert os.listdir(tmp_path) == []


# ---- benchmarks/: argument handling (a subprocess each: they set thread variables at import) -----------------

def bench(path, *args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", path), *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("path, args, words", [
    ("bench.py", ["--rounds", "0"], "--rounds: expected an integer >= 1"),
    ("bench.py", ["--threads", "abc"], "--threads: expected an integer >= 1, got 'abc'"),
    ("profile_step.py", ["mlp", "--steps", "0"], "--steps"),
    ("step_settings.py", ["mlp", "--with=--lr -1"], "--lr -1.0"),
    ("step_settings.py", ["nosuch"], "invalid choice"),
])
def test_benchmark_bad_arguments_are_one_line(path, args, words):
    done = bench(path, *args)
    assert_one_line(done.returncode, done.stderr, words)


@pytest.mark.parametrize("model", ["pix2pix", "srgan", "mlp"])
def test_profile_step_profiles_any_registered_model(model):
    """A translator's step takes pairs, a generative model's images and labels: each profiled as the run builds it."""
    done = bench("profile_step.py", model, "--batch", "4", "--steps", "1", "--top", "3")
    assert done.returncode == 0, done.stderr
    assert f"{model}, batch 4:" in done.stdout and "ms per step" in done.stdout


def test_a_twin_without_pytorch_says_what_to_install():
    if importlib.util.find_spec("torch") is not None:
        pytest.skip("PyTorch is installed here")
    done = bench("twins/wgan_gp.py")
    assert_one_line(done.returncode, done.stderr, "PyTorch is not installed", "pip install torch")


# ---- the layer API ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [lambda: minigan.Dense(3, 2), lambda: minigan.LeakyReLU(0.2),
                                  lambda: minigan.Sequential(minigan.Dense(3, 2), minigan.LeakyReLU(0.2))])
def test_double_backward_before_backward_names_the_layer_and_what_to_call(make):
    layer, x = make(), np.ones((4, 3), dtype=np.float32)
    with pytest.raises(RuntimeError, match=r"double_backward\(\) was called before forward\(\)"):
        layer.double_backward(x)
    y = layer(x)
    with pytest.raises(RuntimeError, match=r"double_backward\(\) was called before backward\(\).*layer.backward"):
        layer.double_backward(x)
    layer.backward(np.ones_like(y))
    layer.double_backward(x)                                # in order: fine
    layer(x)
    with pytest.raises(RuntimeError, match="before backward"):   # a new forward needs its own backward
        layer.double_backward(x)


def test_numpy_scalars_are_numbers_and_bools_are_not():
    assert penalties.check_weight("r1_penalty", np.int64(3)) == 3.0
    assert penalties.check_weight("r1_penalty", np.float32(0.5)) == 0.5
    assert minigan.LeakyReLU(np.float32(0.25)).negative_slope == 0.25
    assert minigan.Dropout(np.float64(0.5)).p == 0.5 and minigan.Dropout(np.int64(0)).p == 0
    conv = minigan.Conv2d(np.int64(1), np.int64(2), np.int64(3), stride=np.int64(1), padding=np.int64(1))
    assert conv.kernel_size == (3, 3) and type(conv.kernel_size[0]) is int
    assert conv(np.ones((1, 1, 4, 4), dtype=np.float32)).shape == (1, 2, 4, 4)
    threads = fastpath.threads()
    try:
        fastpath.set_threads(np.int64(1))
        assert fastpath.threads() == 1
    finally:
        fastpath.set_threads(threads)
    for bad in (True, np.bool_(True), "3", None):
        with pytest.raises(ValueError, match="r1_penalty: weight must be a finite number"):
            penalties.check_weight("r1_penalty", bad)
        with pytest.raises(ValueError, match="LeakyReLU: negative_slope must be a number"):
            minigan.LeakyReLU(bad)
    D = minigan.Sequential(minigan.Flatten(), minigan.Dense(4, 1))
    value = minigan.r1_penalty(D, np.ones((2, 1, 2, 2), dtype=np.float32), weight=np.int64(10))
    assert np.isfinite(float(value))
