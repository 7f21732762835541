r"""The reparameterisation trick (Kingma & Welling 2014): a Gaussian draw written as a function of its parameters.

A VAE's encoder gives each image a Gaussian q(z | x) = N(μ, diag σ²), as
(μ, log σ²). Drawing z from it directly would leave no path for a gradient
to reach μ and σ. Written instead as

    z = μ + σ ε,     σ = exp(log σ² / 2),     ε ~ N(0, I) drawn outside,

the draw is a plain differentiable function of (μ, log σ²), with the noise ε
an input like any other. See docs/vae.md.
"""
from ...backend import get_array_module
from ..core import Layer, ShapeError
from .combine import _check_tuple


class Reparameterize(Layer):
    r"""(μ, log σ², ε) -> z = μ + exp(log σ² / 2) ε.

    Shapes: μ, log σ², ε and z all (N, z_dim). ε is drawn by the caller (from a
    seeded NumPy generator, then moved), so a test can hold it fixed.

    Backward takes dL/dz and returns (dL/dμ, dL/d log σ², None): ε is noise,
    and nothing upstream wants its gradient.

        ∂z/∂μ       = 1
        ∂z/∂log σ²  = ε · dσ/dlog σ² = ε σ / 2
    """

    def check_array(self, xs):
        _check_tuple(self, xs, 3)

    def check_input(self, xs):
        mu, log_var, eps = xs
        if not (mu.shape == log_var.shape == eps.shape) or mu.ndim != 2:
            raise ShapeError(f"{self!r}: expected (μ, log σ², ε) of one shape (N, z_dim), got "
                             f"{[tuple(v.shape) for v in xs]}")
        if not (mu.dtype == log_var.dtype == eps.dtype):
            raise TypeError(f"{self!r}: μ, log σ² and ε must share one dtype, got {[str(v.dtype) for v in xs]}")

    def forward(self, xs):
        mu, log_var, eps = xs
        xp = get_array_module(mu)
        self.sigma = xp.exp(log_var * log_var.dtype.type(0.5))   # σ = exp(log σ² / 2)
        self.eps = eps                                           # backward needs ε and σ
        return mu + self.sigma * eps

    def backward(self, dz):
        dmu = dz                                                 # dL/dμ = dL/dz · 1
        dlog_var = dz * self.eps * self.sigma * dz.dtype.type(0.5)  # dL/dlog σ² = dL/dz · ε σ / 2
        return dmu, dlog_var, None                               # ε: no gradient wanted

    def __repr__(self):
        return "Reparameterize()"
