"""cupy.random of the stand-in: a Generator with CuPy's methods only, on another bit generator than NumPy's."""
import numpy as _np

from . import _standin


def _stream(seed):
    """A different stream than numpy.random.default_rng(seed)'s for the same seed (rule 8)."""
    return _np.random.Generator(_np.random.Philox(seed))


class Generator:
    """cupy.random.Generator: the methods CuPy's has (no normal, choice, permutation ...), results on the device."""

    def __init__(self, bit_generator=None):
        self._g = _stream(bit_generator if isinstance(bit_generator, (int, type(None))) else None)

    def __getattr__(self, name):
        if name.startswith("_") or name not in _standin.NAMES["cupy.random.Generator"]:
            raise AttributeError(f"'cupy.random.Generator' object has no attribute '{name}'")
        method = getattr(self._g, name)

        def call(*args, **kwargs):
            return _standin._wrap(method(*[_standin._device(a) for a in args],
                                         **{k: _standin._device(v) for k, v in kwargs.items()}))
        return call


def default_rng(seed=None):
    return Generator(seed)


class RandomState:
    """The legacy interface, on the stand-in's own stream."""

    def __init__(self, seed=None):
        self._g = _stream(seed)

    def __getattr__(self, name):
        legacy = {"rand": lambda *shape: self._g.random(shape), "randn": lambda *shape: self._g.standard_normal(shape),
                  "random_sample": self._g.random, "normal": self._g.normal, "uniform": self._g.uniform,
                  "standard_normal": self._g.standard_normal, "randint": self._g.integers}
        if name not in legacy:
            raise AttributeError(f"'cupy.random.RandomState' object has no attribute '{name}'")
        return lambda *a, **k: _standin._wrap(legacy[name](*a, **k))


_state = RandomState()


def seed(seed=None):
    global _state
    _state = RandomState(seed)


def get_random_state():
    return _state


def _build(name):
    if name in ("rand", "randn", "random_sample", "normal", "uniform", "standard_normal", "randint"):
        return lambda *a, **k: getattr(_state, name)(*a, **k)
    return None


_standin.fill_module("cupy.random", globals(), _build)
