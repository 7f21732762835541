"""No parameter whose true gradient is 0: a bias right before batchnorm or instance norm, or a critic's output bias.

Batchnorm subtracts each channel's (or feature's) batch mean, instance norm each sample's channel
mean: a bias added just before is cancelled, its gradient is exactly 0, and what a computer gets
is round-off, which Adam (or RMSprop) divides by its own size and turns into steps of ±lr with a
random sign. Such a parameter does nothing but make runs differ between BLAS builds, thread counts
and devices. The same goes for a Wasserstein critic's last bias: E[D(x)] - E[D(G(z))] cancels it.
Reference DCGANs leave them out (``bias=False``); so does every network of every model here.
"""
import numpy as np
import pytest

from minigan import models
from minigan.nn import Sequential
from minigan.nn.layers import BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d, Dense, InstanceNorm2d
from minigan.training.config import validate

#: what each normalisation cancels: (the layer before it, the normalisation)
CANCELLING = [(Dense, BatchNorm1d), (Conv2d, BatchNorm2d), (ConvTranspose2d, BatchNorm2d),
              (Conv2d, InstanceNorm2d), (ConvTranspose2d, InstanceNorm2d)]


def cancelled_biases(net, path="net"):
    """Paths of the biases in ``net`` that a normalisation right after them cancels."""
    found = []
    if isinstance(net, Sequential):
        for i, (layer, after) in enumerate(zip(net.layers, net.layers[1:])):
            if getattr(layer, "bias", None) is not None and any(isinstance(layer, a) and isinstance(after, b)
                                                                 for a, b in CANCELLING):
                found.append(f"{path}[{i}] {layer!r} -> {type(after).__name__}")
    for name, child in net.children():
        found += cancelled_biases(child, f"{path}.{name}")
    return found


def test_the_search_finds_a_cancelled_bias():
    assert cancelled_biases(Sequential(Dense(3, 4), BatchNorm1d(4)))
    assert not cancelled_biases(Sequential(Dense(3, 4, bias=False), BatchNorm1d(4)))


@pytest.mark.parametrize("name", models.names())
def test_no_network_of_a_model_has_a_bias_its_normalisation_cancels(name):
    model_cls = models.get(name)
    for settings in [model_cls.tuned_settings({}), {}] + [dict(s, arch=a) for a, s in
                                                           getattr(model_cls, "ARCH_TUNED", {}).items()]:
        model = model_cls(validate(model_cls.Config(**{**settings, "out": "unused"})))
        found = [f"{module} {b}" for module, net in model.modules().items() for b in cancelled_biases(net)]
        assert not found, f"{name} {settings}: " + "; ".join(found)


@pytest.mark.parametrize("name", ["wgan", "wgan_gp"])
def test_a_wasserstein_critic_has_no_output_bias(name):
    """The critic's loss E[D(x)] - E[D(G(z))], and its gradient penalty, do not depend on its last bias."""
    model_cls = models.get(name)
    model = model_cls(validate(model_cls.Config(out="unused")))
    last = [layer for layer in model.D.modules() if isinstance(layer, Dense)][-1]
    assert last.bias is None
    real, fake = (np.random.default_rng(k).uniform(-1, 1, (8, 1, 28, 28)).astype(np.float32) for k in (0, 1))
    assert np.isfinite(float(model.d_gradients(real, fake)["d_loss"]))
