"""cupy.linalg of the stand-in: NumPy's routines of the names CuPy has, on device arrays."""
import numpy as _np

from . import _standin

_standin.fill_module("cupy.linalg", globals(),
                     lambda name: _standin.make_routine(name, _np.linalg) if hasattr(_np.linalg, name) else None)
