r"""Conditioning augmentation (Zhang et al. 2017, StackGAN): a caption's embedding as a Gaussian to draw from.

A caption t gives one vector φ(t) (here: its bag of words through a small
encoder). Fed to G as it is, that vector is one point per caption, a thin set
in a space G must fill. StackGAN draws the condition instead:

    (μ, log σ²) = [φ(t) W + b] split in two halves,      c = μ + σ ε,   ε ~ N(0, I)

and adds KL(N(μ, σ²) || N(0, I)) to G's loss, so nearby captions give
overlapping conditions and G learns a smooth map. The draw is the VAE's
reparameterisation (``reparameterize.py``), the KL the VAE's too
(``losses.GaussianKL``). See docs/stackgan.md.
"""
from ...backend import get_array_module
from ..core import Layer, Sequential, ShapeError
from .activations import LeakyReLU
from .combine import _check_tuple
from .dense import Dense
from .reparameterize import Reparameterize


class ConditioningAugmentation(Layer):
    r"""(t, ε) -> (c, μ, log σ²): a text vector t (N, words) encoded, then one draw c = μ + σ ε (N, c_dim).

    The encoder is φ(t) = LeakyReLU(t W_1 + b_1), then (μ, log σ²) = φ(t) W_2 + b_2, 2 c_dim numbers.
    It returns μ and log σ² beside c so that the caller can add the KL term's gradient.

    Backward takes (dL/dc, dL/dμ, dL/d log σ²) (None where no loss reached) and returns (None, None):
    the caption and the noise are inputs nobody differentiates.

        dL/dμ        = dL/dc + (the KL's dL/dμ)                 (∂c/∂μ = 1)
        dL/dlog σ²   = dL/dc · ε σ / 2 + (the KL's)             (Reparameterize)
        dL/d[φ W_2 + b_2] = [dL/dμ, dL/dlog σ²],   then the encoder's own backward
    """

    def __init__(self, words, c_dim, hidden=64, dtype=None, rng=None):
        kw = dict(rng=rng) if dtype is None else dict(dtype=dtype, rng=rng)
        self.c_dim = c_dim
        self.encoder = Sequential(Dense(words, hidden, **kw), LeakyReLU(0.2), Dense(hidden, 2 * c_dim, **kw))
        self.draw = Reparameterize()

    def check_array(self, xs):
        _check_tuple(self, xs, 2)

    def check_input(self, xs):
        t, eps = xs
        if eps.ndim != 2 or eps.shape != (t.shape[0], self.c_dim):
            raise ShapeError(f"{self!r}: expected ε of shape (N, {self.c_dim}) beside N captions, got "
                             f"{tuple(eps.shape)} for {tuple(t.shape)}")

    def forward(self, xs):
        t, eps = xs
        stats = self.encoder(t)                                   # φ(t) W_2 + b_2, (N, 2 c_dim)
        mu, log_var = stats[:, :self.c_dim], stats[:, self.c_dim:]
        return self.draw((mu, log_var, eps)), mu, log_var         # c = μ + exp(log σ² / 2) ε

    def backward(self, grads):
        dc, dmu, dlog_var = grads
        xp = get_array_module(dc)
        dmu_c, dlog_var_c, _ = self.draw.backward(dc)             # through c = μ + σ ε (ε: no gradient)
        if dmu is not None:
            dmu_c = dmu_c + dmu                                   # ... plus the KL term's
        if dlog_var is not None:
            dlog_var_c = dlog_var_c + dlog_var
        with self.encoder.no_input_grad():                        # a caption has no gradient to want
            self.encoder.backward(xp.concatenate([dmu_c, dlog_var_c], axis=1))   # into W_2, b_2, W_1, b_1
        return None, None                                         # no gradient for the caption or ε

    def __repr__(self):
        return f"ConditioningAugmentation(c_dim={self.c_dim})"
