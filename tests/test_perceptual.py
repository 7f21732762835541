"""PerceptualLoss: the distance in the frozen classifier's features, its gradient through the classifier."""
import numpy as np
import pytest

from minigan import Sequential, metrics
from minigan.nn.gradcheck import numerical_gradient, rel_error
from minigan.translation.perceptual import CONV_FEATURES, PerceptualLoss


@pytest.fixture(scope="module")
def classifier64():
    return metrics.load_classifier().to(dtype=np.float64)


@pytest.mark.parametrize("layer", [CONV_FEATURES, metrics.FEATURE_END])
def test_the_loss_is_the_mse_of_the_features_and_its_gradient_matches_finite_differences(classifier64, layer):
    loss = PerceptualLoss(classifier64, layer=layer)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-1, 1, (2, 1, 28, 28)), rng.uniform(-1, 1, (2, 1, 28, 28))
    value, grad = loss(x, y)
    phi = Sequential(*classifier64[:layer])
    assert value == pytest.approx(np.mean((phi(x) - phi(y)) ** 2), rel=1e-12)
    sample = (slice(None), 0, slice(10, 13), slice(10, 13))           # a 3 x 3 patch of each image: enough, and fast
    patch = x[sample].copy()                                          # finite differences on the patch only

    def loss_of_patch():
        x_now = x.copy()
        x_now[sample] = patch
        return loss(x_now, y)[0]

    assert rel_error(grad[sample], numerical_gradient(loss_of_patch, patch)) < 1e-6


def test_the_classifier_stays_frozen(classifier64):
    loss = PerceptualLoss(classifier64)
    before = [p.data.copy() for p in classifier64.parameters()]
    rng = np.random.default_rng(1)
    loss(rng.uniform(-1, 1, (2, 1, 28, 28)), rng.uniform(-1, 1, (2, 1, 28, 28)))
    assert all(np.array_equal(a, p.data) for a, p in zip(before, classifier64.parameters()))
    assert all(not p.grad.any() for p in classifier64.parameters())
    assert loss(np.zeros((1, 1, 28, 28)), np.zeros((1, 1, 28, 28)))[0] == 0


def test_bad_input_is_refused(classifier64):
    with pytest.raises(ValueError, match=r"PerceptualLoss: images and targets must both be \(N, 1, 28, 28\)"):
        PerceptualLoss(classifier64)(np.zeros((2, 1, 7, 7)), np.zeros((2, 1, 7, 7)))
    with pytest.raises(ValueError, match="PerceptualLoss: layer must be in"):
        PerceptualLoss(classifier64, layer=0)
