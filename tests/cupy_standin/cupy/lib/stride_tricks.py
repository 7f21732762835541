"""cupy.lib.stride_tricks of the stand-in: views of a device array's memory."""
import numpy as _np

from .. import _standin


def as_strided(x, shape=None, strides=None):
    if not isinstance(x, _standin.ndarray):
        raise _standin.unsupported(x)
    return _standin.ndarray._of(_np.lib.stride_tricks.as_strided(x._a, shape, strides))


def sliding_window_view(x, window_shape, axis=None, *, subok=False, writeable=False):
    if not isinstance(x, _standin.ndarray):
        raise _standin.unsupported(x)
    return _standin.ndarray._of(_np.lib.stride_tricks.sliding_window_view(x._a, window_shape, axis,
                                                                        writeable=writeable))


_standin.fill_module("cupy.lib.stride_tricks", globals(), lambda name: None)
