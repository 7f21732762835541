"""Dropout: the mask statistics, the 1/(1-p) scaling, identity in eval, and the gradient.

The mask is random, so every forward inside a gradient check must draw the
same one: a Dropout whose ``forward`` reseeds first makes the layer a fixed
linear map that finite differences can check.
"""
import numpy as np
import pytest

from minigan import Dropout


class FixedMaskDropout(Dropout):
    """Dropout that calls reseed(seed) before every forward, so the mask never changes."""

    def __init__(self, p, seed):
        super().__init__(p, seed=seed)
        self.fixed_seed = seed

    def forward(self, x):
        self.reseed(self.fixed_seed)
        return super().forward(x)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_mask_fraction_is_p(p):
    """On 10^6 units the dropped fraction is p within 5 standard deviations."""
    n = 1_000_000
    y = Dropout(p, seed=1)(np.ones(n, np.float32))
    dropped = np.mean(y == 0)
    assert abs(dropped - p) < 5 * np.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_kept_units_are_scaled_by_1_over_1_minus_p(rng, p):
    """Survivors are x / (1 - p), so E[y] = x: the mean of many outputs is close to x's."""
    x = rng.uniform(0.5, 2.0, 200_000)
    y = Dropout(p, seed=2)(x)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / (1 - p), rtol=1e-12)
    sd = np.sqrt(np.mean(x ** 2) * p / (1 - p) / x.size)     # std of mean(y) given x
    assert abs(y.mean() - x.mean()) < 5 * sd


def test_eval_is_identity(rng):
    """In eval mode the output is the input and the gradient passes through unchanged."""
    layer = Dropout(0.5, seed=0).eval()
    x = rng.standard_normal((4, 5))
    np.testing.assert_array_equal(layer(x), x)
    dy = rng.standard_normal((4, 5))
    np.testing.assert_array_equal(layer.backward(dy), dy)


def test_p_zero_is_identity(rng):
    """p = 0 drops nothing, even in training."""
    x = rng.standard_normal((4, 5))
    np.testing.assert_array_equal(Dropout(0.0)(x), x)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_p_outside_range_is_refused(p):
    """p must be in [0, 1): p = 1 would divide by zero."""
    with pytest.raises(ValueError, match="p must be in"):
        Dropout(p)


def test_same_seed_same_mask_and_reseed_restarts(rng):
    """Two layers with one seed drop the same units; reseed replays the sequence of masks."""
    x = np.ones((50, 40))
    a, b = Dropout(0.5, seed=7), Dropout(0.5, seed=7)
    first = a(x)
    np.testing.assert_array_equal(first, b(x))
    second = a(x)
    assert not np.array_equal(first, second)          # a new mask each forward
    a.reseed(7)
    np.testing.assert_array_equal(a(x), first)
    assert not np.array_equal(Dropout(0.5, seed=8)(x), first)


def test_backward_uses_the_forward_mask(rng):
    """backward(dy) = dy * mask / (1 - p) with the mask of the last forward."""
    layer = Dropout(0.3, seed=3)
    x = rng.uniform(0.5, 2.0, (6, 7))
    y = layer(x)
    dy = rng.standard_normal(x.shape)
    np.testing.assert_allclose(layer.backward(dy), dy * (y / x), rtol=1e-12)


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("p", [0.2, 0.5])
@pytest.mark.parametrize("shape", [(7,), (4, 5), (2, 3, 3, 3)])
def test_backward_matches_finite_differences(rng, gradcheck, shape, p, mode):
    """With the mask held fixed (reseed before each forward), backward matches finite differences."""
    layer = FixedMaskDropout(p, seed=11).train(mode == "train")
    x = rng.standard_normal(shape)
    errors = gradcheck(f"Dropout ({mode})", layer, x)
    assert set(errors) == {"x"}
    if mode == "train":
        assert np.any(layer(x) == 0) or x.size < 10   # the mask really dropped something


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(rng, dtype):
    """float32 in gives float32 out (mask and scale are built in x's dtype)."""
    layer = Dropout(0.5, seed=0)
    y = layer(rng.standard_normal((4, 5)).astype(dtype))
    assert y.dtype == dtype
    assert layer.backward(np.ones_like(y)).dtype == dtype
