"""Layers that move numbers around without computing: Flatten, Reshape, Upsample2d, PixelShuffle, ReflectionPad2d.

Their backward passes put each gradient back where its number came from, and
add the gradients of an input number that was copied to several outputs.
"""
import math

from ...backend import get_array_module
from ..core import Layer, ShapeError, require_int


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1*d2*...)."""

    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape(self.x_shape)                     # same numbers, original shape

    def double_backward(self, ddx):
        return ddx.reshape(ddx.shape[0], -1), None          # backward is a reshape: its derivative is the forward


class Reshape(Layer):
    """(N, ...) -> (N, *shape); ``shape`` excludes the batch axis, as in Keras."""

    def __init__(self, *shape):
        self.shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        for size in self.shape:
            require_int("Reshape", "every size", size, 1)

    def check_input(self, x):
        n_in, n_out = math.prod(x.shape[1:]), math.prod(self.shape)
        if x.ndim < 2 or n_in != n_out:
            raise ShapeError(f"{self!r}: expected input of shape (N, ...) with {n_out} numbers "
                             f"per sample, got {tuple(x.shape)}")

    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape((x.shape[0],) + self.shape)

    def backward(self, dy):
        return dy.reshape(self.x_shape)

    def double_backward(self, ddx):
        return ddx.reshape((ddx.shape[0],) + self.shape), None   # backward is a reshape: its derivative is the forward

    def __repr__(self):
        return f"Reshape{self.shape}"


class Upsample2d(Layer):
    """Nearest-neighbour upsampling: every pixel becomes an s x s block."""

    def __init__(self, scale_factor=2):
        self.scale_factor = require_int("Upsample2d", "scale_factor", scale_factor, 1)

    def check_input(self, x):
        self.expect_shape(x, (None, None, None, None), "(N, C, H, W)")

    def forward(self, x):
        s = self.scale_factor
        return x.repeat(s, axis=2).repeat(s, axis=3)

    def backward(self, dy):
        s = self.scale_factor
        n, c, h, w = dy.shape
        # each input pixel was copied to s*s outputs, so its gradient is their sum
        return dy.reshape(n, c, h // s, s, w // s, s).sum(axis=(3, 5))

    def __repr__(self):
        return f"Upsample2d(scale_factor={self.scale_factor})"


class PixelShuffle(Layer):
    """Sub-pixel rearrangement (Shi et al. 2016): (N, C r^2, H, W) -> (N, C, H r, W r).

    y[n, c, h r + i, w r + j] = x[n, c r^2 + i r + j, h, w], PyTorch's ``nn.PixelShuffle``:
    a convolution to C r^2 channels followed by this layer upsamples by r
    with learned sub-pixel filters (SRGAN's upsampling stages).
    """

    def __init__(self, upscale_factor=2):
        self.upscale_factor = require_int("PixelShuffle", "upscale_factor", upscale_factor, 1)

    def check_input(self, x):
        r = self.upscale_factor
        if x.ndim != 4 or x.shape[1] % (r * r):
            raise ShapeError(f"{self!r}: expected input of shape (N, C*{r * r}, H, W), channels a multiple of "
                             f"{r * r}, got {tuple(x.shape)}")

    def forward(self, x):
        r = self.upscale_factor
        n, c_r2, h, w = x.shape
        c = c_r2 // (r * r)
        blocks = x.reshape(n, c, r, r, h, w)                        # x[n, c r^2 + i r + j, h, w] as [n, c, i, j, h, w]
        return blocks.transpose(0, 1, 4, 2, 5, 3).reshape(n, c, h * r, w * r)   # -> [n, c, h, i, w, j]

    def backward(self, dy):
        r = self.upscale_factor
        n, c, hr, wr = dy.shape
        blocks = dy.reshape(n, c, hr // r, r, wr // r, r)           # dy[n, c, h r + i, w r + j] as [n, c, h, i, w, j]
        return blocks.transpose(0, 1, 3, 5, 2, 4).reshape(n, c * r * r, hr // r, wr // r)  # the inverse permutation

    def __repr__(self):
        return f"PixelShuffle(upscale_factor={self.upscale_factor})"


class ReflectionPad2d(Layer):
    """Pad H and W by ``padding`` on each side with the mirror image, the edge not repeated.

    A row of 1 2 3 4 padded by 2 reads 3 2 | 1 2 3 4 | 3 2 (PyTorch's
    ``nn.ReflectionPad2d``, NumPy's ``np.pad(mode="reflect")``). CycleGAN's
    generators pad this way so the borders of a translated image are drawn
    from its content rather than from zeros. ``padding`` < H and < W.
    """

    def __init__(self, padding=1):
        self.padding = require_int("ReflectionPad2d", "padding", padding, 0)

    def check_input(self, x):
        p = self.padding
        if x.ndim != 4 or x.shape[2] <= p or x.shape[3] <= p:
            raise ShapeError(f"{self!r}: expected input of shape (N, C, H, W) with H and W > {p} (a reflection "
                             f"cannot reach past the far edge), got {tuple(x.shape)}")

    def forward(self, x):
        p = self.padding
        self.x_shape = x.shape
        return get_array_module(x).pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode="reflect")

    def backward(self, dy):
        dy = _fold_reflection(dy, self.padding, axis=3)            # columns first: dy (N, C, H+2p, W)
        return _fold_reflection(dy, self.padding, axis=2)          # then rows:     dx (N, C, H, W)

    def __repr__(self):
        return f"ReflectionPad2d(padding={self.padding})"


def _fold_reflection(g, p, axis):
    """The gradient of a reflection pad along one axis: g has L + 2p entries there, the result L.

    Padded position i < p copied input p - i, and padded position p + L + k
    copied input L - 2 - k: each gradient is added back to the entry it copied.
    """
    if p == 0:
        return g
    g = g.swapaxes(axis, -1)
    L = g.shape[-1] - 2 * p
    dx = g[..., p:p + L].copy()                                    # the copy in the middle: one-to-one
    dx[..., 1:p + 1] += g[..., :p][..., ::-1]                      # left pad i -> input p - i  (p, ..., 1)
    dx[..., L - 1 - p:L - 1] += g[..., p + L:][..., ::-1]          # right pad k -> input L - 2 - k
    return dx.swapaxes(axis, -1)
