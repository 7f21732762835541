r"""Instance normalisation (Ulyanov et al. 2016), with PyTorch's ``nn.InstanceNorm2d`` semantics.

Each sample's each channel is normalised over its own H x W pixels, with the
*biased* variance, then (``affine=True``) scaled and shifted per channel:

    x_hat[n, c] = (x[n, c] - mu[n, c]) / sqrt(var[n, c] + eps)      mu, var: over (H, W)
    y[n, c]     = gamma[c] * x_hat[n, c] + beta[c]

No statistic mixes samples, and training and evaluation compute the same thing
(PyTorch's default, ``track_running_stats=False``): a translated image does not
depend on the other images of its batch. CycleGAN's generators and
discriminators use it in place of batchnorm.

It is LayerNorm's normalisation over the axes (H, W) of each (n, c), so the
backward is LayerNorm's (docs/layers/layernorm.md), with m = H W entries per
group, ρ = 1/sqrt(var + eps) and Pi(v) = v - mean(v) - x_hat mean(v x_hat):

    dL/dx = ρ Pi(gamma dL/dy)

docs/layers/instancenorm.md writes it out. On NumPy arrays forward and backward
hand over to a faster twin that computes the same numbers
(minigan/nn/fastpath/instancenorm.py); ``with fastpath.plain():`` or MINIGAN_PLAIN=1
keeps every call on these lines.
"""
import numpy as np

from ...backend import get_array_module, to_device
from .. import fastpath
from ..core import Layer, Parameter, ShapeError, require_int

PIXELS = (2, 3)  # the axes each (sample, channel) group is normalised over


class InstanceNorm2d(Layer):
    """y = gamma * (x - mu) / sqrt(var + eps) + beta, statistics per sample and channel over (H, W).

    Shapes: x (N, C, H, W) with H W >= 2, gamma and beta (C,) when ``affine``, y like x.
    ``affine=False`` (PyTorch's default): no parameters, y = x_hat.
    """

    init_kind = "norm"

    def __init__(self, num_features, eps=1e-5, affine=False, dtype=np.float32):
        self.num_features = require_int("InstanceNorm2d", "num_features", num_features, 1)
        if not eps > 0:
            raise ValueError(f"InstanceNorm2d: eps must be > 0, got {eps!r}")
        self.eps, self.affine = eps, bool(affine)
        self.init_kind = "norm" if self.affine else None        # nothing for dcgan_init to set without gamma
        if self.affine:
            self.weight = Parameter(to_device(np.ones(num_features, dtype=dtype)))    # gamma
            self.bias = Parameter(to_device(np.zeros(num_features, dtype=dtype)))     # beta
        else:
            self.weight = self.bias = None

    def check_input(self, x):
        super().check_input(x)
        self.expect_shape(x, (None, self.num_features, None, None), f"(N, {self.num_features}, H, W)")
        if x.shape[2] * x.shape[3] < 2:
            raise ShapeError(f"{self!r}: expected H W >= 2 pixels per channel (one pixel has no spread to "
                             f"normalise), got {tuple(x.shape)}")

    def _per_channel(self, v):
        return v.reshape(1, -1, 1, 1)                               # (C,) -> broadcast over (N, C, H, W)

    def forward(self, x):
        self.fast = fastpath.active(x)                              # backward follows the path forward took
        if self.fast:
            return fastpath.instancenorm.forward(self, x)           # NumPy: the same numbers, faster
        xp = get_array_module(x)
        mu = x.mean(axis=PIXELS, keepdims=True)                     # (N, C, 1, 1)
        xc = x - mu
        var = (xc * xc).mean(axis=PIXELS, keepdims=True)            # biased: divides by m = H W
        self.inv_std = 1 / xp.sqrt(var + x.dtype.type(self.eps))    # ρ = 1 / sqrt(var + eps)
        self.x_hat = xc * self.inv_std
        if not self.affine:
            return self.x_hat
        return self._per_channel(self.weight.data) * self.x_hat + self._per_channel(self.bias.data)

    def backward(self, dy):
        if self.fast:
            return fastpath.instancenorm.backward(self, dy)
        if self.affine:
            if self.requires_grad:
                self.weight.grad += (dy * self.x_hat).sum(axis=(0, 2, 3))   # dL/dgamma = sum_{n,h,w} dy x_hat
                self.bias.grad += dy.sum(axis=(0, 2, 3))                     # dL/dbeta  = sum_{n,h,w} dy
            a = dy * self._per_channel(self.weight.data)            # dL/dx_hat = gamma dy
        else:
            a = dy
        mean_a = a.mean(axis=PIXELS, keepdims=True)                 # mean(dL/dx_hat): through mu
        omega = (a * self.x_hat).mean(axis=PIXELS, keepdims=True)   # ω = mean(dL/dx_hat x_hat): through var
        return self.inv_std * (a - mean_a - self.x_hat * omega)     # dL/dx = ρ Pi(dL/dx_hat)

    def __repr__(self):
        return f"InstanceNorm2d({self.num_features}, eps={self.eps}, affine={self.affine})"
