"""cupy.fft of the stand-in: NumPy's routines of the names CuPy has, on device arrays."""
import numpy as _np

from . import _standin

_standin.fill_module("cupy.fft", globals(),
                     lambda name: _standin.make_routine(name, _np.fft) if hasattr(_np.fft, name) else None)
