"""Elementwise nonlinearities. Each backward is dL/dx = dL/dy * f'(x).

Each double backward differentiates that once more, given ddx = dP/d(dx):
dP/d(dy) = ddx * f'(x), and the second-order term dP/dx = ddx * dy * f''(x),
zero (None) for the piecewise-linear ReLU and LeakyReLU (docs/wgan_gp.md).
"""
import numpy as np

from ...backend import get_array_module, to_device
from ..core import Layer, Parameter, ShapeError, is_real, plain_number, require_int


class LeakyReLU(Layer):
    """f(x) = x for x > 0, slope * x otherwise.

    Written with arithmetic instead of ``where``: NumPy's ``where`` on a random
    mask runs about ten times slower than a multiply (3.5 ms against 0.3 ms on
    a 64x64x14x14 float32 array), and for 0 <= slope <= 1,
    max(x, slope x) is exactly f(x).
    """

    def __init__(self, negative_slope=0.01):
        if not is_real(negative_slope):
            raise ValueError(f"LeakyReLU: negative_slope must be a number, got {negative_slope!r}")
        self.negative_slope = plain_number(negative_slope)

    def forward(self, x):
        xp = get_array_module(x)
        s = x.dtype.type(self.negative_slope)
        self.mask = x > 0                                         # which side of the kink
        if 0 <= self.negative_slope <= 1:
            return xp.maximum(x, x * s)                           # x if x > 0 else slope x
        return xp.where(self.mask, x, x * s)

    def backward(self, dy):
        s = dy.dtype.type(self.negative_slope)
        return dy * (self.mask * (1 - s) + s)                     # f'(x) = 1 if x > 0 else slope

    def double_backward(self, ddx):
        s = ddx.dtype.type(self.negative_slope)
        return ddx * (self.mask * (1 - s) + s), None              # dP/d(dy) = ddx f'(x); f'' = 0 off the kink

    def __repr__(self):
        return f"LeakyReLU(negative_slope={self.negative_slope})"


class PReLU(Layer):
    """f(x) = x for x > 0, a x otherwise, with the slope a learned (He et al. 2015; SRGAN's generator).

    ``num_parameters=1``: one slope for every entry; ``num_parameters=C``: one
    per channel (axis 1), as PyTorch's ``nn.PReLU(C)``. ``init``: a's start, 0.25.
    """

    def __init__(self, num_parameters=1, init=0.25, dtype=np.float32):
        self.num_parameters = require_int("PReLU", "num_parameters", num_parameters, 1)
        if not is_real(init):
            raise ValueError(f"PReLU: init must be a number, got {init!r}")
        self.weight = Parameter(to_device(np.full(self.num_parameters, init, dtype=dtype)))   # the slopes a

    def check_input(self, x):
        super().check_input(x)
        if self.num_parameters > 1 and (x.ndim < 2 or x.shape[1] != self.num_parameters):
            raise ShapeError(f"{self!r}: expected input of shape (N, {self.num_parameters}, ...), one slope per "
                             f"channel, got {tuple(x.shape)}")

    def _a(self, x):
        """The slopes shaped to broadcast against x: one for all, or one per channel (axis 1)."""
        a = self.weight.data
        return a.reshape((1, -1) + (1,) * (x.ndim - 2)) if self.num_parameters > 1 else a.reshape(())

    def forward(self, x):
        self.x = x
        self.mask = x > 0                                         # which side of the kink
        return get_array_module(x).where(self.mask, x, self._a(x) * x)   # x if x > 0 else a x

    def backward(self, dy):
        if self.requires_grad:
            negative = dy * self.x * ~self.mask                    # dL/da per entry = dy * x where x <= 0
            axes = tuple(i for i in range(dy.ndim) if not (self.num_parameters > 1 and i == 1))
            self.weight.grad += negative.sum(axis=axes).reshape(self.num_parameters)   # dL/da = sum dy x [x <= 0]
        return get_array_module(dy).where(self.mask, dy, self._a(dy) * dy)   # dL/dx = dy f'(x): 1 if x > 0, else a

    def __repr__(self):
        return f"PReLU(num_parameters={self.num_parameters})"


class ReLU(Layer):
    """f(x) = max(x, 0)."""

    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, dy):
        return dy * self.mask                                     # f'(x) = 1 if x > 0 else 0

    def double_backward(self, ddx):
        return ddx * self.mask, None                              # dP/d(dy) = ddx f'(x); f'' = 0 off the kink


class Tanh(Layer):
    """f(x) = tanh(x)."""

    def forward(self, x):
        self.y = get_array_module(x).tanh(x)
        return self.y

    def backward(self, dy):
        self.dy = dy                                              # double_backward's x term needs dy
        return dy * (1 - self.y * self.y)                         # f'(x) = 1 - tanh(x)^2

    def double_backward(self, ddx):
        slope = 1 - self.y * self.y                               # f'(x)
        curvature = -2 * self.y * slope                           # f''(x) = -2 tanh(x) (1 - tanh(x)^2)
        return ddx * slope, ddx * self.dy * curvature             # dP/d(dy) = ddx f'(x); dP/dx = ddx dy f''(x)


def sigmoid(x):
    """1 / (1 + e^-x), written as (1 + tanh(x/2)) / 2 so no exp overflows."""
    xp = get_array_module(x)
    half = x.dtype.type(0.5)
    return half * (1 + xp.tanh(half * x))


class Sigmoid(Layer):
    """f(x) = 1 / (1 + e^-x)."""

    def forward(self, x):
        self.y = sigmoid(x)
        return self.y

    def backward(self, dy):
        self.dy = dy                                              # double_backward's x term needs dy
        return dy * self.y * (1 - self.y)                         # f'(x) = f(x) (1 - f(x))

    def double_backward(self, ddx):
        slope = self.y * (1 - self.y)                             # f'(x)
        curvature = slope * (1 - 2 * self.y)                      # f''(x) = f'(x) (1 - 2 f(x))
        return ddx * slope, ddx * self.dy * curvature             # dP/d(dy) = ddx f'(x); dP/dx = ddx dy f''(x)
