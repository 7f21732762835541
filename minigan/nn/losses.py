"""Losses: each returns the mean loss and its gradient with respect to its input.

A loss is the end of the chain, so its "backward" needs no upstream gradient:
``loss, dlogits = BCEWithLogits()(logits, targets)`` and then
``model.backward(dlogits)``. The VAE's two terms (:class:`BernoulliNLL`,
:class:`GaussianKL`) sum over each image's entries and average over the batch:
nats per image, as the VAE literature reports them.
"""
import math

from ..backend import check_same_device, get_array_module
from .layers.activations import sigmoid


def _check_pair(name, what, values, targets):
    """Same backend and same shape for a loss's input and its targets, or a clear error."""
    check_same_device(name, values, targets)
    if values.shape != targets.shape:
        raise ValueError(f"{name}: {what} {tuple(values.shape)} and targets "
                         f"{tuple(targets.shape)} must have the same shape")


class BCEWithLogits:
    """Binary cross-entropy on logits z, for targets t in [0, 1], averaged over all entries.

        l(z, t) = -[t log s(z) + (1 - t) log(1 - s(z))]      s = sigmoid
                = max(z, 0) - z t + log(1 + exp(-|z|))      (the stable form: no exp overflows)

        dl/dz   = s(z) - t
    """

    def __call__(self, logits, targets):
        _check_pair("BCEWithLogits", "logits", logits, targets)
        # --8<-- [start:bcewithlogits-call]
        xp = get_array_module(logits)
        z, t = logits, targets
        loss = (xp.maximum(z, 0) - z * t + xp.log1p(xp.exp(-xp.abs(z)))).mean()
        grad = (sigmoid(z) - t) / z.dtype.type(z.size)      # dL/dz = (s(z) - t) / n for the mean
        return loss, grad
        # --8<-- [end:bcewithlogits-call]


class BCE:
    """Binary cross-entropy on probabilities p (the textbook form), averaged.

        l(p, t) = -[t log p + (1 - t) log(1 - p)]
        dl/dp   = (p - t) / (p (1 - p))

    p is clipped to [eps, 1 - eps] first so log(0) never happens; prefer
    :class:`BCEWithLogits`, which never needs clipping.
    """

    def __init__(self, eps=1e-7):
        self.eps = eps

    def __call__(self, probs, targets):
        _check_pair("BCE", "probabilities", probs, targets)
        # --8<-- [start:bce-call]
        xp = get_array_module(probs)
        p = xp.clip(probs, self.eps, 1 - self.eps)
        t = targets
        loss = -(t * xp.log(p) + (1 - t) * xp.log(1 - p)).mean()
        grad = (p - t) / (p * (1 - p)) / p.dtype.type(p.size)   # dL/dp, divided by n for the mean
        return loss, grad
        # --8<-- [end:bce-call]


class SoftmaxCrossEntropy:
    """Softmax cross-entropy on logits z (N, K) for integer labels y (N,), averaged over N.

        log p_k = z_k - logsumexp(z)            (stable: logsumexp(z) = m + log sum exp(z - m), m = max z)
        l(z, y) = -log p_y
        dl/dz   = softmax(z) - onehot(y)        (divided by N for the mean)
    """

    def __call__(self, logits, labels):
        check_same_device("SoftmaxCrossEntropy", logits, labels)
        if logits.ndim != 2:
            raise ValueError(f"SoftmaxCrossEntropy: logits must have shape (N, K), got {tuple(logits.shape)}")
        n, k = logits.shape
        if labels.shape != (n,):
            raise ValueError(f"SoftmaxCrossEntropy: labels must have shape ({n},) to match logits "
                             f"{tuple(logits.shape)}, got {tuple(labels.shape)}")
        if labels.dtype.kind not in "iu":
            raise TypeError(f"SoftmaxCrossEntropy: labels must be integers (class indices), got {labels.dtype}")
        xp = get_array_module(logits)
        if n and (int(labels.min()) < 0 or int(labels.max()) >= k):
            raise ValueError(f"SoftmaxCrossEntropy: labels must lie in [0, {k - 1}], "
                             f"got values in [{int(labels.min())}, {int(labels.max())}]")
        # --8<-- [start:softmaxcrossentropy-call]
        shifted = logits - logits.max(axis=1, keepdims=True)                  # z - m: every exp <= 1
        log_probs = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        rows = xp.arange(n)
        loss = -log_probs[rows, labels].mean()
        grad = xp.exp(log_probs)                                              # softmax(z)
        grad[rows, labels] -= 1                                               # - onehot(y)
        grad /= logits.dtype.type(n)                                          # the mean over N
        return loss, grad
        # --8<-- [end:softmaxcrossentropy-call]


class BernoulliNLL:
    """-log p(t | z) for pixels that are Bernoulli with logits z: BCE with logits, summed over each
    sample's entries and averaged over the batch, so the loss reads in nats per image (a VAE's
    reconstruction term).

        L       = (1/N) sum_n sum_j [max(z_nj, 0) - z_nj t_nj + log(1 + exp(-|z_nj|))]
        dL/dz   = (s(z) - t) / N                                   s = sigmoid

    Targets in [0, 1]; pytorch/examples' VAE uses the grey levels themselves, not binarised.
    """

    def __call__(self, logits, targets):
        _check_pair("BernoulliNLL", "logits", logits, targets)
        xp = get_array_module(logits)
        # --8<-- [start:bernoullinll-call]
        z, t = logits, targets
        n = z.dtype.type(len(z))
        loss = (xp.maximum(z, 0) - z * t + xp.log1p(xp.exp(-xp.abs(z)))).sum() / n
        grad = (sigmoid(z) - t) / n                         # dL/dz = (s(z) - t) / N: summed, then the batch mean
        # --8<-- [end:bernoullinll-call]
        return loss, grad


class GaussianKL:
    """KL(N(mu, diag sigma^2) || N(0, I)) in closed form, summed over the latent dimensions and
    averaged over the batch (nats per image; a VAE's regulariser). Takes (mu, log sigma^2).

        KL          = (1/N) sum_n sum_j (mu^2 + sigma^2 - 1 - log sigma^2) / 2
        dKL/dmu     = mu / N
        dKL/dlog s2 = (sigma^2 - 1) / (2 N)

    Returns (kl, (dmu, dlog_var)).
    """

    def __call__(self, mu, log_var):
        check_same_device("GaussianKL", mu, log_var)
        if mu.shape != log_var.shape or mu.ndim != 2:
            raise ValueError(f"GaussianKL: mu and log_var must have one shape (N, z_dim), got "
                             f"{tuple(mu.shape)} and {tuple(log_var.shape)}")
        xp = get_array_module(mu)
        n, half = mu.dtype.type(len(mu)), mu.dtype.type(0.5)
        # --8<-- [start:gaussiankl-call]
        var = xp.exp(log_var)                               # sigma^2
        kl = (mu * mu + var - 1 - log_var).sum() * half / n
        dmu = mu / n                                        # dKL/dmu = mu, per image, then the batch mean
        dlog_var = (var - 1) * half / n                     # dKL/dlog sigma^2 = (sigma^2 - 1) / 2, then the mean
        # --8<-- [end:gaussiankl-call]
        return kl, (dmu, dlog_var)
class GaussianNLL:
    """Negative log-likelihood of targets c under N(mu, sigma^2 I), mu (N, D), summed over D, averaged over N.

        -log q(c | mu) = sum_j [ (c_j - mu_j)^2 / (2 sigma^2) + log sigma + log(2 pi) / 2 ]
        dl/dmu_j       = (mu_j - c_j) / sigma^2          (divided by N for the mean)

    sigma is fixed (InfoGAN's continuous codes use sigma = 1, as the paper's
    MNIST code does): then the loss is half the squared error plus a constant.
    """

    def __init__(self, sigma=1.0):
        if not sigma > 0:
            raise ValueError(f"GaussianNLL: sigma must be > 0, got {sigma!r}")
        self.sigma = sigma

    def __call__(self, mean, targets):
        _check_pair("GaussianNLL", "means", mean, targets)
        if mean.ndim != 2:
            raise ValueError(f"GaussianNLL: means must have shape (N, D), got {tuple(mean.shape)}")
        n, d = mean.shape
        var = self.sigma ** 2
        # --8<-- [start:gaussiannll-call]
        diff = mean - targets                                                   # mu - c
        constant = d * (math.log(self.sigma) + 0.5 * math.log(2 * math.pi))    # sum_j log(sigma sqrt(2 pi))
        loss = (diff * diff).sum(axis=1).mean() / (2 * var) + constant
        grad = diff / mean.dtype.type(var * n)                                  # dL/dmu = (mu - c) / (sigma^2 N)
        # --8<-- [end:gaussiannll-call]
        return loss, grad


class L1:
    """Mean absolute error between images x and targets t, averaged over all entries.

        l(x, t) = |x - t|
        dl/dx   = sign(x - t)          (0 where x = t: the subgradient PyTorch's L1Loss takes)

    pix2pix's λ L1 term and CycleGAN's cycle and identity losses: the median of
    what could be drawn, so it keeps the target's layout without the blur of a mean.
    """

    def __call__(self, values, targets):
        _check_pair("L1", "values", values, targets)
        # --8<-- [start:l1-call]
        xp = get_array_module(values)
        diff = values - targets
        loss = xp.abs(diff).mean()
        grad = xp.sign(diff) / diff.dtype.type(diff.size)   # dL/dx = sign(x - t) / n for the mean
        return loss, grad
        # --8<-- [end:l1-call]


class MSE:
    """Mean squared error between x and targets t, averaged over all entries.

        l(x, t) = (x - t)^2
        dl/dx   = 2 (x - t)

    SRResNet's pixel loss, the perceptual loss on features, and the least-squares GAN's terms.
    """

    def __call__(self, values, targets):
        _check_pair("MSE", "values", values, targets)
        # --8<-- [start:mse-call]
        diff = values - targets
        loss = (diff * diff).mean()
        grad = 2 * diff / diff.dtype.type(diff.size)        # dL/dx = 2 (x - t) / n for the mean
        return loss, grad
        # --8<-- [end:mse-call]
