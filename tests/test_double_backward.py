"""Double backward: each layer's backward differentiated once more, against finite differences of backward.

Backward is a function dx = B(x, θ, dy). Given ddx = dP/d(dx) for P = sum(B(x, θ, dy) * ddx),
a layer's ``double_backward(ddx)`` returns dP/d(dy) and the second-order term dP/dx, and adds
dP/dθ into ``.grad``. ``minigan.check_double_backward`` compares all three with centred
differences of P, in float64. A gradient penalty (WGAN-GP, R1) needs it from every layer of
the critic; Sequential chains them (its algorithm is checked here too, on whole critics).
"""
import numpy as np
import pytest

from minigan import (BatchNorm1d, BatchNorm2d, Conv2d, Dense, DoubleBackwardError, Dropout, Flatten, Identity,
                     LayerNorm, LeakyReLU, ReLU, Reshape, Sequential, Sigmoid, Tanh)


class FixedMaskDropout(Dropout):
    """Dropout that draws the same mask at every forward, so finite differences see one function."""

    def forward(self, x):
        self.calls = 0
        return super().forward(x)


def random_weights(layer, rng, std=0.7):
    """Weights of order 1, so every term of every derivative is visible (float64)."""
    layer.to(dtype=np.float64)
    for p in layer.parameters():
        p.data[...] = rng.normal(0, std, p.data.shape)
    return layer


# name: (layer factory, input shape)
LAYERS = {
    "Dense": (lambda r: Dense(5, 4, rng=r), (3, 5)),
    "Dense no bias": (lambda r: Dense(5, 4, bias=False, rng=r), (3, 5)),
    "Conv2d": (lambda r: Conv2d(2, 3, 3, padding=1, rng=r), (2, 2, 5, 5)),
    "Conv2d k4 s2 p1": (lambda r: Conv2d(2, 3, 4, stride=2, padding=1, rng=r), (2, 2, 6, 6)),
    "Conv2d 2x3 s2": (lambda r: Conv2d(1, 2, (2, 3), stride=2, rng=r), (2, 1, 5, 6)),
    "LeakyReLU": (lambda r: LeakyReLU(0.2), (3, 5)),
    "ReLU": (lambda r: ReLU(), (3, 5)),
    "Tanh": (lambda r: Tanh(), (3, 5)),
    "Sigmoid": (lambda r: Sigmoid(), (3, 5)),
    "Flatten": (lambda r: Flatten(), (2, 2, 3)),
    "Reshape": (lambda r: Reshape(2, 3), (2, 6)),
    "Identity": (lambda r: Identity(), (3, 4)),
    "Dropout": (lambda r: FixedMaskDropout(0.4, seed=0), (3, 5)),
    "LayerNorm": (lambda r: LayerNorm(5), (3, 5)),
}


def away_from_kinks(x):
    """Inputs with |x| >= 0.1, so no finite-difference step crosses ReLU's kink at 0."""
    return np.where(np.abs(x) < 0.1, 0.1 * np.sign(x) + x, x)


@pytest.mark.parametrize("name", LAYERS)
def test_double_backward_matches_finite_differences_of_backward(rng, double_gradcheck, name):
    factory, shape = LAYERS[name]
    layer = random_weights(factory(rng), rng)
    x = away_from_kinks(rng.standard_normal(shape))
    dy, ddx = rng.standard_normal(layer(x).shape), rng.standard_normal(shape)
    errors = double_gradcheck(name, layer, x, dy, ddx)
    assert set(errors) == {"dy", "x"} | {n for n, _ in layer.named_parameters()}


@pytest.mark.parametrize("name", ["Dense", "Conv2d", "Conv2d k4 s2 p1"])
def test_linear_layers_return_the_forward_without_bias(rng, name):
    """dP/d(dy) = J ddx: for a linear layer that is the forward pass applied to ddx, minus the bias."""
    factory, shape = LAYERS[name]
    layer = random_weights(factory(rng), rng)
    x = rng.standard_normal(shape)
    layer.backward(rng.standard_normal(layer(x).shape))
    ddx = rng.standard_normal(shape)
    ddy, dx_extra = layer.double_backward(ddx)
    assert dx_extra is None                                  # backward does not depend on x
    np.testing.assert_allclose(ddy, layer(ddx) - layer(np.zeros_like(ddx)), atol=1e-12)


@pytest.mark.parametrize("name", ["LeakyReLU", "ReLU", "Flatten", "Reshape", "Identity", "Dense", "Conv2d"])
def test_piecewise_linear_and_linear_layers_have_no_second_order_term(rng, name):
    factory, shape = LAYERS[name]
    layer = random_weights(factory(rng), rng)
    x = rng.standard_normal(shape)
    layer.backward(rng.standard_normal(layer(x).shape))
    assert layer.double_backward(rng.standard_normal(shape))[1] is None


@pytest.mark.parametrize("name", ["Tanh", "Sigmoid", "LayerNorm"])
def test_curved_layers_do_have_one(rng, name):
    factory, shape = LAYERS[name]
    layer = random_weights(factory(rng), rng)
    x = rng.standard_normal(shape)
    layer.backward(rng.standard_normal(layer(x).shape))
    assert np.abs(layer.double_backward(rng.standard_normal(shape))[1]).max() > 1e-3


def mlp_critic(rng, norm=True):
    layers = [Flatten(), Dense(12, 6, rng=rng)] + ([LayerNorm(6)] if norm else []) + \
             [LeakyReLU(0.2), Dense(6, 5, rng=rng), Tanh(), Dense(5, 1, rng=rng)]
    return Sequential(*layers)


def conv_critic(rng):
    return Sequential(Conv2d(1, 3, 4, stride=2, padding=1, rng=rng), LeakyReLU(0.2),
                      Conv2d(3, 4, 4, stride=2, padding=1, rng=rng), LayerNorm((4, 2, 2)), LeakyReLU(0.2),
                      Flatten(), Dense(16, 1, rng=rng))


@pytest.mark.parametrize("build, shape", [(mlp_critic, (3, 1, 3, 4)), (conv_critic, (2, 1, 8, 8)),
                                          (lambda r: Sequential(mlp_critic(r), Sequential(Identity())), (3, 1, 3, 4))],
                         ids=["mlp", "conv", "nested"])
def test_sequential_chains_the_layers_double_backwards(rng, double_gradcheck, build, shape):
    """Sequential's algorithm: dP/d(dy) forward through the layers, then each second-order term back.

    Every parameter gets its penalty gradient, the biases before LayerNorm and Tanh included
    (through the second-order terms travelling back along the forward pass).
    """
    net = random_weights(build(rng), rng)
    x = away_from_kinks(rng.standard_normal(shape))
    dy, ddx = rng.standard_normal(net(x).shape), rng.standard_normal(shape)
    errors = double_gradcheck("Sequential", net, x, dy, ddx)
    assert len(errors) == 2 + len(net.parameters())


def test_double_backward_adds_into_grad_and_respects_requires_grad(rng):
    net = random_weights(mlp_critic(rng), rng)
    x = rng.standard_normal((3, 1, 3, 4))
    dy, ddx = rng.standard_normal((3, 1)), rng.standard_normal((3, 1, 3, 4))

    def run():
        net(x)
        net.requires_grad_(False)
        net.backward(dy)
        net.requires_grad_(True)
        return net.double_backward(ddx)

    net.zero_grad()
    run()
    once = [p.grad.copy() for p in net.parameters()]
    ddy, extra = run()
    for g, p in zip(once, net.parameters()):
        np.testing.assert_allclose(p.grad, 2 * g, rtol=1e-12)   # added, as backward adds
    net.zero_grad()
    net(x)
    net.requires_grad_(False)
    net.backward(dy)
    ddy2, extra2 = net.double_backward(ddx)                    # still off: dP/d(dy) and dP/dx only
    net.requires_grad_(True)
    assert all(not p.grad.any() for p in net.parameters())
    np.testing.assert_allclose(ddy2, ddy, rtol=1e-12)
    np.testing.assert_allclose(extra2, extra, rtol=1e-12)


@pytest.mark.parametrize("bn, shape", [(BatchNorm1d(4), (3, 4)), (BatchNorm2d(2), (2, 2, 3, 3))])
def test_batchnorm_has_none_and_says_why(bn, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    bn.backward(bn(x))
    with pytest.raises(DoubleBackwardError) as err:
        bn.double_backward(x)
    msg = str(err.value)
    assert repr(bn) in msg and "mixes the samples" in msg and "LayerNorm" in msg


def test_a_sequential_holding_batchnorm_names_it(rng):
    net = Sequential(Dense(4, 4, rng=rng), BatchNorm1d(4), LeakyReLU(0.2), Dense(4, 1, rng=rng))
    x = rng.standard_normal((3, 4)).astype(np.float32)
    net.backward(np.ones_like(net(x)))
    with pytest.raises(DoubleBackwardError, match=r"BatchNorm1d\(4"):
        net.double_backward(x)
