"""Batchnorm's fast path: the numbers of ``layers/batchnorm.py``'s plain lines, in fewer passes over memory.

``_BatchNorm.forward`` and ``.backward`` hand a NumPy array here (see the
package docstring); ``layer`` is the batchnorm layer, whose parameters, mode
and cache these functions read and write as its own methods would.

Per-channel sums are matrix-vector products (BLAS, on every core) instead of
NumPy's reductions over several axes; x_hat is never stored (backward rebuilds
what it needs from x), and the input gradient is written as
dx = a dy + k1 x + k0 with per-channel a, k1, k0: the plain formula, expanded
(derived in docs/layers/batchnorm.md, "The fast path").
"""
import numpy as np


def forward(layer, x):
    """``layer.forward(x)``; remembers x, mu and inv_std (per channel, shape (C,)) for :func:`backward`."""
    x = _channels_in_one_block(x)
    y = np.empty_like(x)                                       # laid out as x is
    xv, yv = _view(x), _view(y)                                # (rows, C) or (N, C, L), see below
    m = x.size // layer.num_features
    gamma, beta = layer.weight.data, layer.bias.data
    if layer.training:
        mu = _sum_per_channel(xv) / m
        np.subtract(xv, _coef(xv, mu), out=yv)                     # x - mu
        var = _dot_per_channel(yv, yv) / m                         # biased: divides by m
        mom = layer.momentum
        layer.running_mean = (1 - mom) * layer.running_mean + mom * mu
        layer.running_var = (1 - mom) * layer.running_var + mom * var * (m / max(m - 1, 1))  # unbiased
        layer.inv_std = 1 / np.sqrt(var + x.dtype.type(layer.eps))
        yv *= _coef(xv, gamma * layer.inv_std)                     # gamma x_hat
    else:
        mu, layer.inv_std = layer.running_mean, 1 / np.sqrt(layer.running_var + x.dtype.type(layer.eps))
        a = gamma * layer.inv_std
        np.multiply(xv, _coef(xv, a), out=yv)
        yv -= _coef(xv, mu * a)                                    # gamma (x - mu) / sqrt(var + eps)
    yv += _coef(xv, beta)                                          # + beta
    layer.x, layer.mu = x, mu
    return y


def backward(layer, dy):
    """``layer.backward(dy)`` after a fast :func:`forward`: adds into the parameters' .grad, returns dL/dx."""
    x, mu, inv_std = layer.x, layer.mu, layer.inv_std
    if dy.strides != x.strides:                                # lay dy out as x is
        dy = _copy_laid_out_as(dy, x)
    dx = np.empty_like(x)
    xv, dyv, dxv = _view(x), _view(dy), _view(dx)
    m = x.size // layer.num_features
    a = layer.weight.data * inv_std                            # dy/dx at fixed mu, var: gamma / sqrt(var + eps)
    sum_dy = _sum_per_channel(dyv)                             # dL/dbeta = sum dy
    sum_dy_x_hat = inv_std * (_dot_per_channel(dyv, xv) - mu * sum_dy)  # dL/dgamma = sum dy x_hat
    if layer.requires_grad:
        layer.weight.grad += sum_dy_x_hat
        layer.bias.grad += sum_dy
    np.multiply(dyv, _coef(xv, a), out=dxv)                    # a dy
    if not layer.training:
        return dx                                              # dL/dx = gamma dy / sqrt(var + eps)
    add_mean_and_variance_paths(dxv, xv, a, sum_dy, sum_dy_x_hat, inv_std, mu, m, lambda v: _coef(xv, v))
    return dx


def add_mean_and_variance_paths(dxv, xv, a, sum_dy, sum_dy_x_hat, inv_std, mu, m, coef):
    """dxv, holding a dy, becomes dL/dx: the paths through mu and var added as k1 x + k0.

    Each argument but the arrays is one number per group of m entries (a channel here, a
    sample's channel in instance norm's path); ``coef`` shapes such numbers to broadcast.
    """
    # dL/dx = a/m (m dy - sum dy - x_hat sum(dy x_hat)) = a dy + k1 x + k0
    k1 = -a * sum_dy_x_hat * inv_std / m
    k0 = -a * sum_dy / m - k1 * mu
    dxv += xv * coef(k1)
    dxv += coef(k0)


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
