"""minigan's strict CuPy stand-in (tests only): see _standin.py for the rules and what they follow.

Put first on the path by ``pytest --cupy-standin`` (tests/conftest.py); never installed.
"""
import numpy as _np

from . import _standin
from ._standin import VERSION as __version__  # noqa: F401
from ._standin import ndarray


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    """A NumPy copy of a device array (a NumPy array is returned as it is)."""
    if isinstance(a, ndarray):
        return a.get(order=order, out=out)
    return _np.asarray(a, order=order)


def get_array_module(*args):
    """This module if any argument is a device array, else NumPy."""
    import sys
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else _np


def _build(name):
    value = getattr(_np, name, None)
    if value is None or isinstance(value, type(_np)):       # NumPy's submodules: the stand-in has its own
        return None
    if isinstance(value, _np.ufunc):
        return _standin.make_ufunc(name)
    if isinstance(value, type) or not callable(value):           # dtypes, scalar types, constants: NumPy's
        return value
    return _standin.make_routine(name)


_standin.fill_module("cupy", globals(), _build)

from . import cuda, fft, lib, linalg, random  # noqa: E402,F401  (after the names above: they use them)
