"""Batch normalisation, with PyTorch's semantics.

Training: normalise with the batch's mean and *biased* variance, and update the
running estimates with momentum 0.1 using the *unbiased* variance.
Evaluation: normalise with the running estimates.

    x_hat = (x - mu) / sqrt(var + eps)
    y     = gamma * x_hat + beta

BatchNorm1d normalises (N, C) over N; BatchNorm2d normalises (N, C, H, W) over
N, H and W: one mean and variance per channel.
"""
import numpy as np

from .. import fastpath
from ..backend import get_array_module, to_device
from ..nn import Layer, Parameter, require_int


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
        xp = get_array_module(x)
        self.fast = fastpath.active(x)
        if self.fast:
            return self._forward_fast(x)
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

    def backward(self, dy):
        if self.fast:
            return self._backward_fast(dy)
        shape = self.param_shape(self.num_features)
        gamma = self.weight.data.reshape(shape)
        if self.requires_grad:
            self.weight.grad += (dy * self.x_hat).sum(axis=self.axes)   # dL/dgamma = sum dy * x_hat
            self.bias.grad += dy.sum(axis=self.axes)                    # dL/dbeta  = sum dy
        dx_hat = dy * gamma                                         # dL/dx_hat = dy * gamma
        if not self.training:                                       # mu, var are constants in eval
            return dx_hat * self.inv_std                            # dL/dx = dL/dx_hat / sqrt(var + eps)
        # Training: mu and var depend on every x in the batch. With m numbers per channel,
        # dL/dx = inv_std / m * (m dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat))
        m = dy.size // self.num_features
        sum_dx_hat = dx_hat.sum(axis=self.axes).reshape(shape)                     # through mu
        sum_dx_hat_x_hat = (dx_hat * self.x_hat).sum(axis=self.axes).reshape(shape)  # through var
        return (self.inv_std / m) * (m * dx_hat - sum_dx_hat - self.x_hat * sum_dx_hat_x_hat)

    # ---- the fast path (minigan/fastpath.py) -----------------------------------------------
    # The same numbers in fewer passes over memory. Per-channel sums are matrix-vector products
    # (BLAS, on every core) instead of NumPy's reductions over several axes; x_hat is never
    # stored (backward rebuilds what it needs from x), and the input gradient is written as
    # dx = a dy + k1 x + k0 with per-channel a, k1, k0: the plain formula, expanded.
    def _forward_fast(self, x):
        x = _channels_in_one_block(x)
        y = np.empty_like(x)                                       # laid out as x is
        xv, yv = _view(x), _view(y)                                # (rows, C) or (N, C, L), see below
        m = x.size // self.num_features
        gamma, beta = self.weight.data, self.bias.data
        if self.training:
            mu = _sum_per_channel(xv) / m
            np.subtract(xv, _coef(xv, mu), out=yv)                     # x - mu
            var = _dot_per_channel(yv, yv) / m                         # biased: divides by m
            mom = self.momentum
            self.running_mean = (1 - mom) * self.running_mean + mom * mu
            self.running_var = (1 - mom) * self.running_var + mom * var * (m / max(m - 1, 1))  # unbiased
            self.inv_std = 1 / np.sqrt(var + x.dtype.type(self.eps))
            yv *= _coef(xv, gamma * self.inv_std)                      # gamma x_hat
        else:
            mu, self.inv_std = self.running_mean, 1 / np.sqrt(self.running_var + x.dtype.type(self.eps))
            a = gamma * self.inv_std
            np.multiply(xv, _coef(xv, a), out=yv)
            yv -= _coef(xv, mu * a)                                    # gamma (x - mu) / sqrt(var + eps)
        yv += _coef(xv, beta)                                          # + beta
        self.x, self.mu = x, mu
        return y

    def _backward_fast(self, dy):
        x, mu, inv_std = self.x, self.mu, self.inv_std
        if dy.strides != x.strides:                                # lay dy out as x is
            dy = _copy_laid_out_as(dy, x)
        dx = np.empty_like(x)
        xv, dyv, dxv = _view(x), _view(dy), _view(dx)
        m = x.size // self.num_features
        a = self.weight.data * inv_std                             # dy/dx at fixed mu, var: gamma / sqrt(var + eps)
        sum_dy = _sum_per_channel(dyv)                             # dL/dbeta = sum dy
        sum_dy_x_hat = inv_std * (_dot_per_channel(dyv, xv) - mu * sum_dy)  # dL/dgamma = sum dy x_hat
        if self.requires_grad:
            self.weight.grad += sum_dy_x_hat
            self.bias.grad += sum_dy
        np.multiply(dyv, _coef(xv, a), out=dxv)                    # a dy
        if not self.training:
            return dx                                              # dL/dx = gamma dy / sqrt(var + eps)
        # dL/dx = a/m (m dy - sum dy - x_hat sum(dy x_hat)) = a dy + k1 x + k0
        k1 = -a * sum_dy_x_hat * inv_std / m
        k0 = -a * sum_dy / m - k1 * mu
        dxv += xv * _coef(xv, k1)
        dxv += _coef(xv, k0)
        return dx

    def __repr__(self):
        return f"{type(self).__name__}({self.num_features}, eps={self.eps}, momentum={self.momentum})"


# How the fast path sees an array's channels: as (rows, C) when the channels are last in memory
# (BatchNorm1d's (N, C); an NCHW view of channels-last memory, as the convolutions return), or
# as planes (N, C, H*W) when the array is NCHW in C order.
def _channels_in_one_block(x):
    """x itself where its memory is one of the two layouts, else a C-order copy."""
    return x if _view(x) is not None else np.ascontiguousarray(x)


def _view(x):
    """(rows, C) or (N, C, L) view of x, or None for other layouts."""
    n, c = x.shape[:2]
    if x.flags.c_contiguous:
        return x if x.ndim == 2 else x.reshape(n, c, -1)
    last = x.transpose(0, *range(2, x.ndim), 1)                  # channels last
    return last.reshape(-1, c) if last.flags.c_contiguous else None


def _coef(view, v):
    """A per-channel vector shaped to broadcast against a view from _view."""
    return v if view.ndim == 2 else v.reshape(1, -1, 1)


def _sum_per_channel(v):
    """sum of a (rows, C) or (N, C, L) view over everything but the channels, as matrix-vector products."""
    if v.ndim == 2:
        return np.ones(v.shape[0], dtype=v.dtype) @ v
    n, c, length = v.shape
    return (v.reshape(n * c, length) @ np.ones(length, dtype=v.dtype)).reshape(n, c).sum(axis=0)


def _dot_per_channel(u, v):
    """sum of u * v over everything but the channels (two views of the same layout)."""
    return np.einsum("rc,rc->c", u, v) if u.ndim == 2 else np.einsum("ncl,ncl->c", u, v)


def _copy_laid_out_as(a, like):
    out = np.empty_like(like)
    out[...] = a
    return out


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
