"""cupy.cuda.runtime of the stand-in: one visible device."""
from .. import _standin


class CUDARuntimeError(RuntimeError):
    pass


def getDeviceCount():
    return 1


def runtimeGetVersion():
    return 12080


def driverGetVersion():
    return 12080


def getDeviceProperties(device):
    return {"name": b"minigan CuPy stand-in (NumPy on the CPU)", "totalGlobalMem": 0}


_standin.fill_module("cupy.cuda.runtime", globals(), lambda name: None)
