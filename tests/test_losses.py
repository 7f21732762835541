"""Tests of minigan.losses: BCEWithLogits and BCE against the textbook formulas.

Values are checked against the naive formula where it is safe, stability at
huge logits, and gradients against centred finite differences in float64.
"""
import numpy as np
import pytest

from minigan import BCE, BCEWithLogits
from minigan.nn.gradcheck import numerical_gradient, rel_error


def naive_bce_logits(z, t):
    """-mean[t log s(z) + (1 - t) log(1 - s(z))], written the obvious (unstable) way."""
    s = 1 / (1 + np.exp(-z))
    return -np.mean(t * np.log(s) + (1 - t) * np.log(1 - s))


def naive_bce(p, t):
    return -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))


@pytest.fixture
def rng():
    return np.random.default_rng(42)


def targets(rng, shape):
    """Hard 0/1 labels mixed with soft labels in (0, 1)."""
    hard = rng.integers(0, 2, size=shape).astype(np.float64)
    soft = rng.uniform(0, 1, size=shape)
    return np.where(rng.uniform(size=shape) < 0.5, hard, soft)


# ------------------------------------------------------------------ BCEWithLogits


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_bce_with_logits_matches_naive_formula(rng, dtype, rtol):
    """For moderate logits the stable form equals -[t log s(z) + (1-t) log(1-s(z))], averaged."""
    z = rng.uniform(-6, 6, size=(7, 3))
    t = targets(rng, z.shape)
    loss, grad = BCEWithLogits()(z.astype(dtype), t.astype(dtype))
    np.testing.assert_allclose(float(loss), naive_bce_logits(z, t), rtol=rtol)
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(grad, (s - t) / z.size, rtol=rtol * 10, atol=1e-7)
    assert grad.shape == z.shape and grad.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bce_with_logits_is_stable_for_huge_logits(dtype):
    """z = +-1000: the loss stays finite; confidently wrong costs ~|z|, confidently right costs ~0."""
    z = np.array([1000.0, -1000.0], dtype=dtype)
    wrong = np.array([0.0, 1.0], dtype=dtype)
    right = np.array([1.0, 0.0], dtype=dtype)
    # no overflow, no log(0), no invalid operation anywhere (exp(-1000) underflowing to 0 is fine)
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        loss_wrong, grad_wrong = BCEWithLogits()(z, wrong)
        loss_right, grad_right = BCEWithLogits()(z, right)
    assert np.isfinite(float(loss_wrong)) and np.isfinite(float(loss_right))
    np.testing.assert_allclose(float(loss_wrong), np.mean(np.abs(z.astype(np.float64))), rtol=1e-6)
    assert 0 <= float(loss_right) < 1e-6
    # gradient (s(z) - t) / n: +-1/n when wrong, 0 when right
    n = z.size
    np.testing.assert_allclose(grad_wrong, np.array([1.0, -1.0]) / n, rtol=1e-6)
    np.testing.assert_allclose(grad_right, np.zeros(2), atol=1e-7)
    assert np.all(np.isfinite(grad_wrong)) and np.all(np.isfinite(grad_right))


@pytest.mark.parametrize("loss_fn, low, high", [(BCEWithLogits(), -4, 4), (BCE(), 0.05, 0.95)],
                         ids=["bce-with-logits", "bce-probabilities"])
def test_gradient_matches_finite_differences(rng, loss_fn, low, high):
    """The returned gradient equals the numerical gradient of the mean loss (float64).

    For BCE on probabilities p stays in (0.05, 0.95), away from the clipping.
    """
    x = rng.uniform(low, high, size=(5, 4))
    t = targets(rng, x.shape)
    _, grad = loss_fn(x, t)
    numeric = numerical_gradient(lambda: loss_fn(x, t)[0], x)
    assert rel_error(grad, numeric) < 1e-7


def test_bce_with_logits_shape_mismatch_raises():
    """Logits and targets of different shapes (even broadcastable ones) are refused."""
    with pytest.raises(ValueError, match="same shape"):
        BCEWithLogits()(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match="same shape"):
        BCEWithLogits()(np.zeros((4, 1)), np.zeros((4, 2)))


# ------------------------------------------------------------------ BCE on probabilities


def test_bce_matches_naive_formula(rng):
    """BCE on probabilities equals -[t log p + (1-t) log(1-p)], averaged, and its gradient formula."""
    p = rng.uniform(0.01, 0.99, size=(6, 2))
    t = targets(rng, p.shape)
    loss, grad = BCE()(p, t)
    np.testing.assert_allclose(float(loss), naive_bce(p, t), rtol=1e-12)
    np.testing.assert_allclose(grad, (p - t) / (p * (1 - p)) / p.size, rtol=1e-12)


def test_bce_clips_probabilities_zero_and_one():
    """p = 0 or 1 never produces log(0): the loss is finite (large when wrong)."""
    p = np.array([0.0, 1.0, 0.0, 1.0])
    t = np.array([1.0, 0.0, 0.0, 1.0])
    loss, grad = BCE(eps=1e-7)(p, t)
    assert np.isfinite(float(loss)) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(float(loss), -np.log(1e-7) / 2, rtol=1e-6)  # two wrong, two right


def test_bce_shape_mismatch_raises():
    """Probabilities and targets of different shapes are refused."""
    with pytest.raises(ValueError, match="same shape"):
        BCE()(np.full((3, 1), 0.5), np.zeros(3))


def test_bce_with_logits_equals_bce_of_sigmoid(rng):
    """The two losses agree where both are exact: BCEWithLogits(z) = BCE(sigmoid(z)), and
    chaining BCE's gradient through sigmoid gives BCEWithLogits' gradient."""
    z = rng.uniform(-3, 3, size=(8,))
    t = targets(rng, z.shape)
    s = 1 / (1 + np.exp(-z))
    l1, g1 = BCEWithLogits()(z, t)
    l2, g2 = BCE(eps=1e-12)(s, t)
    np.testing.assert_allclose(float(l1), float(l2), rtol=1e-10)
    np.testing.assert_allclose(g1, g2 * s * (1 - s), rtol=1e-8)


# ---------------------------------------------------------------- L1 and MSE (pix2pix, CycleGAN, SRGAN)

@pytest.mark.parametrize("name", ["L1", "MSE"])
def test_l1_and_mse_values_and_gradients(rng, name):
    from minigan import L1, MSE

    loss = {"L1": L1(), "MSE": MSE()}[name]
    x, t = rng.standard_normal((3, 1, 4, 4)), rng.standard_normal((3, 1, 4, 4))
    value, grad = loss(x, t)
    expected = np.mean(np.abs(x - t)) if name == "L1" else np.mean((x - t) ** 2)
    assert value == pytest.approx(expected, rel=1e-12)
    assert rel_error(grad, numerical_gradient(lambda: loss(x, t)[0], x)) < 1e-7   # |x - t| > 0 everywhere here


def test_l1_takes_zero_where_the_image_equals_its_target():
    from minigan import L1

    x = np.float32([[0.5, -1.0]])
    value, grad = L1()(x, x.copy())
    assert value == 0 and not grad.any()


@pytest.mark.parametrize("name", ["L1", "MSE"])
def test_l1_and_mse_refuse_targets_of_another_shape(name):
    from minigan import L1, MSE

    with pytest.raises(ValueError, match=rf"{name}: values \(2, 3\) and targets \(3, 2\) must have the same shape"):
        {"L1": L1(), "MSE": MSE()}[name](np.zeros((2, 3)), np.zeros((3, 2)))
