"""Batch normalisation, with PyTorch's semantics.

Training: normalise with the batch's mean and *biased* variance, and update the
running estimates with momentum 0.1 using the *unbiased* variance.
Evaluation: normalise with the running estimates.

    x_hat = (x - mu) / sqrt(var + eps)
    y     = gamma * x_hat + beta

BatchNorm1d normalises (N, C) over N; BatchNorm2d normalises (N, C, H, W) over
N, H and W: one mean and variance per channel.

The lines below are the ones docs/layers/batchnorm.md derives. On NumPy arrays
forward and backward hand over to a faster twin that computes the same numbers
(minigan/nn/fastpath/batchnorm.py); ``with fastpath.plain():`` or MINIGAN_PLAIN=1
keeps every call on these lines, e.g. to step through them in a debugger.
"""
import numpy as np

from ...backend import get_array_module, to_device
from .. import fastpath
from ..core import Layer, Parameter, require_int


class _BatchNorm(Layer):
    buffers = ("running_mean", "running_var")
    axes = None        # the axes statistics are taken over
    param_shape = None  # how gamma, beta broadcast against x
    init_kind = "norm"
    double_backward_hint = ("batchnorm mixes the samples of a batch, so one sample's gradient depends on the "
                            "others; use LayerNorm (or no normalisation) in a critic with a gradient penalty")

    def __init__(self, num_features, eps=1e-5, momentum=0.1, dtype=np.float32):
        name = type(self).__name__
        require_int(name, "num_features", num_features, 1)
        if not eps > 0:
            raise ValueError(f"{name}: eps must be > 0, got {eps!r}")
        if not 0 <= momentum <= 1:
            raise ValueError(f"{name}: momentum must be in [0, 1], got {momentum!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = Parameter(to_device(np.ones(num_features, dtype=dtype)))   # gamma
        self.bias = Parameter(to_device(np.zeros(num_features, dtype=dtype)))    # beta
        self.running_mean = to_device(np.zeros(num_features, dtype=dtype))
        self.running_var = to_device(np.ones(num_features, dtype=dtype))

    def forward(self, x):
        self.fast = fastpath.active(x)                # NumPy: the same numbers, faster (nn/fastpath/batchnorm.py)
        if self.fast:
            return fastpath.batchnorm.forward(self, x)
        xp = get_array_module(x)
        shape = self.param_shape(self.num_features)
        gamma, beta = self.weight.data.reshape(shape), self.bias.data.reshape(shape)
        if self.training:
            m = x.size // self.num_features                        # numbers per channel
            mu = x.mean(axis=self.axes)
            xc = x - mu.reshape(shape)
            var = (xc * xc).mean(axis=self.axes)                   # biased: divides by m
            mom = self.momentum
            self.running_mean = (1 - mom) * self.running_mean + mom * mu
            self.running_var = (1 - mom) * self.running_var + mom * var * (m / max(m - 1, 1))  # unbiased
        else:
            xc = x - self.running_mean.reshape(shape)
            var = self.running_var
        self.inv_std = (1 / xp.sqrt(var + x.dtype.type(self.eps))).reshape(shape)
        self.x_hat = xc * self.inv_std
        return gamma * self.x_hat + beta

    # --8<-- [start:batchnorm-backward-dispatch]
    def backward(self, dy):
        if self.fast:                                 # forward took the fast path, so backward does too
            return fastpath.batchnorm.backward(self, dy)
    # --8<-- [end:batchnorm-backward-dispatch]
        shape = self.param_shape(self.num_features)
        gamma = self.weight.data.reshape(shape)
        # --8<-- [start:batchnorm-backward-params]
        if self.requires_grad:
            self.weight.grad += (dy * self.x_hat).sum(axis=self.axes)   # dL/dgamma = sum dy * x_hat
            self.bias.grad += dy.sum(axis=self.axes)                    # dL/dbeta  = sum dy
        # --8<-- [end:batchnorm-backward-params]
        # --8<-- [start:batchnorm-backward-dx-hat]
        dx_hat = dy * gamma                                         # dL/dx_hat = dy * gamma
        # --8<-- [end:batchnorm-backward-dx-hat]
        # --8<-- [start:batchnorm-backward-eval]
        if not self.training:                                       # mu, var are constants in eval
            return dx_hat * self.inv_std                            # dL/dx = dL/dx_hat / sqrt(var + eps)
        # --8<-- [end:batchnorm-backward-eval]
        # Training: mu and var depend on every x in the batch. With m numbers per channel,
        # dL/dx = inv_std / m * (m dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat))
        # --8<-- [start:batchnorm-backward-train]
        m = dy.size // self.num_features
        sum_dx_hat = dx_hat.sum(axis=self.axes).reshape(shape)                     # through mu
        sum_dx_hat_x_hat = (dx_hat * self.x_hat).sum(axis=self.axes).reshape(shape)  # through var
        return (self.inv_std / m) * (m * dx_hat - sum_dx_hat - self.x_hat * sum_dx_hat_x_hat)
        # --8<-- [end:batchnorm-backward-train]

    def __repr__(self):
        return f"{type(self).__name__}({self.num_features}, eps={self.eps}, momentum={self.momentum})"


class BatchNorm1d(_BatchNorm):
    """Batchnorm for (N, C): statistics over the batch axis."""

    axes = (0,)

    @staticmethod
    def param_shape(c):
        return (1, c)

    def check_input(self, x):
        super().check_input(x)
        self.expect_shape(x, (None, self.num_features), f"(N, {self.num_features})")
        if self.training and x.shape[0] < 2:
            raise ValueError(f"{self!r}: training mode needs more than 1 sample per batch, got {tuple(x.shape)}")


class BatchNorm2d(_BatchNorm):
    """Batchnorm for (N, C, H, W): statistics over N, H, W per channel."""

    axes = (0, 2, 3)

    @staticmethod
    def param_shape(c):
        return (1, c, 1, 1)

    def check_input(self, x):
        super().check_input(x)
        self.expect_shape(x, (None, self.num_features, None, None), f"(N, {self.num_features}, H, W)")
        if self.training and x.shape[0] * x.shape[2] * x.shape[3] < 2:
            raise ValueError(f"{self!r}: training mode needs more than 1 value per channel, got {tuple(x.shape)}")
