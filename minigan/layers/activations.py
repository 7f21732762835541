"""Elementwise nonlinearities. Each backward is dL/dx = dL/dy * f'(x)."""
from ..backend import get_array_module
from ..nn import Layer


class LeakyReLU(Layer):
    """f(x) = x for x > 0, slope * x otherwise."""

    def __init__(self, negative_slope=0.01):
        self.negative_slope = negative_slope

    def forward(self, x):
        xp = get_array_module(x)
        self.mask = x > 0                                         # which side of the kink
        return xp.where(self.mask, x, x * x.dtype.type(self.negative_slope))

    def backward(self, dy):
        xp = get_array_module(dy)
        return xp.where(self.mask, dy, dy * dy.dtype.type(self.negative_slope))  # f'(x) = 1 or slope

    def __repr__(self):
        return f"LeakyReLU(negative_slope={self.negative_slope})"


class ReLU(Layer):
    """f(x) = max(x, 0)."""

    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, dy):
        return dy * self.mask                                     # f'(x) = 1 if x > 0 else 0


class Tanh(Layer):
    """f(x) = tanh(x)."""

    def forward(self, x):
        self.y = get_array_module(x).tanh(x)
        return self.y

    def backward(self, dy):
        return dy * (1 - self.y * self.y)                         # f'(x) = 1 - tanh(x)^2


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
        return dy * self.y * (1 - self.y)                         # f'(x) = f(x) (1 - f(x))
