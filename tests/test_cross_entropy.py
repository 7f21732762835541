"""SoftmaxCrossEntropy: value, finite-difference gradient, stability and errors."""
import numpy as np
import pytest

from minigan.nn.gradcheck import numerical_gradient, rel_error
from minigan.nn.losses import SoftmaxCrossEntropy


def test_value_matches_the_textbook_formula():
    rng = np.random.default_rng(0)
    z, y = rng.standard_normal((5, 4)), np.array([0, 3, 1, 1, 2])
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    loss, _ = SoftmaxCrossEntropy()(z, y)
    assert np.isclose(loss, -np.log(p[np.arange(5), y]).mean())


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    z, y = rng.standard_normal((6, 10)), rng.integers(0, 10, size=6)
    loss_fn = SoftmaxCrossEntropy()
    _, grad = loss_fn(z, y)
    numeric = numerical_gradient(lambda: loss_fn(z, y)[0], z)
    assert rel_error(grad, numeric) < 1e-7


def test_stable_for_huge_logits_and_keeps_dtype():
    z = np.array([[1000.0, -1000.0, 0.0], [-1e4, 1e4, 3.0]], dtype=np.float32)
    loss, grad = SoftmaxCrossEntropy()(z, np.array([0, 0]))
    assert np.isfinite(loss) and np.isfinite(grad).all()
    assert np.isclose(loss, 2e4 / 2, rtol=1e-4)      # sample 0 costs ~0, sample 1 costs ~2e4
    assert grad.dtype == np.float32


@pytest.mark.parametrize("z, y, error, match", [
    (np.zeros(4), np.zeros(4, dtype=int), ValueError, r"\(N, K\)"),
    (np.zeros((4, 3)), np.zeros(3, dtype=int), ValueError, r"shape \(4,\)"),
    (np.zeros((2, 3)), np.array([0, 3]), ValueError, r"\[0, 2\]"),
    (np.zeros((2, 3)), np.array([-1, 0]), ValueError, r"\[0, 2\]"),
    (np.zeros((2, 3)), np.array([0.0, 1.0]), TypeError, "integers"),
])
def test_clear_errors(z, y, error, match):
    with pytest.raises(error, match=match):
        SoftmaxCrossEntropy()(z, y)
