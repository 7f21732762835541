r"""A perceptual loss at MNIST size: the distance between two images in the features of minigan's own classifier.

SRGAN (Ledig et al. 2017) trains its generator on the distance between the
VGG features of the output and of the target, not between their pixels: a
feature map holds what makes the image what it is (edges, strokes, parts) and
forgives what the pixel loss punishes most (a stroke one pixel over). Here the
feature extractor is the MNIST classifier minigan's metrics use
(``metrics.mnist_classifier``), frozen:

    L = mean_i (phi(x_hat)_i - phi(y)_i)^2             phi = classifier[:layer], eval mode
    dL/dx_hat = J_phi(x_hat)^T (2 (phi(x_hat) - phi(y)) / n)

The backward runs through the frozen classifier (its ``backward`` with
``requires_grad`` off: dL/dx only, its weights never change). The target's
features carry no gradient. docs/losses.md#perceptual-loss derives it.
"""
from .. import metrics
from ..backend import backend_of, check_same_device
from ..nn import Sequential
from ..nn.losses import MSE

#: where phi ends: after the third convolution's ReLU, a 64 x 7 x 7 map (VGG's conv features at MNIST size)
CONV_FEATURES = 9


class PerceptualLoss:
    """MSE between ``classifier[:layer]`` of the images and of the targets, and its gradient for the images.

    ``classifier``: default, the committed one (``metrics.load_classifier()``);
    ``layer``: default :data:`CONV_FEATURES`, or ``metrics.FEATURE_END`` for the
    128 features FID reads. ``__call__(images, targets)`` -> (loss, dL/dimages),
    images and targets (N, 1, 28, 28) in [-1, 1].
    """

    def __init__(self, classifier=None, layer=CONV_FEATURES):
        classifier = metrics.load_classifier() if classifier is None else classifier
        if not 1 <= layer <= len(classifier):
            raise ValueError(f"PerceptualLoss: layer must be in [1, {len(classifier)}], got {layer!r}")
        self.phi = Sequential(*classifier[:layer])          # shares the classifier's layers
        self.phi.eval()                                     # batchnorm's running statistics, no dropout
        self.phi.requires_grad_(False)                      # frozen: backward gives dL/dx only
        self.mse = MSE()

    def to(self, backend=None, dtype=None):
        self.phi.to(backend, dtype=dtype)
        return self

    def __call__(self, images, targets):
        check_same_device("PerceptualLoss", images, targets)
        if images.shape != targets.shape or images.ndim != 4 or tuple(images.shape[1:]) != (1, 28, 28):
            raise ValueError(f"PerceptualLoss: images and targets must both be (N, 1, 28, 28), got "
                             f"{tuple(images.shape)} and {tuple(targets.shape)}")
        self._follow(images)
        target_features = self.phi(targets)                 # phi(y): a constant, no gradient
        features = self.phi(images)                         # phi(x_hat); phi's caches now hold this pass
        loss, dfeatures = self.mse(features, target_features)
        return loss, self.phi.backward(dfeatures)           # dL/dx_hat = J_phi^T dL/dphi

    def _follow(self, images):
        """Move phi to the images' backend and dtype if it is elsewhere (once)."""
        weight = self.phi.parameters()[0].data
        if backend_of(weight) != backend_of(images):
            self.phi.to(backend_of(images))
        if self.phi.parameters()[0].data.dtype != images.dtype:
            self.phi.to(dtype=images.dtype)
