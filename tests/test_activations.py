"""LeakyReLU, ReLU, Tanh, Sigmoid: formulas, derivatives, and dtypes.

Inputs to ReLU and LeakyReLU keep |x| >= 0.1 so finite differences never straddle the kink at 0.
"""
import numpy as np
import pytest

from minigan import LeakyReLU, ReLU, Sigmoid, Tanh
from minigan.nn.layers import sigmoid

SHAPES = [(5,), (3, 4), (2, 3, 4, 4)]


def away_from_zero(rng, shape, low=0.1):
    """Random numbers with |x| in [low, 3], both signs: safe for kinked functions."""
    return rng.uniform(low, 3.0, shape) * rng.choice([-1.0, 1.0], shape)


# name, layer factory, reference f(x)
ACTIVATIONS = [
    ("LeakyReLU", lambda: LeakyReLU(), lambda x: np.where(x > 0, x, 0.01 * x)),
    ("LeakyReLU(0.2)", lambda: LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    ("ReLU", ReLU, lambda x: np.maximum(x, 0)),
    ("Tanh", Tanh, np.tanh),
    ("Sigmoid", Sigmoid, lambda x: 1 / (1 + np.exp(-x))),
]
NAMES = [a[0] for a in ACTIVATIONS]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name, make, f", ACTIVATIONS, ids=NAMES)
def test_forward_matches_formula(rng, name, make, f, shape):
    """Each layer computes its textbook formula, elementwise, keeping the shape."""
    x = away_from_zero(rng, shape)
    y = make()(x)
    assert y.shape == x.shape
    np.testing.assert_allclose(y, f(x), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name, make, f", ACTIVATIONS, ids=NAMES)
def test_backward_matches_finite_differences(rng, gradcheck, name, make, f, shape):
    """dL/dx = dL/dy * f'(x) agrees with centred finite differences (float64)."""
    errors = gradcheck(name, make(), away_from_zero(rng, shape))
    assert set(errors) == {"x"}


@pytest.mark.parametrize("name, make, f", ACTIVATIONS, ids=NAMES)
def test_backward_uses_the_last_forward(rng, name, make, f):
    """backward(dy) is dy * f'(x) for the x of the most recent forward."""
    layer = make()
    x = away_from_zero(rng, (4, 5))
    layer(away_from_zero(rng, (4, 5)))      # an older forward must not leak into backward
    layer(x)
    dy = rng.standard_normal(x.shape)
    h = 1e-6
    np.testing.assert_allclose(layer.backward(dy), dy * (f(x + h) - f(x - h)) / (2 * h), rtol=1e-7, atol=1e-9)


def test_leaky_relu_slope_and_default():
    """Negative inputs are scaled by negative_slope (0.01 by default, as in PyTorch)."""
    assert LeakyReLU().negative_slope == 0.01
    np.testing.assert_allclose(LeakyReLU(0.2)(np.array([-2.0, 3.0])), [-0.4, 3.0])
    assert repr(LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"


def test_sigmoid_does_not_overflow():
    """sigmoid(+-1000) is 1 and 0 with no overflow warning (it is computed via tanh)."""
    with np.errstate(all="raise"):
        np.testing.assert_allclose(sigmoid(np.array([-1000.0, 0.0, 1000.0])), [0.0, 0.5, 1.0])
        np.testing.assert_allclose(sigmoid(np.array([-100.0, 100.0], np.float32)), [0.0, 1.0])


def test_saturated_gradients_vanish():
    """Far from 0, tanh and sigmoid pass (almost) no gradient; ReLU passes none for x < 0."""
    x = np.array([-30.0, 30.0])
    for layer in (Tanh(), Sigmoid()):
        layer(x)
        assert np.all(np.abs(layer.backward(np.ones(2))) < 1e-12)
    relu = ReLU()
    relu(np.array([-1.0, 2.0]))
    np.testing.assert_array_equal(relu.backward(np.array([5.0, 5.0])), [0.0, 5.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, make, f", ACTIVATIONS, ids=NAMES)
def test_dtype_is_kept(rng, name, make, f, dtype):
    """float32 in gives float32 out, forward and backward (no silent upcast to float64)."""
    layer = make()
    x = away_from_zero(rng, (2, 3)).astype(dtype)
    y = layer(x)
    assert y.dtype == dtype
    assert layer.backward(np.ones_like(y)).dtype == dtype


@pytest.mark.parametrize("slope", [0.0, 0.2, 1.0, 1.5, -0.3])
def test_leaky_relu_any_slope_matches_the_definition(slope):
    """max(x, a x) is used for 0 <= a <= 1 and where() otherwise: both give f and f' exactly."""
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    layer = LeakyReLU(slope)
    np.testing.assert_array_equal(layer(x), np.where(x > 0, x, np.float32(slope) * x))
    dy = np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)
    np.testing.assert_allclose(layer.backward(dy), np.where(x > 0, dy, np.float32(slope) * dy), rtol=1e-6)
