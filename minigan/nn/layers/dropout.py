"""Inverted dropout: zero each unit with probability p and scale the rest by 1/(1-p).

Scaling at training time keeps E[y] = x, so evaluation is the identity.
"""
import numpy as np

from ...backend import get_array_module
from ..core import Layer, is_real, plain_number


class Dropout(Layer):
    """y = x * mask / (1 - p), mask ~ Bernoulli(1 - p) in training; y = x in eval.

    Mask number ``calls`` is drawn from a generator seeded by ``(seed, calls)``
    (NumPy's on the CPU, CuPy's on the GPU), so the whole random state of the
    layer is one counter: a run is reproducible, and resumable by restoring
    ``calls``.
    """

    counters = ("calls",)  # saved with the model's state, so a resumed run draws the same masks

    def __init__(self, p=0.5, seed=None):
        if not is_real(p) or not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = plain_number(p)
        self.reseed(seed)

    def reseed(self, seed=None):
        """Restart the mask sequence (``seed=None``: draw a seed from the OS's entropy)."""
        self.seed = int(np.random.SeedSequence(seed).generate_state(1)[0])
        self.calls = 0

    def _generator(self, xp):
        key = int(np.random.SeedSequence([self.seed, self.calls]).generate_state(1)[0])
        self.calls += 1
        return xp.random.default_rng(key)

    def forward(self, x):
        if not self.training or self.p == 0:
            self.scale = None
            return x
        xp = get_array_module(x)
        keep = self._generator(xp).random(x.shape, dtype=x.dtype) >= self.p
        self.scale = keep * x.dtype.type(1 / (1 - self.p))   # mask / (1 - p)
        return x * self.scale

    def backward(self, dy):
        if self.scale is None:
            return dy                                          # identity in eval
        return dy * self.scale                                 # dL/dx = dL/dy * mask / (1 - p)

    def double_backward(self, ddx):
        if self.scale is None:
            return ddx, None                                   # identity in eval
        return ddx * self.scale, None                          # dP/d(dy) = ddx * mask / (1 - p); linear: no x term

    def __repr__(self):
        return f"Dropout(p={self.p})"
