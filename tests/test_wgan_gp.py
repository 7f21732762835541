"""WGAN-GP end to end: the critic's loss with its penalty and G's loss, against finite differences, and the run.

The critic's loss is -E[D(x)] + E[D(G(z))] + λ E[(‖∇D(x̂)‖ - 1)²]; its gradient with
respect to every critic weight (the penalty's part through the hand-written double backward)
and G's gradient through the critic are checked in float64. Then the model as a user runs
it: the settings it refuses, a short run, and an exact resume (the ε of x̂ included).
"""
import csv
import os
import subprocess
import sys

import numpy as np
import pytest

from minigan.gan import networks
from minigan.models import wgan_gp
from minigan.nn.gradcheck import numerical_gradient, rel_error
from minigan.training.cli import config_from_args, main, train_parser
from minigan.training.run import Run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_step(rng, norm="layer"):
    G = networks.mlp_generator(z_dim=3, hidden=(5, 4), out_dim=16, image_shape=(1, 4, 4), dtype=np.float64, rng=rng)
    D = networks.mlp_discriminator(in_dim=16, hidden=(6, 5), norm=norm, dtype=np.float64, rng=rng)
    for p in D.parameters():
        p.data[...] = rng.normal(0, 0.6, p.data.shape)
    step = wgan_gp.WGANGP.around(G, D, z_dim=3, gp_weight=10.0, d_norm=norm)
    return step, rng.standard_normal((4, 3)), rng.uniform(-1, 1, (4, 1, 4, 4))


def assert_matches(analytic, numeric, name):
    """Relative error under 1e-6, or both zero: the critic's last bias cancels between E[D(x)] and
    E[D(G(z))] and does not enter ∇D; a bias just before batchnorm has no effect on G's loss."""
    if max(np.abs(analytic).max(), np.abs(numeric).max()) < 1e-8:
        return
    assert rel_error(analytic, numeric) < 1e-6, name


@pytest.mark.parametrize("norm", ["none", "layer"])
def test_critic_gradient_with_the_penalty_matches_finite_differences(rng, norm):
    step, z, real = tiny_step(rng, norm)
    fake = step.G(z)
    state = step.penalty_rng.bit_generator.state       # the same ε at every evaluation

    def d_loss():
        step.penalty_rng.bit_generator.state = state
        return step.d_gradients(real, fake)["d_loss"]

    step.penalty_rng.bit_generator.state = state
    stats = step.d_gradients(real, fake)
    assert stats["gp"] > 0 and stats["grad_norm"] > 0
    np.testing.assert_allclose(stats["d_loss"], -stats["wasserstein"] + stats["gp"], rtol=1e-12)
    d_loss()                                          # .grad now holds d(d_loss)/dθ at this ε
    analytic = [p.grad.copy() for p in step.D.parameters()]
    for (name, p), g in zip(step.D.named_parameters(), analytic):
        assert_matches(g, numerical_gradient(d_loss, p.data), name)


def test_the_penalty_is_taken_at_points_between_real_and_fake(rng):
    """x̂ = ε x + (1 - ε) G(z) with one ε ~ U[0, 1] per sample: each x̂_n lies on the segment."""
    step, z, real = tiny_step(rng)
    fake = step.G(z)
    x_hat = step.interpolate(real, fake)
    eps = (x_hat - fake).reshape(4, -1) / (real - fake).reshape(4, -1)
    assert np.allclose(eps, eps[:, :1]) and ((0 <= eps) & (eps <= 1)).all()
    assert not np.allclose(eps[:, 0], eps[0, 0])                # a different ε for each sample


def test_generator_gradient_flows_through_the_critic(rng):
    step, z, real = tiny_step(rng)
    step.g_gradients(step.G(z))
    analytic = [p.grad.copy() for p in step.G.parameters()]

    def g_loss():
        return step.g_gradients(step.G(z))["g_loss"]

    for (name, p), g in zip(step.G.named_parameters(), analytic):
        assert_matches(g, numerical_gradient(g_loss, p.data), name)


# ---- the model as a user runs it ---------------------------------------------------------------

@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return np.tanh(rng.standard_normal((256, 1, 28, 28))).astype(np.float32)


def config(tmp_path, **kw):
    base = dict(epochs=2, batch_size=16, d_steps=2, sample_every=100, out=str(tmp_path), progress=False, evaluate=False)
    base.update(kw)
    return wgan_gp.Config(**base)


def weights(run):
    return {f"{name}/{k}": v for name, m in run.model.modules().items() for k, v in m.state_dict().items()}


def test_a_short_run_logs_the_penalty_and_the_gradient_norm(tmp_path, images):
    r = Run(config(tmp_path, max_steps=3, d_norm="layer"), images=images)
    before = weights(r)
    assert r.train() == "stopped" and r.step == 3
    with open(tmp_path / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["step", "epoch", "d_loss", "g_loss", "wasserstein", "gp", "grad_norm", "time"]
    assert all(float(row["gp"]) >= 0 and float(row["grad_norm"]) > 0 for row in rows)
    after = weights(r)
    for net in ("G/", "D/"):
        assert any(not np.array_equal(before[k], after[k]) for k in before if k.startswith(net)), net
    t = r.model
    arrays = [p.data for p in t.G.parameters() + t.D.parameters()] + [p.grad for p in t.D.parameters()]
    assert {a.dtype for a in arrays} == {np.dtype(np.float32)}
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_resume_is_exact_the_epsilons_of_x_hat_included(tmp_path, images):
    kw = dict(epochs=2)
    straight = Run(config(tmp_path / "a", max_steps=6, **kw), images=images)   # 8 steps per epoch
    straight.train()
    first = Run(config(tmp_path / "b", max_steps=3, **kw), images=images)
    first.train()
    second = Run(config(tmp_path / "b", max_steps=6, **kw), resume=True, images=images)
    second.train()
    a, b = weights(straight), weights(second)
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    assert straight.model.penalty_rng.bit_generator.state == second.model.penalty_rng.bit_generator.state


@pytest.mark.parametrize("flags, words", [
    (["--gp-weight", "-1"], "--gp-weight -1.0: must be a number in [0, inf)"),
    (["--gp-weight", "inf"], "--gp-weight inf: must be a number in [0, inf)"),
    (["--d-steps", "0"], "--d-steps 0: must be an integer >= 1"),
    (["--d-norm", "batch"], "--d-norm batch: batchnorm mixes the samples of a batch"),
])
def test_bad_settings_are_one_line_exit_2_and_nothing_written(tmp_path, capsys, flags, words):
    out = tmp_path / "run"
    assert main("wgan_gp", flags + ["--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and words in err, err
    assert not out.exists()


def test_anchor_gives_the_papers_settings():
    cfg = config_from_args("wgan_gp", train_parser("wgan_gp").parse_args(["--anchor"]))
    assert (cfg.gp_weight, cfg.lr, cfg.beta1, cfg.beta2, cfg.d_steps) == (10.0, 1e-4, 0.5, 0.9, 5)
    assert cfg.d_norm == "none" and cfg.ema == 0
    assert "--k " not in train_parser("wgan_gp").format_help()       # one name: --d-steps (n_critic, k)


def test_the_example_script_trains_on_mnist_and_resumes(tmp_path):
    """examples/train_wgan_gp.py as a user runs it: a 2-step smoke run on 128 real images, then --resume."""
    from minigan.data import MNISTNotFoundError, load_mnist

    try:
        load_mnist("train", download=False, limit=1)
    except MNISTNotFoundError:
        pytest.skip("MNIST files not found: set MINIGAN_DATA_DIR")
    args = [sys.executable, os.path.join(ROOT, "examples", "train_wgan_gp.py"), "--limit", "128", "--batch-size", "32",
            "--n-critic", "2", "--epochs", "1", "--out", str(tmp_path), "--no-eval", "--no-progress"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "finished at step 2" in done.stdout, done.stderr
    again = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "finished at step 2" in again.stdout, again.stderr
    assert (tmp_path / "checkpoint.npz").exists() and (tmp_path / "progress.gif").exists()
