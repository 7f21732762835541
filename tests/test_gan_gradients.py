"""The composed check: gradients of whole GAN losses, through both networks, against finite differences.

Each layer passing its own gradient check is not enough: the generator's
gradient must flow back *through* the discriminator (dL/dG(z) is D's input
gradient). Here the exact functions the training loop uses
(GANModel.d_gradients and GANModel.g_gradients) are checked end to end in float64.
"""
import numpy as np
import pytest

from minigan.gan import networks
from minigan.gan.model import GANModel
from minigan.gan.objectives import Minimax, NonSaturating
from minigan.nn.gradcheck import numerical_gradient, rel_error


def tiny_mlp_gan(rng):
    G = networks.mlp_generator(z_dim=3, hidden=(5, 4), out_dim=16, image_shape=(1, 4, 4), dtype=np.float64, rng=rng)
    D = networks.mlp_discriminator(in_dim=16, hidden=(6, 5), dtype=np.float64, rng=rng)
    return G, D, 3, (1, 4, 4)


def tiny_dcgan(rng):
    G = networks.dcgan_generator(z_dim=3, base=2, dtype=np.float64, rng=rng)
    D = networks.dcgan_discriminator(base=2, dtype=np.float64, rng=rng)
    for net in (G, D):  # DCGAN init's N(0, 0.02) makes tiny nets almost linear; use larger weights
        for p in net.parameters():
            p.data[...] = rng.normal(0, 0.5, p.data.shape)
    return G, D, 3, (1, 28, 28)


def assert_matches(analytic, numeric):
    """Relative error under 1e-6, or both zero (a bias just before batchnorm has no effect on the loss)."""
    if max(np.abs(analytic).max(), np.abs(numeric).max()) < 1e-8:
        return
    assert rel_error(analytic, numeric) < 1e-6


def tiny_dcgan_hidden(rng):
    """The tuned DCGAN discriminator: a hidden Dense layer before the logit."""
    G = networks.dcgan_generator(z_dim=3, base=2, dtype=np.float64, rng=rng)
    D = networks.dcgan_discriminator(base=2, hidden=3, dtype=np.float64, rng=rng)
    for net in (G, D):
        for p in net.parameters():
            p.data[...] = rng.normal(0, 0.5, p.data.shape)
    return G, D, 3, (1, 28, 28)


def tiny_dcgan_dense(rng):
    """The DCGAN example's networks: a hidden Dense layer with batchnorm at the start of G and before D's logit."""
    G = networks.dcgan_generator(z_dim=3, base=2, hidden=5, dtype=np.float64, rng=rng)
    D = networks.dcgan_discriminator(base=2, hidden=3, hidden_norm="batch", slope=0.1, dtype=np.float64, rng=rng)
    for net in (G, D):
        for p in net.parameters():
            p.data[...] = rng.normal(0, 0.5, p.data.shape)
    return G, D, 3, (1, 28, 28)


def make_step(builder, g_loss="nonsaturating"):
    rng = np.random.default_rng(0)
    G, D, z_dim, shape = builder(rng)
    gan = GANModel.around(G, D, z_dim=z_dim, objective=g_loss, label_smoothing=0.1)
    assert type(gan.objective) is {"nonsaturating": NonSaturating, "minimax": Minimax}[g_loss]
    z = rng.standard_normal((4, z_dim))
    real = rng.uniform(-1, 1, (4,) + shape)
    return gan, z, real


@pytest.mark.parametrize("builder", [tiny_mlp_gan, tiny_dcgan, tiny_dcgan_hidden, tiny_dcgan_dense],
                         ids=["mlp", "dcgan", "dcgan-hidden", "dcgan-dense"])
def test_discriminator_gradient_matches_finite_differences(builder):
    gan, z, real = make_step(builder)
    fake = gan.G(z)
    gan.d_gradients(real, fake)
    params = gan.D.parameters()
    analytic = [p.grad.copy() for p in params]

    def d_loss():
        return gan.d_gradients(real, fake)["d_loss"]

    for p, g in zip(params, analytic):
        assert_matches(g, numerical_gradient(d_loss, p.data))


@pytest.mark.parametrize("g_loss", ["nonsaturating", "minimax"])
@pytest.mark.parametrize("builder", [tiny_mlp_gan, tiny_dcgan, tiny_dcgan_dense], ids=["mlp", "dcgan", "dcgan-dense"])
def test_generator_gradient_flows_through_discriminator(builder, g_loss):
    gan, z, real = make_step(builder, g_loss)
    gan.g_gradients(gan.G(z))
    params = gan.G.parameters()
    analytic = [p.grad.copy() for p in params]

    def g_loss_value():
        return gan.g_gradients(gan.G(z))["g_loss"]

    assert all(np.abs(g).max() > 0 for g, p in zip(analytic, params) if p.data.ndim > 1), "a G weight got no gradient"
    for p, g in zip(params, analytic):
        assert_matches(g, numerical_gradient(g_loss_value, p.data))


def test_generator_step_leaves_discriminator_unchanged():
    """The G step moves only G: D's weights are identical before and after."""
    gan, z, real = make_step(tiny_mlp_gan)
    fake = gan.G(z)
    before = [p.data.copy() for p in gan.D.parameters()]
    g_before = [p.data.copy() for p in gan.G.parameters()]
    gan.D.zero_grad()
    gan.g_gradients(fake)
    gan.opt_G.step()
    assert all(not p.grad.any() for p in gan.D.parameters()), "the G step computed D's parameter gradients"
    assert all(m.requires_grad for m in gan.D.modules()), "D's gradients were left switched off"
    assert all(np.array_equal(a, p.data) for a, p in zip(before, gan.D.parameters()))
    assert any(not np.array_equal(a, p.data) for a, p in zip(g_before, gan.G.parameters()))
