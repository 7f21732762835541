"""The VAE: the reparameterisation's backward, the two terms of the negative ELBO, the whole ELBO's gradient, a run.

What a learner relies on: z = μ + σ ε passes the right gradients to μ and
log σ² (finite differences, ε held fixed); the Bernoulli reconstruction and
the closed-form KL are what their definitions say (a direct formula, a
numerical integral, a Monte-Carlo average) and so are their gradients; the
gradient of the whole negative ELBO reaches every encoder and decoder
parameter correctly; a short run fills its folder, resumes exactly, draws the
2-D latent manifold, and ``examples/generate.py`` samples from it.
"""
import importlib.util
import os

import numpy as np
import pytest
from scipy import integrate, stats

from minigan import Reparameterize, ShapeError
from minigan.models import vae
from minigan.nn.gradcheck import numerical_gradient, rel_error
from minigan.nn.losses import BernoulliNLL, GaussianKL
from minigan.training.run import Run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- the reparameterisation -----------------------------------------------------------------------


def test_reparameterize_is_mu_plus_sigma_eps(rng):
    mu, log_var, eps = (rng.standard_normal((5, 3)) for _ in range(3))
    z = Reparameterize()((mu, log_var, eps))
    np.testing.assert_allclose(z, mu + np.sqrt(np.exp(log_var)) * eps, rtol=1e-12)


def test_reparameterize_backward_matches_finite_differences(rng):
    """dL/dμ = dL/dz and dL/dlog σ² = dL/dz · ε σ / 2, with ε held fixed; no gradient for ε."""
    mu, log_var, eps = (rng.standard_normal((4, 3)) for _ in range(3))
    dz = rng.standard_normal((4, 3))
    layer = Reparameterize()
    layer((mu, log_var, eps))
    dmu, dlog_var, deps = layer.backward(dz)
    assert deps is None

    def loss():
        return np.sum(layer((mu, log_var, eps)) * dz)

    assert rel_error(dmu, numerical_gradient(loss, mu)) < 1e-8
    assert rel_error(dlog_var, numerical_gradient(loss, log_var)) < 1e-8


def test_reparameterize_refuses_mismatched_inputs(rng):
    layer = Reparameterize()
    with pytest.raises(ShapeError, match=r"Reparameterize\(\).*\(N, z_dim\).*\[\(4, 3\), \(4, 3\), \(4, 2\)\]"):
        layer((np.zeros((4, 3)), np.zeros((4, 3)), np.zeros((4, 2))))
    with pytest.raises(TypeError, match="tuple of 3"):
        layer((np.zeros((4, 3)), np.zeros((4, 3))))


def test_reparameterized_draws_have_the_encoders_distribution(rng):
    """z = μ + σ ε with ε ~ N(0, 1) is N(μ, σ²): mean and variance of 200,000 draws."""
    mu, log_var = np.array([[1.5, -0.5]]), np.array([[np.log(0.25), np.log(4.0)]])
    eps = rng.standard_normal((200_000, 2))
    z = Reparameterize()((np.repeat(mu, len(eps), 0), np.repeat(log_var, len(eps), 0), eps))
    np.testing.assert_allclose(z.mean(0), mu[0], atol=0.02)
    np.testing.assert_allclose(z.var(0), np.exp(log_var[0]), rtol=0.02)


# ---- the two terms ----------------------------------------------------------------------------------


def test_bernoulli_nll_is_summed_bce_averaged_over_the_batch(rng):
    z, t = rng.standard_normal((4, 6)) * 3, rng.uniform(0, 1, (4, 6))
    s = 1 / (1 + np.exp(-z))
    expected = -(t * np.log(s) + (1 - t) * np.log(1 - s)).sum(axis=1).mean()
    loss, grad = BernoulliNLL()(z, t)
    assert float(loss) == pytest.approx(expected, rel=1e-12)
    assert rel_error(grad, numerical_gradient(lambda: BernoulliNLL()(z, t)[0], z)) < 1e-8
    np.testing.assert_allclose(grad, (s - t) / 4, rtol=1e-12)


def test_bernoulli_nll_is_finite_for_huge_logits():
    z = np.array([[1000.0, -1000.0]], dtype=np.float32)
    loss, grad = BernoulliNLL()(z, np.array([[0.0, 1.0]], dtype=np.float32))
    assert float(loss) == pytest.approx(2000.0) and np.isfinite(grad).all()


def test_kl_formula_matches_a_numerical_integral(rng):
    """½ Σ (μ² + σ² - 1 - log σ²) against ∫ q(z) log(q(z) / p(z)) dz, dimension by dimension."""
    mu, log_var = rng.standard_normal((2, 3)), rng.uniform(-2, 1, (2, 3))
    kl, _ = GaussianKL()(mu, log_var)
    total = 0.0
    for m, lv in zip(mu.ravel(), log_var.ravel()):
        q = stats.norm(m, np.exp(lv / 2))
        total += integrate.quad(lambda z, q=q: q.pdf(z) * (q.logpdf(z) - stats.norm.logpdf(z)), m - 20, m + 20,
                                epsabs=1e-12, epsrel=1e-12, limit=200)[0]
    assert float(kl) == pytest.approx(total / len(mu), rel=1e-8)


def test_kl_formula_matches_a_monte_carlo_average(rng):
    """KL = E_q[log q(z) - log p(z)], estimated from reparameterised draws (a few standard errors apart)."""
    mu, log_var = np.array([[0.8, -1.2, 0.0]]), np.array([[0.5, -1.0, -2.0]])
    eps = rng.standard_normal((400_000, 3))
    sigma = np.exp(log_var / 2)
    z = mu + sigma * eps
    log_ratio = (stats.norm.logpdf(z, mu, sigma) - stats.norm.logpdf(z)).sum(axis=1)
    kl, _ = GaussianKL()(mu, log_var)
    assert abs(float(kl) - log_ratio.mean()) < 4 * log_ratio.std() / np.sqrt(len(z))


def test_kl_gradients_are_mu_and_half_sigma_squared_minus_one(rng):
    mu, log_var = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    _, (dmu, dlog_var) = GaussianKL()(mu, log_var)
    np.testing.assert_allclose(dmu, mu / 3, rtol=1e-12)
    np.testing.assert_allclose(dlog_var, (np.exp(log_var) - 1) / 2 / 3, rtol=1e-12)
    assert rel_error(dmu, numerical_gradient(lambda: GaussianKL()(mu, log_var)[0], mu)) < 1e-8
    assert rel_error(dlog_var, numerical_gradient(lambda: GaussianKL()(mu, log_var)[0], log_var)) < 1e-8


# ---- the whole negative ELBO ---------------------------------------------------------------------------


def test_negative_elbo_gradient_reaches_every_parameter(rng):
    """Finite differences in float64 of the whole negative ELBO, ε held fixed, for every encoder and decoder array."""
    enc = vae.encoder(in_dim=12, hidden=5, z_dim=3, dtype=np.float64, rng=rng)
    dec = vae.decoder(z_dim=3, hidden=5, out_dim=12, dtype=np.float64, rng=rng)
    for p in enc.parameters() + dec.parameters():  # PyTorch's init is small for nets this narrow
        p.data[...] = rng.normal(0, 0.6, p.data.shape)
    reparam = Reparameterize()
    x, eps = rng.uniform(0, 1, (4, 12)), rng.standard_normal((4, 3))
    stats_ = vae.negative_elbo(enc, dec, reparam, x, eps)
    assert float(stats_["loss"]) == pytest.approx(float(stats_["reconstruction"] + stats_["kl"]))
    params = enc.parameters() + dec.parameters()
    assert len(params) == 10  # fc1, μ head, log σ² head, fc3, fc4: a weight and a bias each
    analytic = [p.grad.copy() for p in params]

    def loss():
        return vae.negative_elbo(enc, dec, reparam, x, eps, backward=False)["loss"]

    for p, g in zip(params, analytic):
        assert np.abs(g).max() > 0
        assert rel_error(g, numerical_gradient(loss, p.data)) < 1e-6


# ---- the task in a run ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def images():
    """512 'digits' in [-1, 1] that a VAE can learn a little of in a few steps: blurry bars."""
    rng = np.random.default_rng(0)
    x = -np.ones((512, 1, 28, 28), dtype=np.float32)
    for i, c in enumerate(rng.integers(4, 24, 512)):
        x[i, 0, 4:24, c:c + 4] = 1
    return x


def config(tmp_path, **kw):
    base = dict(epochs=2, batch_size=32, hidden=64, sample_every=3, out=str(tmp_path), progress=False, evaluate=False)
    base.update(kw)
    return vae.Config(**base)


def run_of(cfg, images, **kw):
    r = Run(cfg, images=images, **kw)
    r.model.test_images = images[:100]   # no MNIST needed: the pictures and the metric use these
    return r


def weights(run):
    return {f"{name}/{k}": v for name, m in run.model.modules().items() for k, v in m.state_dict().items()}


def test_a_short_run_learns_and_fills_the_run_folder(tmp_path, images):
    r = run_of(config(tmp_path, max_steps=24, epochs=3, lr=3e-3), images[:256])
    before = r.model.test_elbo(100)
    losses = []
    assert r.train(callback=lambda run, s: losses.append(float(s["loss"]))) == "stopped"
    after = r.model.test_elbo(100)
    assert after["neg_elbo"] < before["neg_elbo"] - 50 and np.mean(losses[-4:]) < np.mean(losses[:4]) - 50
    assert after["neg_elbo"] == pytest.approx(after["reconstruction"] + after["kl"])
    for name in ("checkpoint.npz", "log.csv", "curves.png", "progress.gif", "samples.png", "reconstructions.png",
                 "samples/step_000000.png", "samples/final.png"):
        assert os.path.getsize(tmp_path / name) > 0, name
    assert not (tmp_path / "manifold.png").exists()            # z_dim 20: no 2-D manifold to draw
    header = (tmp_path / "log.csv").read_text().splitlines()[0]
    assert header == "step,epoch,loss,reconstruction,kl,time"
    pictures = r.model.pictures()
    pairs, nrow = pictures["reconstructions"]
    assert pairs.shape == (128, 1, 28, 28) and nrow == 16
    np.testing.assert_array_equal(pairs[0::2], images[:64])     # inputs, each beside its reconstruction
    assert pairs.min() >= -1 and pairs.max() <= 1
    params = r.model.encoder.parameters() + r.model.decoder.parameters()
    arrays = [p.data for p in params] + [p.grad for p in params]
    arrays += [b for bufs in r.model.opt.state.values() for b in bufs]
    assert {a.dtype for a in arrays} == {np.dtype(np.float32)} and r.model.grid()[0].dtype == np.float32


def test_the_test_elbo_is_the_one_draw_negative_elbo_of_the_test_images(tmp_path, images):
    """Batched and seeded: the same number as one batch through negative_elbo with the run's test ε."""
    r = run_of(config(tmp_path), images[:128])
    report = r.model.test_elbo(100, batch_size=30)
    x = vae.to_unit(r.model.test_images[:100])
    whole = vae.negative_elbo(r.model.encoder, r.model.decoder, r.model.reparameterize, x, r.model.test_noise(100),
                              backward=False)
    assert report["neg_elbo"] == pytest.approx(float(whole["loss"]), rel=1e-5)
    assert report["kl"] == pytest.approx(float(whole["kl"]), rel=1e-5)
    assert r.model.test_elbo(100, batch_size=30) == report                  # the same ε every time
    assert r.model.test_elbo(100, seed=1)["neg_elbo"] != report["neg_elbo"]  # another seed, another ε


def test_evaluate_adds_the_gans_sample_metrics_of_prior_samples(tmp_path, images, monkeypatch):
    """The report sets the VAE beside the GANs: minigan.metrics of n samples from p(z), seeded like a GAN's."""
    from minigan import metrics

    seen = []
    fake = dict(n=100, fid=1.0, score=2.0, histogram=[0.1] * 10, digits_present=10, kl_uniform=0.0)
    monkeypatch.setattr(metrics, "evaluate_samples", lambda samples, **kw: seen.append(samples) or fake)
    r = run_of(config(tmp_path), images[:128])
    report = r.model.evaluate(100)
    assert report["samples"] == fake and report["neg_elbo"] == r.model.test_elbo(100)["neg_elbo"]
    z = np.random.default_rng([0, 4, 0]).standard_normal((100, 20)).astype(np.float32)
    np.testing.assert_allclose(seen[0], r.model.sample(z), atol=1e-6)
    assert "test negative ELBO" in r.model.format_report(report) and "FID 1.00" in r.model.format_report(report)


def test_resume_is_exact(tmp_path, images):
    """N steps + resume + N steps == 2N steps, bit for bit (weights, Adam, the ε generator), across an epoch end."""
    straight = run_of(config(tmp_path / "a", max_steps=6, epochs=3), images[:128])   # 4 steps per epoch
    straight.train()
    first = run_of(config(tmp_path / "b", max_steps=3, epochs=3), images[:128])
    assert first.train() == "stopped"
    second = run_of(config(tmp_path / "b", max_steps=6, epochs=3), images[:128], resume=True)
    second.train()
    a, b = weights(straight), weights(second)
    assert a.keys() == b.keys() and len(a) == 10
    assert all(np.array_equal(a[k], b[k]) for k in a)
    sa, sb = straight.model.opt.state_dict(), second.model.opt.state_dict()
    assert sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)
    assert (tmp_path / "a" / "log.csv").read_text().splitlines()[-1].split(",")[:5] == \
           (tmp_path / "b" / "log.csv").read_text().splitlines()[-1].split(",")[:5]


@pytest.fixture(scope="module")
def run_2d(tmp_path_factory, images):
    """A 2-step run of a VAE with a 2-D latent."""
    out = tmp_path_factory.mktemp("run_2d")
    r = run_of(config(out, z_dim=2, max_steps=2, epochs=1), images[:64])
    r.train()
    return r, out


def test_z_dim_2_draws_the_latent_manifold_on_the_priors_quantiles(run_2d):
    r, out = run_2d
    assert os.path.getsize(out / "manifold.png") > 0
    grid, nrow = r.model.pictures()["manifold"]
    assert grid.shape == (400, 1, 28, 28) and nrow == 20
    q = stats.norm.ppf((np.arange(20) + 0.5) / 20)
    for row, col in [(0, 0), (0, 19), (19, 0), (7, 12)]:   # z_1 grows to the right, z_2 upwards
        z = np.array([[q[col], q[19 - row]]], dtype=np.float32)
        np.testing.assert_allclose(grid[20 * row + col], r.model.sample(z)[0], atol=1e-6)


def test_generate_draws_from_the_prior_of_a_vae_run(run_2d, tmp_path):
    r, out = run_2d
    spec = importlib.util.spec_from_file_location("generate", os.path.join(ROOT, "examples", "generate.py"))
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    args = [str(out), "--n", "5", "--out", str(tmp_path / "a.png"), "--npy", str(tmp_path / "a.npy")]
    assert generate.main(args) == 0
    samples = np.load(tmp_path / "a.npy")
    z = np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32)
    np.testing.assert_allclose(samples, r.model.sample(z), atol=1e-6)
