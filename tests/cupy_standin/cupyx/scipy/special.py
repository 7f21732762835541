"""cupyx.scipy.special of the stand-in: SciPy's functions of the names CuPy has, on device arrays."""
from scipy import special as _special

from cupy import _standin

_standin.fill_module("cupyx.scipy.special", globals(),
                     lambda name: _standin.make_routine(name, _special) if hasattr(_special, name) else None)
