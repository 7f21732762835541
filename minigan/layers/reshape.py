"""Layers that move numbers around without computing: Flatten, Reshape, Upsample2d.

Their backward passes put each gradient back where its number came from.
"""
import math

from ..nn import Layer, ShapeError, require_int


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1*d2*...)."""

    # --8<-- [start:flatten-forward]
    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape(self.x_shape)                     # same numbers, original shape
    # --8<-- [end:flatten-forward]

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

    # --8<-- [start:reshape-forward]
    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape((x.shape[0],) + self.shape)

    def backward(self, dy):
        return dy.reshape(self.x_shape)
    # --8<-- [end:reshape-forward]

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

    # --8<-- [start:upsample2d-forward]
    def forward(self, x):
        s = self.scale_factor
        return x.repeat(s, axis=2).repeat(s, axis=3)
    # --8<-- [end:upsample2d-forward]

    # --8<-- [start:upsample2d-backward]
    def backward(self, dy):
        s = self.scale_factor
        n, c, h, w = dy.shape
        # each input pixel was copied to s*s outputs, so its gradient is their sum
        return dy.reshape(n, c, h // s, s, w // s, s).sum(axis=(3, 5))
    # --8<-- [end:upsample2d-backward]

    def __repr__(self):
        return f"Upsample2d(scale_factor={self.scale_factor})"
