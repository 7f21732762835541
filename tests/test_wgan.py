"""The WGAN with weight clipping: the box, the critic's and G's gradients, the loop, the run, the flags.

What a learner relies on:
- ``clip_weights`` puts every entry of every critic parameter (biases and
  batchnorm's scale and shift too) into [-c, c] and changes nothing else;
- the critic's loss -E[D(x)] + E[D(G(z))] and G's loss -E[D(G(z))] have the
  gradients the step computes, through whole networks (finite differences, float64);
- a step is n_critic critic updates, each followed by clipping, then one G update;
- RMSprop, as WGAN uses it (no momentum), is PyTorch's;
- a run logs the Wasserstein estimate, draws it, and resumes exactly;
- a clip value <= 0 or n_critic < 1 is one line, exit 2, and nothing written.
"""
import csv
import os
import subprocess
import sys

import numpy as np
import pytest

from minigan import Parameter, RMSprop, clip_weights
from minigan.gan import networks
from minigan.gan.objectives import Wasserstein
from minigan.models import wgan
from minigan.nn.gradcheck import numerical_gradient, rel_error
from minigan.nn.layers import BatchNorm2d
from minigan.training.cli import config_from_args, main, train_parser
from minigan.training.config import ConfigError, validate
from minigan.training.run import Run, RunError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- the box ---------------------------------------------------------------------------------------------


def critic_with_large_weights(rng, dtype=np.float64):
    """A DCGAN-style critic (convolutions, batchnorm, a dense layer) whose every parameter is N(0, 1)."""
    D = networks.dcgan_discriminator(base=2, hidden=3, dtype=dtype, rng=rng)
    for p in D.parameters():
        p.data[...] = rng.normal(0, 1, p.data.shape)
        p.grad[...] = rng.normal(0, 1, p.data.shape)
    return D


def test_clip_weights_puts_every_entry_in_the_box_and_changes_nothing_else(rng):
    D = critic_with_large_weights(rng)
    c = 0.3
    data = {name: p.data.copy() for name, p in D.named_parameters()}
    grads = {name: p.grad.copy() for name, p in D.named_parameters()}
    bn = next(m for m in D.modules() if isinstance(m, BatchNorm2d))
    running = bn.running_mean.copy(), bn.running_var.copy()

    clip_weights(D.parameters(), c)

    for name, p in D.named_parameters():
        before = data[name]
        assert (np.abs(before) > c).any(), f"{name}: nothing to clip, the test would prove nothing"
        inside = np.abs(before) <= c
        assert np.array_equal(p.data[inside], before[inside]), f"{name}: an entry inside the box moved"
        assert np.array_equal(p.data[~inside], c * np.sign(before[~inside])), f"{name}: not clamped to the edge"
        assert np.array_equal(p.grad, grads[name]), f"{name}: the gradient changed"
    # every kind of parameter is clipped: weights and biases of Conv2d and Dense, batchnorm's scale and shift
    kinds = {(type(m).__name__, n) for m in D.modules() for n, _ in m.named_parameters()}
    assert {("Conv2d", "weight"), ("Conv2d", "bias"), ("Dense", "weight"), ("Dense", "bias"),
            ("BatchNorm2d", "weight"), ("BatchNorm2d", "bias")} <= kinds
    assert all(np.abs(p.data).max() <= c for p in D.parameters())
    assert np.array_equal(bn.running_mean, running[0]) and np.array_equal(bn.running_var, running[1])


@pytest.mark.parametrize("c", [0.0, -0.01, float("nan")])
def test_clip_weights_refuses_a_box_that_is_not_one(c):
    with pytest.raises(ValueError, match="c must be > 0"):
        clip_weights([Parameter(np.ones(3))], c)


# ---- the gradients, through whole networks ----------------------------------------------------------------


def tiny_mlp(rng):
    G = networks.mlp_generator(z_dim=3, hidden=(5, 4), out_dim=16, image_shape=(1, 4, 4), dtype=np.float64, rng=rng)
    D = networks.mlp_discriminator(in_dim=16, hidden=(6, 5), dtype=np.float64, rng=rng)
    return G, D, 3, (1, 4, 4)


def tiny_dcgan(rng):
    """The paper's kind of critic: convolutions and batchnorm; weights large enough to be far from linear."""
    G = networks.dcgan_generator(z_dim=3, base=2, dtype=np.float64, rng=rng)
    D = networks.dcgan_discriminator(base=2, hidden=3, dtype=np.float64, rng=rng)
    for net in (G, D):
        for p in net.parameters():
            p.data[...] = rng.normal(0, 0.5, p.data.shape)
    return G, D, 3, (1, 28, 28)


def make_step(builder, clip=10.0, k_lr=0.1):
    rng = np.random.default_rng(0)
    G, D, z_dim, shape = builder(rng)
    gan = wgan.WGAN.around(G, D, z_dim=z_dim, optimizer="sgd", lr=k_lr, clip=clip, d_steps=3)
    z = rng.standard_normal((4, z_dim))
    real = rng.uniform(-1, 1, (4,) + shape)
    return gan, z, real


def assert_matches(analytic, numeric):
    """Relative error under 1e-6, or both zero (a bias just before batchnorm has no effect on the loss)."""
    if max(np.abs(analytic).max(), np.abs(numeric).max()) < 1e-8:
        return
    assert rel_error(analytic, numeric) < 1e-6


@pytest.mark.parametrize("builder", [tiny_mlp, tiny_dcgan], ids=["mlp", "dcgan"])
def test_the_critic_gradient_matches_finite_differences(builder):
    """d/dθ_D of -E[D(x)] + E[D(G(z))], as GANModel.d_gradients computes it, against centred differences."""
    gan, z, real = make_step(builder)
    fake = gan.G(z)
    stats = gan.d_gradients(real, fake)
    assert stats["d_loss"] == pytest.approx(-stats["wasserstein"])   # the critic's loss is minus the estimate
    analytic = [p.grad.copy() for p in gan.D.parameters()]

    def critic_loss():
        return gan.d_gradients(real, fake)["d_loss"]

    for p, g in zip(gan.D.parameters(), analytic):
        assert_matches(g, numerical_gradient(critic_loss, p.data))


@pytest.mark.parametrize("builder", [tiny_mlp, tiny_dcgan], ids=["mlp", "dcgan"])
def test_the_generator_gradient_flows_through_the_critic(builder):
    """d/dθ_G of -E[D(G(z))]: the critic's input gradient carried back into G, against centred differences."""
    gan, z, real = make_step(builder)
    gan.g_gradients(gan.G(z))
    analytic = [p.grad.copy() for p in gan.G.parameters()]

    def g_loss():
        return gan.g_gradients(gan.G(z))["g_loss"]

    assert all(np.abs(g).max() > 0 for g, p in zip(analytic, gan.G.parameters()) if p.data.ndim > 1)
    for p, g in zip(gan.G.parameters(), analytic):
        assert_matches(g, numerical_gradient(g_loss, p.data))


# ---- the loop ----------------------------------------------------------------------------------------------


def spy_on(gan):
    """Record the critic's largest |weight| before each critic loss, and after each update (before clipping)."""
    gan.at_loss, gan.before_clip = [], []

    def largest():
        return max(np.abs(p.data).max() for p in gan.D.parameters())

    d_gradients, d_update = gan.d_gradients, gan.opt_D.step

    def spied_d_gradients(*args):
        gan.at_loss.append(largest())
        return d_gradients(*args)

    def spied_update():
        d_update()
        gan.before_clip.append(largest())
    gan.d_gradients, gan.opt_D.step = spied_d_gradients, spied_update
    return gan


def test_a_step_is_n_critic_clipped_critic_updates_then_one_generator_update():
    gan, z, real = make_step(tiny_mlp, clip=0.05, k_lr=1.0)
    gan = spy_on(gan)
    clip_weights(gan.D.parameters(), 0.05)
    rng = np.random.default_rng(2)
    batches = [(rng.uniform(-1, 1, (4, 1, 4, 4)), None) for _ in range(3)]
    stats = gan.step(batches)
    assert gan.opt_D.t == 3 and gan.opt_G.t == 1                      # n_critic = 3 critic updates, 1 G update
    assert len(gan.before_clip) == len(gan.at_loss) == 3
    assert all(m > 0.05 for m in gan.before_clip)                   # each update leaves the box ...
    assert all(m <= 0.05 for m in gan.at_loss)                      # ... and each loss is taken inside it
    assert all(np.abs(p.data).max() <= 0.05 for p in gan.D.parameters())   # G stepped against a clipped critic
    assert set(stats) == {"d_loss", "wasserstein", "g_loss"}


def test_the_task_starts_its_critic_inside_the_box():
    model = wgan.WGAN(wgan.Config(arch="mlp", out="unused", clip=0.02))
    assert model.cfg.clip == 0.02 and isinstance(model.objective, Wasserstein)
    assert all(np.abs(p.data).max() <= 0.02 for p in model.D.parameters())
    assert isinstance(model.opt_D, RMSprop) and model.opt_D.lr == 5e-5 and model.batches_per_step == 5


def test_rmsprop_as_wgan_uses_it_is_pytorchs():
    """alpha 0.99, eps 1e-8, no momentum: five steps of minigan's RMSprop and torch.optim.RMSprop agree."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    theta = rng.standard_normal((3, 4))
    ours = Parameter(theta.copy())
    theirs = torch.nn.Parameter(torch.from_numpy(theta.copy()))
    opt, topt = RMSprop([ours], lr=5e-5), torch.optim.RMSprop([theirs], lr=5e-5)
    assert (opt.alpha, opt.eps, opt.momentum) == (topt.defaults["alpha"], topt.defaults["eps"],
                                                   topt.defaults["momentum"])
    for _ in range(5):
        g = rng.standard_normal(theta.shape) * 1e-3
        ours.grad[...] = g
        theirs.grad = torch.from_numpy(g.copy())
        opt.step()
        topt.step()
    assert not np.allclose(ours.data, theta)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-15)


# ---- the run ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def images():
    return np.tanh(np.random.default_rng(0).standard_normal((256, 1, 28, 28))).astype(np.float32)


def config(out, **kw):
    base = dict(arch="mlp", epochs=3, batch_size=16, d_steps=2, sample_every=100, out=str(out), progress=False,
                evaluate=False, lr=1e-3)
    base.update(kw)
    return wgan.Config(**base)


def weights(run):
    return {f"{name}/{k}": v for name, m in run.model.modules().items() for k, v in m.state_dict().items()}


def test_a_run_logs_and_draws_the_wasserstein_estimate_and_resumes_exactly(tmp_path, images):
    straight = Run(config(tmp_path / "a", max_steps=10), images=images)         # 8 steps of 2 x 16 per epoch
    straight.train()
    first = Run(config(tmp_path / "b", max_steps=5), images=images)
    assert first.train() == "stopped"
    second = Run(config(tmp_path / "b", max_steps=10), resume=True, images=images)
    second.train()

    assert second.step == straight.step == 10
    a, b = weights(straight), weights(second)
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    for name in ("opt_G", "opt_D"):                                   # RMSprop's running averages too
        sa, sb = straight.model.optimizers()[name].state_dict(), second.model.optimizers()[name].state_dict()
        assert sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)
    assert all(np.abs(p.data).max() <= 0.01 for p in second.model.D.parameters())
    with open(tmp_path / "b" / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == list(range(1, 11))
    assert all(float(r["wasserstein"]) == pytest.approx(-float(r["d_loss"]), abs=2e-5) for r in rows)
    assert os.path.getsize(tmp_path / "b" / "curves.png") > 0
    assert "Wasserstein estimate E[D(x)] - E[D(G(z))]" in second.model.panels


def test_the_dcgan_bodies_take_a_step(tmp_path, images):
    r = Run(config(tmp_path, arch="dcgan", d_hidden=8, max_steps=1), images=images[:64])
    before = [p.data.copy() for p in r.model.G.parameters()]
    assert r.train() == "stopped"
    assert any(not np.array_equal(b, p.data) for b, p in zip(before, r.model.G.parameters()))
    assert all(np.abs(p.data).max() <= 0.01 for p in r.model.D.parameters())


def test_resume_with_another_clip_needs_allow_changes(tmp_path, images):
    Run(config(tmp_path, max_steps=1), images=images).train()
    with pytest.raises(RunError, match=r"--clip 0.01 -> 0.05; pass --allow-changes"):
        Run(config(tmp_path, max_steps=2, clip=0.05), resume=True, images=images)
    r = Run(config(tmp_path, max_steps=2, clip=0.05), resume=True, allow_changes=True, images=images)
    r.train()
    assert r.model.cfg.clip == 0.05


# ---- the flags ---------------------------------------------------------------------------------------------------

BAD = [  # (flags, the flag the message must name, words of the rule)
    (["--clip", "-0.01"], "--clip -0.01", "number in (0, inf)"),
    (["--clip", "0"], "--clip 0.0", "number in (0, inf)"),
    (["--clip", "inf"], "--clip inf", "number in (0, inf)"),
    (["--d-steps", "0"], "--d-steps 0", "integer >= 1"),
    (["--arch", "mlp", "--d-hidden", "128"], "--d-hidden 128", "applies with --arch dcgan (the MLP critic's widths"),
]


@pytest.mark.parametrize("flags, named, rule", BAD, ids=[" ".join(b[0]) for b in BAD])
def test_a_bad_value_is_one_line_and_exit_2_with_nothing_written(tmp_path, capsys, flags, named, rule):
    out = tmp_path / "run"
    status = main("wgan", flags + ["--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and named in err and rule in err, err
    assert not out.exists()


def test_a_negative_clip_from_the_shell_is_one_line_exit_2_and_leaves_a_run_untouched(tmp_path, images):
    Run(config(tmp_path, max_steps=1), images=images).train()
    before = {n: (tmp_path / n).read_bytes() for n in ("checkpoint.npz", "log.csv", "config.json")}
    for extra in ([], ["--resume"], ["--overwrite"]):
        done = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "train_wgan.py"), "--clip", "-0.01",
                               "--out", str(tmp_path), *extra], capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--clip -0.01" in done.stderr, done.stderr
    assert {n: (tmp_path / n).read_bytes() for n in before} == before


def test_the_anchor_is_the_papers_settings_and_n_critic_is_d_steps():
    parser = train_parser("wgan")
    anchor = config_from_args("wgan", parser.parse_args(["--anchor"]))
    assert (anchor.optimizer, anchor.lr, anchor.clip, anchor.d_steps) == ("rmsprop", 5e-5, 0.01, 5)
    assert config_from_args("wgan", parser.parse_args(["--d-steps", "3"])).d_steps == 3
    assert "--d-steps D_STEPS" in parser.format_help() and "--n-critic" not in parser.format_help()
    tuned = config_from_args("wgan", parser.parse_args([]))
    assert all(getattr(tuned, k) == v for k, v in wgan.WGAN.tuned.items())


def test_each_arch_starts_from_its_own_tuned_settings_and_the_mlp_critic_has_no_hidden_width():
    """--d-hidden widens the DCGAN critic; the MLP critic's widths are fixed, so its example leaves it at 0."""
    parser = train_parser("wgan")
    mlp = config_from_args("wgan", parser.parse_args(["--arch", "mlp"]))
    assert mlp.d_hidden == 0 and (mlp.lr, mlp.lr_g, mlp.ema) == (2e-4, 6e-4, 0.999)
    assert config_from_args("wgan", parser.parse_args([])).d_hidden == 256
    with pytest.raises(ConfigError, match="--d-hidden 64: applies with --arch dcgan"):
        validate(wgan.Config(arch="mlp", d_hidden=64, out="unused"))
