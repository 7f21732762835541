"""R1, spectral normalisation and the hinge loss inside the GAN step, and the DCGAN's new options.

The D step with R1 computes L_D + γ/2 E‖∇ₓD(x)‖²: its gradient with respect to
every parameter of D is checked against finite differences of that total, in
float64, for D's that hold every layer R1 must go through.
"""
import numpy as np
import pytest

from minigan.gan import networks
from minigan.gan.model import GANModel
from minigan.gan.penalties import per_sample_norms
from minigan.nn.gradcheck import numerical_gradient, rel_error
from minigan.nn.layers import spectral_normalize
from minigan.training.cli import main


def tiny(kind, rng):
    if kind == "mlp":
        G = networks.mlp_generator(z_dim=3, hidden=(5,), out_dim=16, image_shape=(1, 4, 4), dtype=np.float64, rng=rng)
        D = networks.mlp_discriminator(in_dim=16, hidden=(6, 5), dtype=np.float64, rng=rng)
        return G, D, (1, 4, 4)
    G = networks.dcgan_generator(z_dim=3, base=2, dtype=np.float64, rng=rng)
    D = networks.dcgan_discriminator(base=2, hidden=3, norm=kind, mbstd=2, dtype=np.float64, rng=rng)
    for net in (G, D):
        for p in net.parameters():
            p.data[...] = rng.normal(0, 0.5, p.data.shape)
    return G, D, (1, 28, 28)


def input_gradient_norm2(D, x):
    """E‖∇ₓ sum_n D(x_n)‖² computed afresh (the quantity R1 penalises), leaving .grad alone."""
    D.requires_grad_(False)
    try:
        out = D(x)
        g = D.backward(np.ones_like(out))
    finally:
        D.requires_grad_(True)
    return float((per_sample_norms(g) ** 2).mean())


@pytest.mark.parametrize("kind, sn", [("mlp", False), ("mlp", True), ("none", False), ("layer", True)],
                         ids=["mlp", "mlp-sn", "dcgan-nonorm-mbstd", "dcgan-layernorm-mbstd-sn"])
def test_the_d_step_with_r1_matches_finite_differences(kind, sn):
    rng = np.random.default_rng(0)
    G, D, shape = tiny(kind, rng)
    if sn:
        D = spectral_normalize(D, rng=rng)
        D(rng.uniform(-1, 1, (4,) + shape))                    # set u, v, then hold them fixed
        D.eval()
    gamma = 3.0
    gan = GANModel.around(G, D, z_dim=3, label_smoothing=0.1, r1=gamma)
    real, fake = rng.uniform(-1, 1, (4,) + shape), G(rng.standard_normal((4, 3)))
    stats = gan.d_gradients(real, fake)
    analytic = [p.grad.copy() for p in D.parameters()]
    assert float(stats["r1"]) == pytest.approx(gamma / 2 * input_gradient_norm2(D, real), rel=1e-10)

    def total():
        return float(gan.d_gradients(real, fake)["d_loss"]) + gamma / 2 * input_gradient_norm2(D, real)

    for p, g in zip(D.parameters(), analytic):
        numeric = numerical_gradient(total, p.data)
        if max(np.abs(g).max(), np.abs(numeric).max()) > 1e-8:
            assert rel_error(g, numeric) < 1e-6


def test_lazy_r1_applies_every_kth_step_with_k_times_the_weight():
    rng = np.random.default_rng(1)
    G, D, shape = tiny("mlp", rng)
    real, fake = rng.uniform(-1, 1, (4,) + shape), G(rng.standard_normal((4, 3)))
    every = GANModel.around(G, D, z_dim=3, r1=2.0)
    lazy = GANModel.around(G, D, z_dim=3, r1=2.0, r1_every=3)
    every.d_gradients(real, fake)
    with_r1 = [p.grad.copy() for p in D.parameters()]
    no_r1 = GANModel.around(G, D, z_dim=3)
    no_r1.d_gradients(real, fake)
    without = [p.grad.copy() for p in D.parameters()]
    lazy.d_gradients(real, fake)                                # D step 0: applied, weight 3γ
    for a, w, l in zip(with_r1, without, [p.grad for p in D.parameters()]):
        np.testing.assert_allclose(l - w, 3 * (a - w), rtol=1e-9, atol=1e-12)
    logged = lazy.last_r1
    lazy.opt_D.t = 1                                            # D step 1: not applied, the last value logged
    assert lazy.d_gradients(real, fake)["r1"] is logged
    np.testing.assert_allclose([p.grad for p in D.parameters()][0], without[0], rtol=1e-12)


def test_the_hinge_objective_trains_through_the_step():
    rng = np.random.default_rng(2)
    G, D, shape = tiny("mlp", rng)
    gan = GANModel.around(G, D, z_dim=3, objective="hinge", optimizer="sgd", lr=0.1)
    before = [p.data.copy() for p in D.parameters()]
    stats = gan.step([(rng.uniform(-1, 1, (4,) + shape), None)])
    assert {"d_loss", "g_loss", "d_real", "d_fake", "d_acc"} <= set(stats)
    assert any(not np.array_equal(a, p.data) for a, p in zip(before, D.parameters()))


@pytest.mark.parametrize("flags, words", [
    (["--r1", "5"], "--r1 5.0: BatchNorm"),
    (["--r1", "-1"], "--r1 -1.0: must be a number in [0, inf)"),
    (["--r1-every", "0"], "--r1-every 0: must be an integer >= 1"),
    (["--objective", "hinge", "--label-smoothing", "0.1"],
     "--label-smoothing 0.1: applies to the BCE losses, not to --objective hinge"),
    (["--mbstd", "1"], "--mbstd 1: a standard deviation needs groups of at least 2"),
    (["--mbstd", "3"], "--mbstd 3: must divide --batch-size 64"),
    (["--d-hidden", "0"], "--d-hidden-norm batch: D has no hidden layer to normalise (set --d-hidden)"),
    (["--slope", "1.5"], "--slope 1.5: must be a number in [0, 1]"),
])
def test_the_new_dcgan_settings_refuse_what_cannot_work(tmp_path, capsys, flags, words):
    status = main("dcgan", flags + ["--out", str(tmp_path / "run"), "--limit", "64"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and words in err, err
    assert not (tmp_path / "run").exists()
