"""cupyx.scipy.ndimage of the stand-in: SciPy's functions of the names CuPy has, on device arrays."""
from scipy import ndimage as _ndimage

from cupy import _standin

_standin.fill_module("cupyx.scipy.ndimage", globals(),
                     lambda name: _standin.make_routine(name, _ndimage) if hasattr(_ndimage, name) else None)
