"""What G is fed, drawn in one place: noise, and whatever a model adds to it.

A prior draws G's input for a batch (``sample``), lays out the fixed input of
the run's sample grid (``grid``), and says whether D sees a part of it beside
the image (``conditional``: the conditional GAN's label). G's input is an array,
or a tuple of arrays when it has several parts, which a model's step unpacks:
``z, y = latent`` (the cGAN), ``z, c, u = latent`` (InfoGAN).

Everything is drawn on the CPU from a NumPy generator and then moved to the
backend, so one seed gives the same inputs on NumPy and on CuPy, and the
generator's state can go into a checkpoint.
"""
import numpy as np

from ..backend import to_device


class PriorError(ValueError):
    """A part of G's input was fixed that this model's prior does not have, or to a value out of range."""


def refuse(prior, fixed):
    """Raise :class:`PriorError` naming the first part of ``fixed`` that ``prior`` does not take."""
    for name in fixed:
        raise PriorError(f"--{name} applies to a model fed a {name}; this model is fed "
                         f"{getattr(prior, 'fed', 'noise only')}")


def check_digit(digit, num_classes=10):
    """A :class:`PriorError` in one line unless ``digit`` is None or an integer label in 0..num_classes-1."""
    if digit is not None and (isinstance(digit, (bool, np.bool_)) or not isinstance(digit, (int, np.integer))
                              or not 0 <= digit < num_classes):
        raise PriorError(f"--digit {digit!r}: must be a digit from 0 to {num_classes - 1}")


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


class InfoGANPrior:
    """InfoGAN's input (Chen et al. 2016): noise z ~ N(0, I), a categorical code c and continuous codes u.

    c is uniform over ``categories`` values (10 for MNIST: one per digit, if
    training finds them) and each of the ``continuous`` codes is U(-1, 1).
    G is fed the tuple (z, c, u): z (n, z_dim) float, c (n,) integers in
    [0, categories), u (n, continuous) float. D sees only the image; its Q head
    is asked to recover (c, u), which the step hands to the information loss.
    """

    conditional = False  # D's input is the image alone: InfoGAN is unsupervised
    fed = "noise and codes (--code)"

    def __init__(self, z_dim, categories=10, continuous=2, sweep=(-2.0, 2.0), sweep_steps=10):
        self.z_dim, self.categories, self.continuous = z_dim, categories, continuous
        self.sweep_range, self.sweep_steps = sweep, sweep_steps

    def check_code(self, code):
        """``code`` as an int in [0, categories), or :class:`PriorError` in one line."""
        if isinstance(code, (bool, np.bool_)) or not isinstance(code, (int, np.integer)) \
                or not 0 <= code < self.categories:
            raise PriorError(f"--code {code!r}: InfoGAN's categorical code takes an integer from 0 to "
                             f"{self.categories - 1}")
        return int(code)

    def sample(self, n, rng, backend="numpy", dtype=np.float32, code=None, **fixed):
        """(z, c, u) for ``n`` images on ``backend``; ``code=k`` fixes the categorical code to k.

        z, c and u are drawn in this order whether or not ``code`` is given, so
        ``code=3`` and ``code=4`` with the same generator state share z and u.
        """
        refuse(self, fixed)
        if code is not None:
            code = self.check_code(code)
        z = rng.standard_normal((n, self.z_dim)).astype(dtype)
        c = rng.integers(0, self.categories, n)                       # c ~ Cat(1/K, ..., 1/K)
        u = rng.uniform(-1.0, 1.0, (n, self.continuous)).astype(dtype)  # u_j ~ U(-1, 1)
        if code is not None:
            c[:] = code
        return tuple(to_device(a, backend) for a in (z, c, u))

    def sweep(self, j, rng, backend="numpy", dtype=np.float32):
        """The picture of continuous code j: row = c (0 .. K-1), column = u_j swept over ``sweep``.

        One z is drawn for the whole picture and the other continuous codes
        are 0, so a row differs from the next in c alone and a column from the
        next in u_j alone. Returns (input, images per row).
        """
        if not 0 <= j < self.continuous:
            raise PriorError(f"continuous code {j}: this prior has codes 0 to {self.continuous - 1}")
        k, steps = self.categories, self.sweep_steps
        z = np.repeat(rng.standard_normal((1, self.z_dim)), k * steps, axis=0).astype(dtype)
        c = np.repeat(np.arange(k), steps)                            # row r: c = r
        u = np.zeros((k * steps, self.continuous), dtype=dtype)
        u[:, j] = np.tile(np.linspace(*self.sweep_range, steps), k)   # column: u_j from low to high
        return tuple(to_device(a, backend) for a in (z, c, u)), steps

    def categories_grid(self, rng, backend="numpy", dtype=np.float32, columns=10):
        """Row = c (0 .. K-1), column = one draw of (z, u) shared down the column: what c alone changes."""
        k = self.categories
        z = np.tile(rng.standard_normal((columns, self.z_dim)), (k, 1)).astype(dtype)
        u = np.tile(rng.uniform(-1.0, 1.0, (columns, self.continuous)), (k, 1)).astype(dtype)
        c = np.repeat(np.arange(k), columns)
        return tuple(to_device(a, backend) for a in (z, c, u)), columns

    def grid(self, rng, backend="numpy", dtype=np.float32):
        """The run's sample grid: the sweep of the first continuous code (rows = c)."""
        return self.sweep(0, rng, backend, dtype)

class GaussianWithLabel:
    """z ~ N(0, I) of size ``z_dim`` and a class label y, uniform over 0..K-1: G's input is (z, y).

    The conditional GAN (Mirza & Osindero 2014) feeds G the label it must draw
    and shows D the label with the image: real images come with their own
    labels, fakes with the labels G was asked for (``models/cgan.py``).
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
        check_digit(digit, self.num_classes)
        z = rng.standard_normal((n, self.z_dim)).astype(dtype)
        y = rng.integers(0, self.num_classes, n) if digit is None else np.full(n, digit)
        return to_device(z, backend), to_device(y.astype(np.int64), backend)

    def grid(self, rng, backend="numpy", dtype=np.float32):
        """A K x 10 grid: row k draws digit k, column j one fixed noise vector z_j (the same in every row)."""
        z = rng.standard_normal((10, self.z_dim)).astype(dtype)       # one z per column
        y = np.repeat(np.arange(self.num_classes), 10)                # row k: ten k's
        return (to_device(np.tile(z, (self.num_classes, 1)), backend), to_device(y, backend)), 10
