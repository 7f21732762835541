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
                         f"{getattr(prior, 'fed', 'noise only')}")


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


class GaussianWithLabel:
    """z ~ N(0, I) of size ``z_dim`` and a class label y, uniform over 0..K-1: G's input is (z, y).

    The conditional GAN (Mirza & Osindero 2014) feeds G the label it must draw
    and shows D the label with the image: real images come with their own
    labels, fakes with the labels G was asked for (:meth:`condition`).
    """

    conditional = True   # D sees (image, label)
    fed = "noise and a digit"

    def __init__(self, z_dim, num_classes=10):
        self.z_dim, self.num_classes = z_dim, num_classes

    def sample(self, n, rng, backend="numpy", dtype=np.float32, digit=None, **fixed):
        """(z, y) for ``n`` images on ``backend``: z (n, z_dim) in ``dtype``, y (n,) int64.

        ``digit=d`` fixes every label to d (``examples/generate.py --digit d``); a
        value outside 0..K-1 is a :class:`PriorError`. z is drawn before y, so a
        seed gives the same noise whichever digit is asked for.
        """
        refuse(self, fixed)
        if digit is not None and (isinstance(digit, bool) or not isinstance(digit, (int, np.integer))
                                  or not 0 <= digit < self.num_classes):
            raise PriorError(f"--digit {digit!r}: must be a digit from 0 to {self.num_classes - 1}")
        z = rng.standard_normal((n, self.z_dim)).astype(dtype)
        y = rng.integers(0, self.num_classes, n) if digit is None else np.full(n, digit)
        return to_device(z, backend), to_device(y.astype(np.int64), backend)

    def grid(self, rng, backend="numpy", dtype=np.float32):
        """A K x 10 grid: row k draws digit k, column j one fixed noise vector z_j (the same in every row)."""
        z = rng.standard_normal((10, self.z_dim)).astype(dtype)       # one z per column
        y = np.repeat(np.arange(self.num_classes), 10)                # row k: ten k's
        return (to_device(np.tile(z, (self.num_classes, 1)), backend), to_device(y, backend)), 10

    def condition(self, latent):
        """The labels y of G's input (z, y): what D is shown beside each fake image."""
        return latent[1]
