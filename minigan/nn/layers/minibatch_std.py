r"""Minibatch standard deviation (Karras et al. 2018): one extra channel that tells D how varied a group is.

A discriminator that judges each image on its own cannot see that a
generator draws the same few shapes again and again. This layer gives it a
summary of the batch: in each group of g samples, the standard deviation of
every feature across the group, averaged over the features, appended to each
sample of the group as one constant channel. A collapsed G has a small value
there, and D learns to tell.

For a group with features f_{n,k} (n = 1..g samples, k = 1..F = C H W):

    μ_k = mean_n f_{n,k},   d_{n,k} = f_{n,k} - μ_k,   s_k = sqrt(mean_n d_{n,k}^2 + ε),
    σ = mean_k s_k,         y = [x, σ]  (σ broadcast over the group, H and W)

The backward and the double backward (for R1 through a D that holds this layer)
are derived step by step in docs/layers/minibatch_std.md. The layer mixes the
samples of a group, so with it a gradient penalty's row n is the gradient of
sum_m D(x_m) with respect to x_n, not of D(x_n) alone (as autograd computes it
in StyleGAN's R1); that page says what this means.
"""
from ...backend import get_array_module
from ..core import Layer, ShapeError, require_int


class MinibatchStd(Layer):
    """(N, C, H, W) -> (N, C + 1, H, W); groups of ``group_size`` consecutive samples (N divisible by it)."""

    def __init__(self, group_size=4, eps=1e-8):
        self.group_size = require_int("MinibatchStd", "group_size", group_size, 2)
        self.eps = eps

    def check_input(self, x):
        self.expect_shape(x, (None, None, None, None), "(N, C, H, W)")
        g = min(self.group_size, x.shape[0])
        if x.shape[0] < 2 or x.shape[0] % g:
            raise ShapeError(f"{self!r}: expected a batch of N >= 2 samples divisible into groups of "
                             f"{self.group_size} (or N < {self.group_size}), got {tuple(x.shape)}")

    def forward(self, x):
        xp = get_array_module(x)
        n, c, h, w = x.shape
        g = min(self.group_size, n)
        # --8<-- [start:minibatchstd-forward]
        f = x.reshape(n // g, g, c * h * w)                         # (groups, g, F)
        self.d = f - f.mean(axis=1, keepdims=True)                 # d = f - μ
        self.s = xp.sqrt((self.d * self.d).mean(axis=1) + x.dtype.type(self.eps))   # s (groups, F)
        sigma = self.s.mean(axis=1)                                 # σ per group
        # --8<-- [end:minibatchstd-forward]
        extra = xp.broadcast_to(sigma[:, None, None, None, None], (n // g, g, 1, h, w)).reshape(n, 1, h, w)
        return xp.concatenate([x, extra.astype(x.dtype)], axis=1)

    def backward(self, dy):
        n, c1, h, w = dy.shape
        m, g, f_size = self.d.shape
        dsigma = dy[:, c1 - 1].reshape(m, g * h * w).sum(axis=1)    # dL/dσ: σ was copied to g*H*W places
        self.dsigma = dsigma                                        # double_backward needs it
        coeff = dsigma[:, None] / (f_size * g * self.s)             # c / (F g s_k)     (groups, F)
        df = coeff[:, None, :] * self.d                             # dL/df = c d / (F g s)
        return dy[:, :c1 - 1] + df.reshape(n, c1 - 1, h, w)         # the x channels pass straight through

    def double_backward(self, ddx):
        xp = get_array_module(ddx)
        n, c, h, w = ddx.shape
        m, g, f_size = self.d.shape
        r = ddx.reshape(m, g, f_size)
        a = (r * self.d).sum(axis=1)                                # a_k = sum_n ddx_nk d_nk      (groups, F)
        extra = (a / self.s).sum(axis=1) / (f_size * g)             # dP/d(dy) on the extra channel, per group
        ddy_extra = xp.broadcast_to(extra[:, None, None, None, None], (m, g, 1, h, w)).reshape(n, 1, h, w)
        ddy = xp.concatenate([ddx, ddy_extra.astype(ddx.dtype)], axis=1)
        coeff = (self.dsigma / (f_size * g))[:, None, None]          # c / (F g)
        dx_extra = coeff * ((r - r.mean(axis=1, keepdims=True)) / self.s[:, None, :]
                            - a[:, None, :] * self.d / (g * self.s[:, None, :] ** 3))   # dP/df, second order
        return ddy, dx_extra.reshape(n, c, h, w)

    def __repr__(self):
        return f"MinibatchStd(group_size={self.group_size})"
