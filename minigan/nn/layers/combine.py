"""Layers that join or split what flows through a network: Identity, Concat, Parallel, Fork, Residual.

A model with two inputs (a conditional G takes noise and a label) or two
outputs (InfoGAN's D has a real/fake head and a Q head) stays one
:class:`~minigan.nn.Sequential`: what flows between two layers may be a tuple
of arrays, and these layers make and take the tuples.

    G(z, y) = Sequential(Parallel(Identity(), Embedding(10, 10)), Concat(), Dense(...), ...)
    D(x)    = Sequential(body..., Fork(Dense(h, 1), q_head))          -> (logit, q)
    U-Net   = Sequential(Fork(Identity(), Sequential(down, inner, up)), Concat())   (a skip by concatenation)
    ResNet  = Residual(Sequential(ReflectionPad2d(1), Conv2d(c, c, 3), ...))        (y = x + F(x))

Backward mirrors forward: a layer that took a tuple returns a tuple of input
gradients, and a layer that returned a tuple takes a tuple of gradients, with
``None`` for an output that no loss reached.
"""
import numpy as np

from ...backend import check_same_device, get_array_module
from ..core import Layer, ShapeError, is_array


class Identity(Layer):
    """y = x (a branch of :class:`Parallel` that passes its input through)."""

    def forward(self, x):
        return x

    def backward(self, dy):
        return dy                                              # dL/dx = dL/dy

    def double_backward(self, ddx):
        return ddx, None                                       # J = I; no second-order term


def _check_tuple(layer, xs, n=None):
    if not isinstance(xs, (tuple, list)) or not xs or not all(is_array(x) or x is None for x in xs):
        raise TypeError(f"{layer!r}: expected a tuple of arrays, got {type(xs).__name__}")
    if n is not None and len(xs) != n:
        raise TypeError(f"{layer!r}: expected a tuple of {n} inputs, got {len(xs)}")
    check_same_device(repr(layer), *xs)


class Concat(Layer):
    """Join a tuple of arrays along ``axis`` (default 1: features or channels)."""

    def __init__(self, axis=1):
        self.axis = axis

    def check_array(self, xs):
        _check_tuple(self, xs)

    def check_input(self, xs):
        first = xs[0]
        for x in xs[1:]:
            other = [s for i, s in enumerate(x.shape) if i != self.axis % x.ndim]
            mine = [s for i, s in enumerate(first.shape) if i != self.axis % first.ndim]
            if x.ndim != first.ndim or other != mine:
                raise ShapeError(f"{self!r}: every input must have the same shape except along axis "
                                 f"{self.axis}, got {[tuple(v.shape) for v in xs]}")
            if x.dtype != first.dtype:
                raise TypeError(f"{self!r}: inputs must share one dtype, got {[str(v.dtype) for v in xs]}")

    def forward(self, xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return get_array_module(*xs).concatenate(xs, axis=self.axis)

    def backward(self, dy):
        # --8<-- [start:concat-backward]
        cuts = np.cumsum(self.sizes[:-1]).tolist()            # where one input ends and the next begins
        return tuple(get_array_module(dy).split(dy, cuts, axis=self.axis))  # each input gets back its own slice
        # --8<-- [end:concat-backward]

    def __repr__(self):
        return f"Concat(axis={self.axis})"


class Parallel(Layer):
    """Branch i applied to input i: (x_1, ..., x_k) -> (f_1(x_1), ..., f_k(x_k))."""

    def __init__(self, *branches):
        self.branches = list(branches)

    def children(self):
        return [(str(i), b) for i, b in enumerate(self.branches)]

    def check_array(self, xs):
        if not isinstance(xs, (tuple, list)):
            raise TypeError(f"{self!r}: expected a tuple of {len(self.branches)} inputs, got {type(xs).__name__}")
        if len(xs) != len(self.branches):
            raise TypeError(f"{self!r}: expected a tuple of {len(self.branches)} inputs, got {len(xs)}")

    def check_input(self, xs):
        pass  # each branch checks its own input

    def forward(self, xs):
        return tuple(branch(x) for branch, x in zip(self.branches, xs))

    def backward(self, dys):
        return tuple(None if dy is None else branch.backward(dy) for branch, dy in zip(self.branches, dys))

    def __repr__(self):
        return "Parallel(" + ", ".join(repr(b) for b in self.branches) + ")"


class Fork(Layer):
    """One input, several heads: x -> (h_1(x), ..., h_k(x)) (a shared body with two heads).

    Backward adds the heads' input gradients: dL/dx = sum_i J_i^T dL/dy_i, over
    the heads whose output a loss reached.
    """

    def __init__(self, *heads):
        self.heads = list(heads)

    def children(self):
        return [(str(i), h) for i, h in enumerate(self.heads)]

    def check_input(self, x):
        pass  # each head checks its own input

    def forward(self, x):
        self.x_shape, self.x_dtype, self.xp = x.shape, x.dtype, get_array_module(x)
        return tuple(head(x) for head in self.heads)

    def backward(self, dys):
        # --8<-- [start:fork-backward]
        dx = None
        for head, dy in zip(self.heads, dys):
            if dy is not None:
                d = head.backward(dy)
                dx = d if dx is None else dx + d                # each head's share of dL/dx
        # --8<-- [end:fork-backward]
        if dx is None:
            return self.xp.zeros(self.x_shape, dtype=self.x_dtype)
        return dx

    def __repr__(self):
        return "Fork(" + ", ".join(repr(h) for h in self.heads) + ")"


class Residual(Layer):
    """y = x + F(x) (He et al. 2016): ``body`` F learns what to add to its input.

    Backward: dL/dx = dL/dy + J_F^T dL/dy, the skip's identity plus the body's
    own backward. F must keep x's shape (SRGAN's and CycleGAN's residual blocks).
    """

    def __init__(self, body):
        if not isinstance(body, Layer):
            raise TypeError(f"Residual: body must be a minigan Layer, got {type(body).__name__}")
        self.body = body

    def children(self):
        return [("body", self.body)]

    def check_input(self, x):
        pass  # the body checks its own input

    def forward(self, x):
        fx = self.body(x)
        if fx.shape != x.shape:
            raise ShapeError(f"{self!r}: the body must keep its input's shape {tuple(x.shape)}, it returned "
                             f"{tuple(fx.shape)}")
        return x + fx                                          # y = x + F(x)

    def backward(self, dy):
        return dy + self.body.backward(dy)                     # dL/dx = dL/dy (the skip) + J_F^T dL/dy (the body)

    def __repr__(self):
        return f"Residual({self.body!r})"
