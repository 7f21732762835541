"""The training loop end to end, on a few hundred images and a few steps.

What a learner relies on: losses are finite and both nets move; the run folder
holds every picture and log; a checkpoint resumes *exactly* (N steps, resume,
N steps == 2N steps, bit for bit); Ctrl-C saves a checkpoint; a NaN loss stops
the run and keeps the last good checkpoint.
"""
import os
import signal

import numpy as np
import pytest

from minigan.gan import NonFiniteLossError
from minigan.training import TrainConfig, Trainer, load_generator


@pytest.fixture(scope="module")
def images():
    """512 fake 'digits' in [-1, 1]: the loop does not care what the pictures show."""
    rng = np.random.default_rng(0)
    return np.tanh(rng.standard_normal((512, 1, 28, 28))).astype(np.float32)


def config(tmp_path, model="mlp", **kw):
    base = dict(model=model, epochs=2, batch_size=32, sample_every=3, out=str(tmp_path), progress=False,
                evaluate=False, limit=None)
    base.update(kw)
    return TrainConfig(**base)


def weights(trainer):
    return {**{"G/" + k: v for k, v in trainer.G.state_dict().items()},
            **{"D/" + k: v for k, v in trainer.D.state_dict().items()}}


@pytest.mark.parametrize("model", ["mlp", "dcgan"])
def test_a_few_steps_move_both_nets_and_fill_the_run_folder(tmp_path, images, model):
    t = Trainer(config(tmp_path, model, max_steps=4, epochs=1), images=images[:256])
    before = weights(t)
    seen = []
    status = t.train(callback=lambda tr, stats: seen.append(stats))
    assert status == "stopped" and t.step == 4
    assert all(np.isfinite(v) for s in seen for v in s.values())
    after = weights(t)
    for net in ("G/", "D/"):
        assert any(not np.array_equal(before[k], after[k]) for k in before if k.startswith(net)), f"{net} did not move"
    for name in ("checkpoint.npz", "config.json", "log.csv", "curves.png", "progress.gif", "samples.png",
                 "samples/step_000000.png", "samples/step_000003.png", "samples/final.png"):
        assert os.path.getsize(tmp_path / name) > 0, name
    log = (tmp_path / "log.csv").read_text().splitlines()
    assert log[0].split(",")[:7] == ["step", "epoch", "d_loss", "g_loss", "d_real", "d_fake", "d_acc"]
    assert len(log) == 1 + 4


@pytest.mark.parametrize("model", ["mlp", "dcgan"])
def test_training_step_stays_float32(tmp_path, images, model):
    """No float64 sneaks into the training path: weights, grads and optimizer state stay float32."""
    t = Trainer(config(tmp_path, model, max_steps=1, epochs=1), images=images[:64])
    t.train()
    arrays = [p.data for p in t.G.parameters() + t.D.parameters()]
    arrays += [p.grad for p in t.G.parameters() + t.D.parameters()]
    arrays += [b for opt in (t.opt_G, t.opt_D) for bufs in opt.state.values() for b in bufs if b is not None]
    assert {a.dtype for a in arrays} == {np.dtype(np.float32)}
    assert t.sample(t.fixed_z).dtype == np.float32


def test_resume_is_exact(tmp_path, images):
    """N steps + resume + N steps gives the same weights, bit for bit, as 2N steps (across an epoch end)."""
    kw = dict(epochs=3, d_dropout=0.3, ema=0.9, lr_decay="linear")  # every state must resume, schedules too
    straight = Trainer(config(tmp_path / "a", max_steps=10, **kw), images=images[:256])  # 8 steps per epoch
    straight.train()

    first = Trainer(config(tmp_path / "b", max_steps=5, **kw), images=images[:256])
    assert first.train() == "stopped"
    second = Trainer(config(tmp_path / "b", max_steps=10, **kw), images=images[:256])
    second.train(resume=True)

    assert second.step == straight.step == 10
    a, b = weights(straight), weights(second)
    a.update({"G_ema/" + k: v for k, v in straight.averaged_generator().state_dict().items()})
    b.update({"G_ema/" + k: v for k, v in second.averaged_generator().state_dict().items()})
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    for opt_a, opt_b in ((straight.opt_G, second.opt_G), (straight.opt_D, second.opt_D)):
        sa, sb = opt_a.state_dict(), opt_b.state_dict()
        assert all(np.array_equal(sa[k], sb[k]) for k in sa)
    # the log of the resumed run reads as one run
    steps = [int(line.split(",")[0]) for line in (tmp_path / "b" / "log.csv").read_text().splitlines()[1:]]
    assert steps == list(range(1, 11))


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes(tmp_path, images):
    def press_ctrl_c(trainer, stats):
        if trainer.step == 3:
            os.kill(os.getpid(), signal.SIGINT)

    t = Trainer(config(tmp_path, epochs=1), images=images[:256])
    assert t.train(callback=press_ctrl_c) == "interrupted"
    assert t.step == 3
    resumed = Trainer(config(tmp_path, epochs=1), images=images[:256])
    meta = resumed.load_checkpoint()
    assert meta["step"] == 3 and meta["batch_in_epoch"] == 3
    assert resumed.train(resume=True) == "finished"
    assert resumed.step == 8


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, images):
    def poison(trainer, stats):
        if trainer.step == 10:  # in epoch 2, after epoch 1's checkpoint (step 8)
            trainer.G.parameters()[0].data[...] = np.nan

    t = Trainer(config(tmp_path, epochs=2), images=images[:256])
    with pytest.raises(NonFiniteLossError, match="step 11") as err:
        t.train(callback=poison)
    assert "last good checkpoint" in str(err.value)
    good = Trainer(config(tmp_path, epochs=2), images=images[:256])
    meta = good.load_checkpoint()
    assert meta["step"] == 8
    assert all(np.isfinite(p.data).all() for p in good.G.parameters())


def test_a_corrupt_checkpoint_is_a_clear_error(tmp_path, images):
    (tmp_path / "checkpoint.npz").write_bytes(b"not a zip file")
    t = Trainer(config(tmp_path, epochs=1), images=images[:64])
    with pytest.raises(RuntimeError, match="unreadable"):
        t.train(resume=True)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        Trainer(config(tmp_path / "empty", epochs=1), images=images[:64]).train(resume=True)


def test_minimax_loss_and_other_optimizers_run(tmp_path, images):
    for i, kw in enumerate([dict(g_loss="minimax"), dict(optimizer="sgd", lr=0.01), dict(optimizer="rmsprop"),
                            dict(label_smoothing=0.1, k=2)]):
        t = Trainer(config(tmp_path / str(i), max_steps=2, epochs=1, **kw), images=images[:256])
        assert t.train() == "stopped"


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_load_generator_reproduces_the_trained_generator(tmp_path, images, ema):
    t = Trainer(config(tmp_path, "dcgan", max_steps=2, epochs=1, upsample="nearest", ema=ema), images=images[:64])
    t.train()
    G, cfg = load_generator(str(tmp_path))
    assert cfg.model == "dcgan" and cfg.upsample == "nearest"
    assert np.array_equal(G(t.fixed_z), t.sample(t.fixed_z))


def test_ema_is_the_running_average_of_the_generator(tmp_path, images):
    """After each G step: θ_ema = β_t θ_ema + (1 - β_t) θ, with β_t = min(β, (1 + t) / (10 + t))."""
    t = Trainer(config(tmp_path, max_steps=1, epochs=1, ema=0.5), images=images[:64])
    start = [p.data.copy() for p in t.G.parameters()]
    assert all(np.array_equal(s, p.data) for s, p in zip(start, t.ema.shadow.parameters()))
    t.train()
    beta = min(0.5, 1 / 10)
    for s, p, avg in zip(start, t.G.parameters(), t.ema.shadow.parameters()):
        np.testing.assert_allclose(avg.data, beta * s + (1 - beta) * p.data, rtol=1e-6, atol=1e-7)


def mnist_available():
    from minigan.data import MNISTNotFoundError, load_mnist
    try:
        load_mnist("test", download=False, limit=1)
        return True
    except MNISTNotFoundError:
        return False


needs_mnist = pytest.mark.skipif(not mnist_available(), reason="MNIST files not found: set MINIGAN_DATA_DIR")


@needs_mnist
def test_evaluate_writes_the_metrics(tmp_path, images):
    t = Trainer(config(tmp_path, max_steps=2, epochs=1), images=images[:64])
    t.train()
    report = t.evaluate(n=200)
    saved = __import__("json").loads((tmp_path / "metrics.json").read_text())
    assert saved["step"] == 2 and saved["n"] == 200
    assert len(saved["histogram"]) == 10 and abs(sum(saved["histogram"]) - 1) < 1e-6
    assert 1 <= saved["score"] <= 10 and saved["fid"] > 0
    assert saved["fid"] == pytest.approx(report["fid"])
    assert saved["real_floor"]["n"] == 200 and saved["real_floor"]["score"] > saved["score"]


@needs_mnist
@pytest.mark.parametrize("script", ["train_mlp_gan.py", "train_dcgan.py"])
def test_example_scripts_run_and_resume(tmp_path, script):
    """The examples are thin wrappers: a smoke run on 64 real images, then --resume of a finished run."""
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cmd = [sys.executable, os.path.join(root, "examples", script), "--limit", "64", "--batch-size", "32",
           "--epochs", "1", "--out", str(tmp_path), "--no-eval", "--no-progress", "--sample-every", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "finished at step 2" in done.stdout
    assert (tmp_path / "progress.gif").exists() and (tmp_path / "samples" / "step_000002.png").exists()
    again = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "finished at step 2" in again.stdout


def run_example(*args):
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return subprocess.run([sys.executable, os.path.join(root, "examples", "train_mlp_gan.py"), *args],
                          capture_output=True, text=True, timeout=300)


def test_example_without_cupy_says_how_to_install_it(tmp_path):
    import minigan

    if minigan.cupy_available():
        pytest.skip("CuPy and a GPU are present here: the error path cannot happen")
    done = run_example("--backend", "cupy", "--out", str(tmp_path))
    assert done.returncode == 2
    assert 'pip install "minigan[cuda]"' in done.stderr and "Traceback" not in done.stderr


@needs_mnist
def test_example_resume_without_a_checkpoint_is_a_clear_error(tmp_path):
    done = run_example("--limit", "64", "--out", str(tmp_path), "--resume", "--no-progress")
    assert done.returncode == 2
    assert "no checkpoint" in done.stderr and "Traceback" not in done.stderr


def test_averaged_generator_measures_its_own_batchnorm_statistics(tmp_path, images):
    """The averaged G's running mean is the mean of its own batch means over the calibration batches."""
    t = Trainer(config(tmp_path, max_steps=3, epochs=1, ema=0.5), images=images[:128])
    t.train()
    G = t.averaged_generator()
    rng = np.random.default_rng([t.cfg.seed, 5])
    first_bn, first_dense = G.layers[1], G.layers[0]
    means = []
    for _ in range(10):
        z = rng.standard_normal((256, t.cfg.resolved_z_dim())).astype(np.float32)
        means.append((z @ first_dense.weight.data + first_dense.bias.data).mean(axis=0))
    np.testing.assert_allclose(first_bn.running_mean, np.mean(means, axis=0), rtol=1e-4, atol=1e-5)
    assert not G.training and not t.ema.stale


def test_linear_lr_decay_holds_then_falls_to_zero(tmp_path, images):
    """lr is constant for the first half of the steps, then falls linearly, reaching 0 at the end."""
    seen = []
    t = Trainer(config(tmp_path, epochs=2, lr=1e-3, lr_decay="linear"), images=images[:256])  # 16 steps
    t.train(callback=lambda tr, stats: seen.append((tr.step, tr.opt_G.lr, tr.opt_D.lr)))
    lrs = {step - 1: lr for step, lr, _ in seen}  # the rate used for step s was set when s - 1 were done
    assert all(lrs[s] == pytest.approx(1e-3) for s in range(0, 9))
    assert lrs[12] == pytest.approx(1e-3 * 2 * (1 - 12 / 16))
    assert lrs[15] == pytest.approx(1e-3 * 2 / 16)
    assert all(g == d for _, g, d in seen)
    with pytest.raises(ValueError, match="lr_decay"):
        Trainer(config(tmp_path, lr_decay="cosine"), images=images[:64])


@needs_mnist
def test_evaluate_example_scores_a_checkpoint(tmp_path, images):
    import json
    import subprocess
    import sys

    Trainer(config(tmp_path, max_steps=2, epochs=1, ema=0.9), images=images[:64]).train()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, os.path.join(root, "examples", "evaluate.py"), str(tmp_path),
                           "--n", "100", "--floor"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "metrics_eval.json").read_text())
    assert set(report) == {"samples", "real_floor"}
    assert report["real_floor"]["score"] > report["samples"]["score"]  # 2 steps of training vs real digits


def test_examples_use_the_tuned_settings_unless_told_anchor():
    from minigan.cli import config_from_args, train_parser
    from minigan.training import TUNED

    for model in ("mlp", "dcgan"):
        parser = train_parser(model, "")
        tuned = config_from_args(model, parser.parse_args([]))
        assert all(getattr(tuned, k) == v for k, v in TUNED[model].items())
        anchor = config_from_args(model, parser.parse_args(["--anchor"]))
        assert anchor == TrainConfig(model=model, out=anchor.out)       # the dataclass defaults
        mixed = config_from_args(model, parser.parse_args(["--anchor", "--ema", "0.99"]))
        assert mixed.ema == 0.99 and mixed.label_smoothing == 0.0       # an explicit flag wins
