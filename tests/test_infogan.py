"""InfoGAN: its prior, its information loss, its gradients through D's two heads, its metric and its run.

The information term's gradient is checked on its own (finite differences in
float64, for Q's output), then inside the exact functions the training loop
uses: Q's and D's gradient through the shared body (``d_gradients``) and G's
gradient through both heads (``g_gradients``).
"""
import importlib.util
import math
import os

import numpy as np
import pytest

from minigan.gan.priors import InfoGANPrior, PriorError
from minigan.metrics import matched_accuracy
from minigan.models import infogan
from minigan.nn.gradcheck import numerical_gradient, rel_error
from minigan.nn.losses import GaussianNLL
from minigan.training.cli import main
from minigan.training.run import Run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOL = 1e-6


def assert_matches(analytic, numeric):
    """Relative error under 1e-6, or both zero (a bias just before batchnorm has no effect on the loss)."""
    if max(np.abs(analytic).max(), np.abs(numeric).max()) < 1e-8:
        return
    assert rel_error(analytic, numeric) < TOL


def check_parameters(loss, params, rng, entries=12, h=1e-5):
    """Each parameter's .grad (set by one call of ``loss``) against centred differences at a few of its entries.

    A few entries, not all: a 28x28 D's dense weights have thousands, and a test must take a second.
    """
    loss()
    analytic = [p.grad.copy() for p in params]
    for p, g in zip(params, analytic):
        flat = p.data.reshape(-1)
        idx = rng.choice(flat.size, min(entries, flat.size), replace=False)
        numeric = np.empty(len(idx))
        for n, i in enumerate(idx):
            old = flat[i]
            flat[i] = old + h
            plus = float(loss())
            flat[i] = old - h
            minus = float(loss())
            flat[i] = old
            numeric[n] = (plus - minus) / (2 * h)
        assert_matches(g.reshape(-1)[idx], numeric)
    return analytic


# ---- the prior -------------------------------------------------------------------------------------


def test_the_prior_draws_noise_a_categorical_and_continuous_codes():
    prior = InfoGANPrior(z_dim=5)
    z, c, u = prior.sample(2000, np.random.default_rng(0))
    assert z.shape == (2000, 5) and z.dtype == np.float32
    assert c.shape == (2000,) and c.dtype.kind == "i" and set(c.tolist()) == set(range(10))
    assert u.shape == (2000, 2) and u.dtype == np.float32 and -1 <= u.min() and u.max() <= 1
    assert abs(u.mean()) < 0.05 and abs(u.var() - 1 / 3) < 0.02                    # U(-1, 1)
    assert np.bincount(c, minlength=10).min() > 150                                 # every value, about 1/10
    assert not prior.conditional                                                    # D sees the image alone


def test_a_fixed_code_changes_c_only():
    prior = InfoGANPrior(z_dim=5)
    z, c, u = prior.sample(50, np.random.default_rng(1))
    z3, c3, u3 = prior.sample(50, np.random.default_rng(1), code=3)
    assert (c3 == 3).all() and not (c == 3).all()
    np.testing.assert_array_equal(z3, z)
    np.testing.assert_array_equal(u3, u)


@pytest.mark.parametrize("code", [10, -1, 2.5, True, "3"])
def test_a_code_outside_the_categorical_range_is_refused(code):
    with pytest.raises(PriorError, match=r"--code .*integer from 0 to 9"):
        InfoGANPrior(z_dim=5).sample(4, np.random.default_rng(0), code=code)


def test_a_part_infogan_is_not_fed_is_refused():
    with pytest.raises(PriorError, match="--digit applies to a model fed a digit"):
        InfoGANPrior(z_dim=5).sample(4, np.random.default_rng(0), digit=3)


@pytest.mark.parametrize("j", [0, 1])
def test_a_sweep_has_one_row_per_code_value_and_one_column_per_step(j):
    prior = InfoGANPrior(z_dim=5)
    (z, c, u), nrow = prior.sweep(j, np.random.default_rng(0))
    assert nrow == 10 and len(z) == len(c) == len(u) == 100
    assert (z == z[0]).all()                                                        # one z for the whole picture
    np.testing.assert_array_equal(c.reshape(10, 10), np.arange(10)[:, None].repeat(10, axis=1))  # row = c
    for row in u.reshape(10, 10, 2):
        np.testing.assert_allclose(row[:, j], np.linspace(-2, 2, 10))              # column = u_j from -2 to 2
        assert (row[:, 1 - j] == 0).all()
    (z0, c0, u0), _ = prior.grid(np.random.default_rng(0))
    np.testing.assert_array_equal(u0, prior.sweep(0, np.random.default_rng(0))[0][2])


def test_the_categories_picture_shares_z_and_u_down_each_column():
    (z, c, u), nrow = InfoGANPrior(z_dim=5).categories_grid(np.random.default_rng(0))
    assert nrow == 10
    assert (z.reshape(10, 10, 5) == z[:10]).all() and (u.reshape(10, 10, 2) == u[:10]).all()
    assert (c.reshape(10, 10) == np.arange(10)[:, None]).all()


# ---- the information loss ----------------------------------------------------------------------------


def test_gaussian_nll_is_the_log_density_and_its_gradient_matches(rng):
    mean, target = rng.standard_normal((6, 3)), rng.uniform(-1, 1, (6, 3))
    for sigma in (1.0, 0.5):
        loss, grad = GaussianNLL(sigma)(mean, target)
        density = np.exp(-(target - mean) ** 2 / (2 * sigma ** 2)) / (sigma * math.sqrt(2 * math.pi))
        assert loss == pytest.approx(-np.log(density).sum(axis=1).mean(), rel=1e-12)
        assert rel_error(grad, numerical_gradient(lambda s=sigma: GaussianNLL(s)(mean, target)[0], mean)) < TOL
    with pytest.raises(ValueError, match="sigma must be > 0"):
        GaussianNLL(0.0)


def test_info_loss_gradient_matches_finite_differences(rng):
    info = infogan.InfoLoss(lambda_cat=0.7, lambda_cont=0.3)
    q = rng.standard_normal((8, 12))
    codes = (rng.integers(0, 10, 8), rng.uniform(-1, 1, (8, 2)))
    loss, dq, stats = info(q, codes)
    assert rel_error(dq, numerical_gradient(lambda: info(q, codes)[0], q)) < TOL
    log_softmax = q[:, :10] - np.log(np.exp(q[:, :10]).sum(axis=1, keepdims=True))
    ce = -log_softmax[np.arange(8), codes[0]].mean()
    assert stats["mi_cat"] == pytest.approx(math.log(10) - ce)                   # the bound log K - CE
    assert loss == pytest.approx(0.7 * ce + 0.3 * stats["nll_cont"])


def test_info_loss_is_least_when_q_reads_the_codes():
    """Q's logits peaked at c and means equal to u: the bound approaches log 10, Q's accuracy is 1."""
    c, u = np.arange(10), np.linspace(-1, 1, 20).reshape(10, 2)
    q = np.concatenate([20 * np.eye(10), u], axis=1)
    loss, _, stats = infogan.InfoLoss()(q, (c, u))
    assert stats["q_acc"] == 1 and stats["mi_cat"] == pytest.approx(math.log(10), abs=1e-6)
    assert stats["nll_cont"] == pytest.approx(math.log(2 * math.pi))             # 2 codes x log(sqrt(2 pi))


# ---- the composed check: G's and Q's gradients through D's shared body ----------------------------------


def tiny_step(rng):
    """Tiny G and D in float64. Seed 1 keeps every ReLU / LeakyReLU input further than h from its kink."""
    G = infogan.generator(z_dim=3, hidden=5, base=2, dtype=np.float64, rng=rng)
    D = infogan.discriminator(hidden=6, q_hidden=4, base=2, dtype=np.float64, rng=rng)
    for net in (G, D):  # DCGAN init's N(0, 0.02) makes tiny nets almost linear; use larger weights
        for p in net.parameters():
            p.data[...] = rng.normal(0, 0.5, p.data.shape)
    gan = infogan.InfoGAN.around(G, D, z_dim=3, label_smoothing=0.1, lambda_cat=1.0, lambda_cont=0.5)
    latent = gan.prior.sample(4, rng, dtype=np.float64)
    real = rng.uniform(-1, 1, (4, 1, 28, 28))
    return gan, latent, real


def test_d_and_q_gradients_through_the_shared_body_match_finite_differences():
    """d_gradients sets dθ_D of L_D + λ L_I: D's head, Q's head and the body both feed."""
    gan, latent, real = tiny_step(np.random.default_rng(1))
    fake, codes = gan.G(latent), latent[1:]          # (c, u): what Q must read back

    def total():
        stats = gan.d_gradients(real, fake, codes)
        return stats["d_loss"] + stats["q_loss"]

    check_parameters(total, gan.D.parameters(), np.random.default_rng(2))
    q_head = gan.D[-1].heads[1]
    total()
    assert all(np.abs(p.grad).max() > 0 for p in q_head.parameters() if p.data.ndim > 1), "Q got no gradient"


def test_g_gradient_flows_through_both_heads_and_matches_finite_differences():
    gan, latent, real = tiny_step(np.random.default_rng(1))
    codes = latent[1:]

    def total():
        stats = gan.g_gradients(gan.G(latent), codes)
        return stats["g_loss"] + stats["g_info_loss"]

    params = gan.G.parameters()
    analytic = check_parameters(total, params, np.random.default_rng(3))
    assert all(np.abs(g).max() > 0 for g, p in zip(analytic, params) if p.data.ndim > 1), "a G weight got no gradient"
    # the info term moves G: with λ = 0 for both codes, G's gradient changes
    gan.info.lambda_cat = gan.info.lambda_cont = 0.0
    total()
    assert all(rel_error(g, p.grad) > 1e-3 for g, p in zip(analytic, params) if p.data.ndim > 1)


# ---- the metric -------------------------------------------------------------------------------------------


def test_matched_accuracy_finds_a_relabelling_of_the_digits(rng):
    perm = rng.permutation(10)                                   # code k draws digit perm[k]
    codes = np.repeat(np.arange(10), 100)
    digits = perm[codes].copy()
    digits[::20] = (digits[::20] + 1) % 10                       # 5% drawn wrong
    report = matched_accuracy(codes, digits)
    assert report["accuracy"] == pytest.approx(0.95) and report["one_to_one"] == pytest.approx(0.95)
    assert report["code_to_digit"] == perm.tolist() and report["digits_matched"] == 10
    assert report["per_code"] == pytest.approx([0.95] * 10)


def test_two_codes_on_one_digit_leave_a_digit_unmatched():
    codes = np.repeat(np.arange(10), 10)
    digits = codes.copy()
    digits[codes == 9] = 4                                       # codes 4 and 9 both draw 4s
    digits[codes == 2] = [2] * 6 + [3] * 4                       # code 2: 60% 2s
    report = matched_accuracy(codes, digits)
    assert report["accuracy"] == pytest.approx(0.96) and report["digits_matched"] == 9
    assert report["one_to_one"] == pytest.approx(0.86)         # code 9 gets a digit of its own, and draws none of it
    assert report["code_to_digit"][9] == 4 and report["per_code"][2] == pytest.approx(0.6)


def test_the_report_says_plainly_when_the_code_names_fewer_digits_than_it_has_values(rng):
    """Every sample an 8: each value "matches" 8 and the matched accuracy is 1.0; the report must not show it so."""
    codes = np.repeat(np.arange(10), 50)
    one = infogan.format_code(matched_accuracy(codes, np.full(500, 8)))
    assert "matched accuracy" not in one and "1.000" not in one
    assert "every value draws the same digit (8): the code names no digit" in one and "one digit per value 0.100" in one
    digits = codes.copy()
    digits[codes == 9] = 4                                        # nine different digits
    nine = infogan.format_code(matched_accuracy(codes, digits))
    assert "matched accuracy" not in nine and "its 10 values name only 9 different digits (0, 1, 2, 3" in nine
    assert "one digit per value 0.900" in nine
    perm = rng.permutation(10)
    ten = infogan.format_code(matched_accuracy(codes, perm[codes]))
    assert "matched accuracy 1.000, 10 different digits matched" in ten


def test_matched_accuracy_skips_a_code_no_sample_has_and_refuses_bad_input():
    report = matched_accuracy(np.array([0, 0, 1]), np.array([5, 5, 6]))
    assert report["code_to_digit"][2] is None and report["per_code"][2] is None and report["digits_matched"] == 2
    with pytest.raises(ValueError, match="integers in"):
        matched_accuracy(np.array([0, 10]), np.array([1, 2]))
    with pytest.raises(ValueError, match="one shape"):
        matched_accuracy(np.array([0, 1]), np.array([1]))


# ---- settings, a run, and the scripts ------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--lambda-cat", "--lambda-cont"])
def test_a_negative_lambda_is_one_line_and_exit_2(tmp_path, capsys, flag):
    status = main("infogan", [flag, "-0.5", "--out", str(tmp_path / "run"), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and f"{flag} -0.5" in err and "[0, inf)" in err
    assert not (tmp_path / "run").exists()


def small(out, **kw):
    base = dict(out=str(out), epochs=2, batch_size=16, sample_every=3, progress=False, evaluate=False,
                z_dim=4, g_hidden=16, d_hidden=16, q_hidden=8)
    base.update(kw)
    return infogan.Config(**base)


@pytest.fixture(scope="module")
def images():
    return np.tanh(np.random.default_rng(0).standard_normal((96, 1, 28, 28))).astype(np.float32)


def weights(run):
    return {f"{name}/{k}": v for name, m in run.model.modules().items() for k, v in m.state_dict().items()}


def test_a_short_run_logs_the_information_and_resumes_exactly(tmp_path, images):
    """6 steps + resume + 3 steps == 9 steps, bit for bit (across an epoch end); the sweeps are drawn."""
    straight = Run(small(tmp_path / "a", max_steps=9), images=images)                # 6 steps per epoch
    straight.train()
    first = Run(small(tmp_path / "b", max_steps=4), images=images)
    assert first.train() == "stopped"
    second = Run(small(tmp_path / "b", max_steps=9), resume=True, images=images)
    second.train()
    a, b = weights(straight), weights(second)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    header = (tmp_path / "b" / "log.csv").read_text().splitlines()[0].split(",")
    for column in ("d_loss", "g_loss", "q_loss", "g_info_loss", "mi_cat", "nll_cont", "q_acc"):
        assert column in header
    for name in ("sweep_u1.png", "sweep_u2.png", "categories.png", "samples.png", "progress.gif"):
        assert os.path.getsize(tmp_path / "b" / name) > 0, name


def load_generate():
    spec = importlib.util.spec_from_file_location("generate", os.path.join(ROOT, "examples", "generate.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_generate_draws_one_code_and_refuses_one_past_the_categorical_size(tmp_path, images, capsys):
    Run(small(tmp_path / "run", max_steps=1), images=images).train()
    generate = load_generate()
    assert generate([str(tmp_path / "run"), "--code", "7", "--n", "4", "--npy", str(tmp_path / "seven.npy"),
                     "--out", str(tmp_path / "seven.png")]) == 0
    model = infogan.InfoGAN(small(tmp_path / "run"))
    capsys.readouterr()
    for bad in ("10", "-1"):
        status = generate([str(tmp_path / "run"), "--code", bad, "--out", str(tmp_path / "bad.png")])
        err = capsys.readouterr().err
        assert status == 2 and err.count("\n") == 1 and f"--code {bad}" in err and "0 to 9" in err
    assert not (tmp_path / "bad.png").exists()
    assert np.load(tmp_path / "seven.npy").shape == (4, 1, 28, 28) and model.prior.categories == 10


def test_dropout_in_d_is_refused_not_ignored(tmp_path, capsys):
    assert main("infogan", ["--d-dropout", "0.3", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--d-dropout 0.3: InfoGAN's D has no dropout" in err
    assert not (tmp_path / "run").exists()
