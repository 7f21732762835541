"""What G is fed, drawn in one place: noise, and whatever a model adds to it.

A prior draws G's input for a batch (``sample``), lays out the fixed input of
the run's sample grid (``grid``), and says what D sees beside the image
(``condition``: nothing for an unconditional GAN, the label for a conditional
one). G's input is an array, or a tuple of arrays when it has several parts.

Everything is drawn on the CPU from a NumPy generator and then moved to the
backend, so one seed gives the same inputs on NumPy and on CuPy, and the
generator's state can go into a checkpoint.
"""
import numpy as np

from .backend import to_device


class PriorError(ValueError):
    """A part of G's input was fixed that this model's prior does not have, or to a value out of range."""


def refuse(prior, fixed):
    """Raise :class:`PriorError` naming the first part of ``fixed`` that ``prior`` does not take."""
    for name in fixed:
        raise PriorError(f"--{name} applies to a model fed a {name}; this one ({type(prior).__name__}) is fed "
                         "noise only")


class Gaussian:
    """z ~ N(0, I) of size ``z_dim``."""

    conditional = False  # D sees only the image

    def __init__(self, z_dim):
        self.z_dim = z_dim

    def sample(self, n, rng, backend="numpy", dtype=np.float32, **fixed):
        """G's input for ``n`` images: an (n, z_dim) array on ``backend``.

        ``fixed`` holds parts of the input the caller chooses (``digit=3`` for a
        conditional model, ``code=5`` for InfoGAN's categorical code); a prior
        refuses any it does not have, with :class:`PriorError`.
        """
        refuse(self, fixed)
        return to_device(rng.standard_normal((n, self.z_dim)).astype(dtype), backend)

    def grid(self, rng, backend="numpy", dtype=np.float32):
        """The fixed input of the sample grids, and how many images per row: 64 draws, 8 per row."""
        return self.sample(64, rng, backend, dtype), 8

    def condition(self, latent):
        """What D is given beside the image (None: only the image)."""
        return None
