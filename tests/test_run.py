"""A training run end to end, on a few hundred images and a few steps, for the MLP GAN and the DCGAN.

What a learner relies on: losses are finite and both nets move; the run folder
holds every picture and log; a checkpoint resumes *exactly* (N steps, resume,
N steps == 2N steps, bit for bit, the log's clock included); Ctrl-C saves a
checkpoint; a NaN loss stops the run and keeps the last good checkpoint.
"""
import csv
import os
import signal

import numpy as np
import pytest

import json

from minigan.models import dcgan, mlp_gan
from minigan.nn import load_npz, save_npz_atomic
from minigan.training.run import NonFiniteLossError, Run, RunError, load_generator

CONFIGS = {"mlp": mlp_gan.Config, "dcgan": dcgan.Config}


@pytest.fixture(scope="module")
def images():
    """512 fake 'digits' in [-1, 1]: the loop does not care what the pictures show."""
    rng = np.random.default_rng(0)
    return np.tanh(rng.standard_normal((512, 1, 28, 28))).astype(np.float32)


def config(tmp_path, model="mlp", **kw):
    base = dict(epochs=2, batch_size=32, sample_every=3, out=str(tmp_path), progress=False, evaluate=False)
    base.update(kw)
    return CONFIGS[model](**base)


def weights(run):
    return {f"{name}/{k}": v for name, m in run.model.modules().items() for k, v in m.state_dict().items()}


def read_log(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("model", ["mlp", "dcgan"])
def test_a_few_steps_move_both_nets_and_fill_the_run_folder(tmp_path, images, model):
    r = Run(config(tmp_path, model, max_steps=4, epochs=1), images=images[:256])
    before = weights(r)
    seen = []
    status = r.train(callback=lambda run, stats: seen.append(stats))
    assert status == "stopped" and r.step == 4
    assert all(np.isfinite(v) for s in seen for v in s.values())
    after = weights(r)
    for net in ("G/", "D/"):
        assert any(not np.array_equal(before[k], after[k]) for k in before if k.startswith(net)), f"{net} did not move"
    for name in ("checkpoint.npz", "config.json", "log.csv", "curves.png", "progress.gif", "samples.png",
                 "history.log", "samples/step_000000.png", "samples/step_000003.png", "samples/final.png"):
        assert os.path.getsize(tmp_path / name) > 0, name
    log = (tmp_path / "log.csv").read_text().splitlines()
    assert log[0].split(",") == ["step", "epoch", "d_loss", "g_loss", "d_real", "d_fake", "d_acc", "time"]
    assert len(log) == 1 + 4


@pytest.mark.parametrize("model", ["mlp", "dcgan"])
def test_training_step_stays_float32(tmp_path, images, model):
    """No float64 sneaks into the training path: weights, grads and optimizer state stay float32."""
    r = Run(config(tmp_path, model, max_steps=1, epochs=1), images=images[:64])
    r.train()
    t = r.model
    arrays = [p.data for p in t.G.parameters() + t.D.parameters()]
    arrays += [p.grad for p in t.G.parameters() + t.D.parameters()]
    arrays += [b for opt in (t.opt_G, t.opt_D) for bufs in opt.state.values() for b in bufs if b is not None]
    assert {a.dtype for a in arrays} == {np.dtype(np.float32)}
    assert t.grid()[0].dtype == np.float32


def test_a_checkpoint_written_before_0_2_resumes_exactly(tmp_path, images):
    """minigan 0.1 kept the model's own state under "task" and its settings without the optimizer's newer
    fields: such a checkpoint resumes to the very weights of an unbroken run (the average's count included)."""
    kw = dict(epochs=1, ema=0.9)
    straight = Run(config(tmp_path / "a", max_steps=6, **kw), images=images[:256])
    straight.train()
    first = Run(config(tmp_path / "b", max_steps=3, **kw), images=images[:256])
    first.train()
    path = tmp_path / "b" / "checkpoint.npz"
    arrays = load_npz(path)
    meta = json.loads(str(arrays["meta"]))
    meta["task"] = meta.pop("state")                            # as 0.1 wrote it
    assert meta["task"]["ema_t"] == 3
    for name in ("optimizer", "lr_decay"):                      # settings 0.1's MLP GAN had under other classes
        meta["config"].pop(name)
    arrays["meta"] = np.array(json.dumps(meta))
    save_npz_atomic(path, arrays)
    second = Run(config(tmp_path / "b", max_steps=6, **kw), resume=True, images=images[:256])
    second.train()
    a, b = weights(straight), weights(second)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_resume_is_exact(tmp_path, images):
    """N steps + resume + N steps gives the same weights, bit for bit, as 2N steps (across an epoch end)."""
    kw = dict(epochs=3, d_dropout=0.3, ema=0.9, lr_decay="linear")  # every state must resume, schedules too
    straight = Run(config(tmp_path / "a", max_steps=10, **kw), images=images[:256])  # 8 steps per epoch
    straight.train()

    first = Run(config(tmp_path / "b", max_steps=5, **kw), images=images[:256])
    assert first.train() == "stopped"
    second = Run(config(tmp_path / "b", max_steps=10, **kw), resume=True, images=images[:256])
    second.train()

    assert second.step == straight.step == 10
    a, b = weights(straight), weights(second)
    assert a.keys() == b.keys() and any(k.startswith("G_ema/") for k in a)
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    for name in ("opt_G", "opt_D"):
        sa, sb = straight.model.optimizers()[name].state_dict(), second.model.optimizers()[name].state_dict()
        assert all(np.array_equal(sa[k], sb[k]) for k in sa)
    # the log of the resumed run reads as one run: every step once, its clock never going back
    rows = read_log(tmp_path / "b" / "log.csv")
    assert [int(r["step"]) for r in rows] == list(range(1, 11))
    times = [float(r["time"]) for r in rows]
    assert times == sorted(times) and times[5] >= times[4] > 0
    history = (tmp_path / "b" / "history.log").read_text()
    assert "resumed at step 5" in history


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes(tmp_path, images):
    def press_ctrl_c(run, stats):
        if run.step == 3:
            os.kill(os.getpid(), signal.SIGINT)

    r = Run(config(tmp_path, epochs=1), images=images[:256])
    assert r.train(callback=press_ctrl_c) == "interrupted"
    assert r.step == 3
    resumed = Run(config(tmp_path, epochs=1), resume=True, images=images[:256])
    meta = resumed.load_checkpoint()
    assert meta["step"] == 3 and meta["batch_in_epoch"] == 3
    assert resumed.train() == "finished"
    assert resumed.step == 8


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, images):
    def poison(run, stats):
        if run.step == 10:  # in epoch 2, after epoch 1's checkpoint (step 8)
            run.model.G.parameters()[0].data[...] = np.nan

    r = Run(config(tmp_path, epochs=2), images=images[:256])
    with pytest.raises(NonFiniteLossError, match="step 11") as err:
        r.train(callback=poison)
    assert "last good checkpoint" in str(err.value)
    good = Run(config(tmp_path, epochs=2), resume=True, images=images[:256])
    meta = good.load_checkpoint()
    assert meta["step"] == 8
    assert all(np.isfinite(p.data).all() for p in good.model.G.parameters())
    assert [int(r["step"]) for r in read_log(tmp_path / "log.csv")] == list(range(1, 11))  # up to the last good step


def test_a_corrupt_checkpoint_is_a_clear_error(tmp_path, images):
    (tmp_path / "checkpoint.npz").write_bytes(b"not a zip file")
    with pytest.raises(RunError, match="unreadable"):
        Run(config(tmp_path, epochs=1), resume=True, images=images[:64])
    with pytest.raises(RunError, match="no checkpoint"):
        Run(config(tmp_path / "empty", epochs=1), resume=True, images=images[:64])
    assert not (tmp_path / "empty").exists()


def test_minimax_loss_and_other_optimizers_run(tmp_path, images):
    for i, kw in enumerate([dict(objective="minimax"), dict(optimizer="sgd", lr=0.01), dict(optimizer="rmsprop"),
                            dict(label_smoothing=0.1, d_steps=2)]):
        r = Run(config(tmp_path / str(i), max_steps=2, epochs=1, **kw), images=images[:256])
        assert r.train() == "stopped"


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_load_generator_reproduces_the_trained_generator(tmp_path, images, ema):
    r = Run(config(tmp_path, "dcgan", max_steps=2, epochs=1, upsample="nearest", ema=ema), images=images[:64])
    r.train()
    G, model = load_generator(str(tmp_path))
    assert model.cfg.model == "dcgan" and model.cfg.upsample == "nearest"
    assert np.array_equal(G(r.model.fixed_latent), r.model.grid()[0])


def test_ema_is_the_running_average_of_the_generator(tmp_path, images):
    """After each G step: θ_ema = β_t θ_ema + (1 - β_t) θ, with β_t = min(β, (1 + t) / (10 + t))."""
    r = Run(config(tmp_path, max_steps=1, epochs=1, ema=0.5), images=images[:64])
    start = [p.data.copy() for p in r.model.G.parameters()]
    assert all(np.array_equal(s, p.data) for s, p in zip(start, r.model.ema.shadow.parameters()))
    r.train()
    beta = min(0.5, 1 / 10)
    for s, p, avg in zip(start, r.model.G.parameters(), r.model.ema.shadow.parameters()):
        np.testing.assert_allclose(avg.data, beta * s + (1 - beta) * p.data, rtol=1e-6, atol=1e-7)


def test_ema_warmup_mean_reaches_the_run(tmp_path, images):
    """--ema-warmup mean: after the first G step the average is that G itself (β_0 = 0)."""
    r = Run(config(tmp_path, max_steps=1, epochs=1, ema=0.999, ema_warmup="mean"), images=images[:64])
    r.train()
    for p, avg in zip(r.model.G.parameters(), r.model.ema.shadow.parameters()):
        np.testing.assert_array_equal(avg.data, p.data)


def test_averaged_generator_measures_its_own_batchnorm_statistics(tmp_path, images):
    """The averaged G's running mean is the mean of its own batch means over the calibration batches."""
    r = Run(config(tmp_path, max_steps=3, epochs=1, ema=0.5), images=images[:128])
    r.train()
    G = r.model.averaged_generator()
    rng = np.random.default_rng([r.cfg.seed, 5])
    first_bn, first_dense = G.layers[1], G.layers[0]
    means = []
    for _ in range(10):
        z = rng.standard_normal((256, r.cfg.z_dim)).astype(np.float32)
        means.append((z @ first_dense.weight.data).mean(axis=0))           # no bias before batchnorm
    np.testing.assert_allclose(first_bn.running_mean, np.mean(means, axis=0), rtol=1e-4, atol=1e-5)
    assert not G.training and not r.model.ema.stale


def test_linear_lr_decay_holds_then_falls_to_zero(tmp_path, images):
    """lr is constant for the first half of the steps, then falls linearly, reaching 0 at the end."""
    seen = []
    r = Run(config(tmp_path, epochs=2, lr=1e-3, lr_decay="linear"), images=images[:256])  # 16 steps
    r.train(callback=lambda run, stats: seen.append((run.step, run.model.opt_G.lr, run.model.opt_D.lr)))
    lrs = {step - 1: lr for step, lr, _ in seen}  # the rate used for step s was set when s - 1 were done
    assert all(lrs[s] == pytest.approx(1e-3) for s in range(0, 9))
    assert lrs[12] == pytest.approx(1e-3 * 2 * (1 - 12 / 16))
    assert lrs[15] == pytest.approx(1e-3 * 2 / 16)
    assert all(g == d for _, g, d in seen)


def test_the_progress_bar_counts_every_step_and_continues_across_a_resume(tmp_path, images):
    """With --max-steps the bar ends at its total (not one short); a resumed bar starts where the run was."""
    r = Run(config(tmp_path, epochs=2, max_steps=5, progress=True), images=images[:256])
    r.train()
    assert r.bar.n == r.bar.total == 5
    again = Run(config(tmp_path, epochs=2, max_steps=12, progress=True), resume=True, images=images[:256])
    again.train()
    assert again.bar.n == again.bar.total == 12
