"""Instance norm's fast path: the numbers of ``layers/instancenorm.py``'s plain lines, in fewer passes.

``InstanceNorm2d.forward`` and ``.backward`` hand a NumPy array here (see the
package docstring); ``layer`` is the instance-norm layer, whose parameters and
cache these functions read and write as its own methods would.

The same arithmetic as batchnorm's fast path (``fastpath/batchnorm.py``), with
statistics per sample and channel instead of per channel: the sums over each
(n, c)'s H W pixels are contractions of one axis (the plain lines' reductions
over the two axes (H, W) of an NCHW view of channels-last memory walk memory in
short strided runs), x_hat is never stored, and the input gradient is
dx = a dy + k1 x + k0 with a, k1, k0 per (n, c): the plain formula, expanded
(derived in docs/layers/instancenorm.md, "The fast path").
"""
import numpy as np

from .batchnorm import _channels_in_one_block, _copy_laid_out_as, add_mean_and_variance_paths  # batchnorm's, shared


def forward(layer, x):
    """``layer.forward(x)``; remembers x, mu and inv_std (per sample and channel, shape (N, C)) for :func:`backward`."""
    x = _channels_in_one_block(x)
    y = np.empty_like(x)                                       # laid out as x is
    last = _channels_last(x)
    xv, yv = _view(x, last), _view(y, last)                    # (N, L, C) or (N, C, L), L = H W
    m = x.shape[2] * x.shape[3]
    mu = _sum(xv, last) / m                                    # (N, C)
    np.subtract(xv, _coef(mu, last), out=yv)                   # x - mu
    var = _dot(yv, yv, last) / m                               # biased: divides by m
    layer.inv_std = 1 / np.sqrt(var + x.dtype.type(layer.eps))
    if layer.affine:
        yv *= _coef(layer.weight.data * layer.inv_std, last)   # gamma x_hat
        yv += _coef(layer.bias.data[None, :], last)            # + beta
    else:
        yv *= _coef(layer.inv_std, last)                       # x_hat
    layer.x, layer.mu = x, mu
    return y


def backward(layer, dy):
    """``layer.backward(dy)`` after a fast :func:`forward`: adds into the parameters' .grad, returns dL/dx."""
    x, mu, inv_std = layer.x, layer.mu, layer.inv_std
    if dy.strides != x.strides:                                # lay dy out as x is
        dy = _copy_laid_out_as(dy, x)
    dx = np.empty_like(x)
    last = _channels_last(x)
    xv, dyv, dxv = _view(x, last), _view(dy, last), _view(dx, last)
    m = x.shape[2] * x.shape[3]
    gamma = layer.weight.data if layer.affine else x.dtype.type(1)
    a = gamma * inv_std                                        # (N, C): dy/dx at fixed mu, var
    sum_dy = _sum(dyv, last)                                   # sum over (H, W) of dy
    sum_dy_x_hat = inv_std * (_dot(dyv, xv, last) - mu * sum_dy)   # sum over (H, W) of dy x_hat
    if layer.affine and layer.requires_grad:
        layer.weight.grad += sum_dy_x_hat.sum(axis=0)          # dL/dgamma = sum_{n,h,w} dy x_hat
        layer.bias.grad += sum_dy.sum(axis=0)                  # dL/dbeta  = sum_{n,h,w} dy
    np.multiply(dyv, _coef(a, last), out=dxv)                  # a dy
    add_mean_and_variance_paths(dxv, xv, a, sum_dy, sum_dy_x_hat, inv_std, mu, m, lambda v: _coef(v, last))
    return dx


def _channels_last(x):
    """True for an NCHW view of (N, H, W, C) memory (as the convolutions return), False for C-order NCHW."""
    return not x.flags.c_contiguous


def _view(x, last):
    """(N, L, C) view of channels-last memory, or (N, C, L) of NCHW memory; L = H W, no copy."""
    n, c = x.shape[:2]
    return x.transpose(0, 2, 3, 1).reshape(n, -1, c) if last else x.reshape(n, c, -1)


def _coef(v, last):
    """An (N, C) (or (1, C)) array shaped to broadcast against a view from _view."""
    return v[:, None, :] if last else v[:, :, None]


def _sum(v, last):
    """(N, C): the sum over L of an (N, L, C) or (N, C, L) view."""
    return np.einsum("nlc->nc", v) if last else np.einsum("ncl->nc", v)


def _dot(u, v, last):
    """(N, C): the sum over L of u * v (two views of the same layout)."""
    return np.einsum("nlc,nlc->nc", u, v) if last else np.einsum("ncl,ncl->nc", u, v)
