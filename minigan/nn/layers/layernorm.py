r"""Layer normalisation (Ba et al. 2016), with PyTorch's ``nn.LayerNorm`` semantics.

Each sample is normalised over its last axes (``normalized_shape``), with the
*biased* variance, and then scaled and shifted entry by entry:

    x_hat = (x - mu) / sqrt(var + eps)        mu, var: over the normalised axes, per sample
    y     = gamma * x_hat + beta              gamma, beta: of shape normalized_shape

Unlike batchnorm, no sample's output depends on another sample, and training
and evaluation compute the same thing. That is what a critic with a gradient
penalty needs (WGAN-GP): each sample's input gradient must be its own.

Backward and double backward are derived in docs/layers/layernorm.md, whose
symbols (docs/notation.md) the comments below use. With m normalised entries
per sample, ρ = 1/sqrt(var + eps) (``inv_std``; the local ``s`` of
double_backward) and

    Pi(v) = v - mean(v) - x_hat * mean(v * x_hat)     (symmetric; a projector when eps = 0)

the backward is dx = ρ Pi(gamma dy); ``a`` holds dL/dx_hat = gamma dy and ``c``
holds ω = mean(dL/dx_hat * x_hat), the path through the variance.
"""
import math

import numpy as np

from ...backend import get_array_module, to_device
from ..core import Layer, Parameter, ShapeError, require_int


class LayerNorm(Layer):
    """y = gamma * (x - mu) / sqrt(var + eps) + beta, statistics per sample over the last axes.

    Shapes: x (N, ..., *normalized_shape), gamma and beta (normalized_shape), y like x.
    ``LayerNorm(128)`` normalises the 128 features of (N, 128); ``LayerNorm((128, 7, 7))``
    normalises each sample's whole (C, H, W) feature map, as ``nn.LayerNorm([128, 7, 7])`` does.
    """

    init_kind = "norm"

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, dtype=np.float32):
        if isinstance(normalized_shape, (int, np.integer)):
            shape = (normalized_shape,)
        elif isinstance(normalized_shape, (tuple, list)):
            shape = tuple(normalized_shape)
        else:
            raise TypeError(f"LayerNorm: normalized_shape must be the size of the last axis (an integer, e.g. "
                            f"LayerNorm(128)) or the sizes of the last axes (a tuple, e.g. LayerNorm((128, 7, 7))), "
                            f"got {normalized_shape!r}")
        if not shape:
            raise ValueError("LayerNorm: normalized_shape must name at least one axis, got ()")
        for size in shape:
            require_int("LayerNorm", "every size of normalized_shape", size, 1)
        if not eps > 0:
            raise ValueError(f"LayerNorm: eps must be > 0, got {eps!r}")
        self.normalized_shape = tuple(int(s) for s in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.m = math.prod(self.normalized_shape)                   # numbers normalised together
        if elementwise_affine:
            self.weight = Parameter(to_device(np.ones(self.normalized_shape, dtype=dtype)))   # gamma
            self.bias = Parameter(to_device(np.zeros(self.normalized_shape, dtype=dtype)))    # beta
        else:
            self.weight = self.bias = None

    def check_input(self, x):
        super().check_input(x)
        k = len(self.normalized_shape)
        if x.ndim < k + 1 or tuple(x.shape[-k:]) != self.normalized_shape:
            expected = "(N, ..., " + ", ".join(map(str, self.normalized_shape)) + ")"
            raise ShapeError(f"{self!r}: expected input of shape {expected}, got {tuple(x.shape)}")

    # the axes a sample's statistics are taken over, and the axes gamma's gradient sums over
    def _norm_axes(self, x):
        return tuple(range(x.ndim - len(self.normalized_shape), x.ndim))

    def _batch_axes(self, x):
        return tuple(range(x.ndim - len(self.normalized_shape)))

    def _mean(self, v):
        """The mean over each sample's normalised axes, kept as axes of size 1 (for broadcasting)."""
        return v.mean(axis=self._norm_axes(v), keepdims=True)

    def project(self, v):
        """Pi(v) = v - mean(v) - x_hat * mean(v * x_hat): what survives the normalisation's two constraints."""
        return v - self._mean(v) - self.x_hat * self._mean(v * self.x_hat)

    def forward(self, x):
        xp = get_array_module(x)
        self.dy = self.a = self.dx = None                           # the previous backward's caches are stale
        mu = self._mean(x)
        xc = x - mu
        var = self._mean(xc * xc)                                   # biased: divides by m
        self.inv_std = 1 / xp.sqrt(var + x.dtype.type(self.eps))    # ρ = 1 / sqrt(var + eps), (N, 1, ...)
        self.x_hat = xc * self.inv_std
        if not self.elementwise_affine:
            return self.x_hat
        return self.x_hat * self.weight.data + self.bias.data

    def backward(self, dy):
        self.dy = dy                                                # double_backward needs dy and what follows
        if self.elementwise_affine:
            if self.requires_grad:
                axes = self._batch_axes(dy)
                self.weight.grad += (dy * self.x_hat).sum(axis=axes)   # dL/dgamma = sum_n dy * x_hat
                self.bias.grad += dy.sum(axis=axes)                    # dL/dbeta  = sum_n dy
            self.a = dy * self.weight.data                          # dL/dx_hat = gamma * dy
        else:
            self.a = dy
        self.c = self._mean(self.a * self.x_hat)                    # ω = mean(dL/dx_hat * x_hat), through var
        self.dx = self.inv_std * (self.a - self._mean(self.a) - self.x_hat * self.c)  # dL/dx = ρ Pi(dL/dx_hat)
        return self.dx

    def double_backward(self, ddx):
        """Differentiate backward's dx = ρ Pi(gamma dy) once more, given ddx = dP/d(dx).

        Derived in docs/layers/layernorm.md: Pi is symmetric, so dP/d(dy) =
        gamma ρ Pi(ddx); gamma's term is dy ρ Pi(ddx) summed over the batch
        (beta does not enter backward); and ρ and x_hat depend on x, which
        gives the second-order term for x. ``s`` below is ρ, ``self.c`` is ω.
        """
        # --8<-- [start:layernorm-double-backward]
        s, x_hat = self.inv_std, self.x_hat
        pi_ddx = self.project(ddx)                                  # Pi(ddx)
        gamma = self.weight.data if self.elementwise_affine else 1
        if self.elementwise_affine and self.requires_grad:
            self.weight.grad += (self.dy * s * pi_ddx).sum(axis=self._batch_axes(ddx))  # dP/dgamma = sum_n dy ρ Pi(ddx)
        ddy = gamma * s * pi_ddx                                    # dP/d(dy) = gamma ρ Pi(ddx)
        dx_extra = (- s * self._mean(ddx * self.dx) * x_hat         # dP/dx through ρ:           -(ρ/m) <ddx, dx> x_hat
                    - s * self._mean(ddx * x_hat) * self.dx         # through x_hat in ω:        -(ρ/m) <ddx, x_hat> dx
                    - s * s * self.c * pi_ddx)                      # through the x_hat times ω: -ρ^2 ω Pi(ddx)
        return ddy, dx_extra
        # --8<-- [end:layernorm-double-backward]

    def __repr__(self):
        shape = self.normalized_shape[0] if len(self.normalized_shape) == 1 else self.normalized_shape
        return f"LayerNorm({shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine})"
