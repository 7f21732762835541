"""NumPy or CuPy: choose, detect, move arrays, and explain what went wrong.

Inside the library *the array decides*: every function that computes asks
``xp = get_array_module(x)`` and then writes ``xp.exp``, ``xp.zeros`` ... once,
for both backends (the pattern CuPy's guide calls "CPU/GPU agnostic code").

The module-level choice made by :func:`set_backend` only decides where *new*
arrays are put: the weights of a freshly built layer, a batch of noise, a batch
of training images. Weights are always drawn from a seeded NumPy generator and
then moved, so one seed gives the same starting weights on both backends.
"""
import numpy as np

BACKENDS = ("numpy", "cupy")
_current = "numpy"
_cupy = None  # the cupy module once imported and checked


class BackendError(RuntimeError):
    """CuPy was asked for but cannot be used here (not installed, or no GPU)."""


class DeviceMismatchError(TypeError):
    """A NumPy array met CuPy arrays (or the reverse) inside one computation."""


def _import_cupy():
    """Import CuPy and check a GPU is visible; raise :class:`BackendError` if not."""
    global _cupy
    if _cupy is not None:
        return _cupy
    try:
        import cupy
    except ImportError as exc:
        raise BackendError(
            "The 'cupy' backend needs CuPy, which is not installed. Install it with "
            "`pip install \"minigan[cuda]\"` (CuPy for CUDA 13; `pip install \"minigan[cuda12]\"` "
            "where `nvidia-smi` shows CUDA Version 12.x), or use the 'numpy' backend."
        ) from exc
    try:
        n_gpus = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver missing or broken
        raise BackendError(
            f"CuPy is installed but no NVIDIA GPU is usable ({exc}). Check `nvidia-smi`, "
            "or use the 'numpy' backend."
        ) from exc
    if n_gpus == 0:
        raise BackendError("CuPy is installed but no NVIDIA GPU is visible; use the 'numpy' backend.")
    _cupy = cupy
    return cupy


def cupy_available():
    """True where CuPy imports and sees at least one GPU."""
    try:
        _import_cupy()
        return True
    except BackendError:
        return False


def _check_name(name):
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}: choose one of {BACKENDS}")


def set_backend(name):
    """Put new arrays (weights, noise, data batches) on ``"numpy"`` or ``"cupy"``."""
    _check_name(name)
    if name == "cupy":
        _import_cupy()
    global _current
    _current = name


def get_backend():
    """The name of the backend new arrays go to."""
    return _current


def xp_for(name=None):
    """The array module (``numpy`` or ``cupy``) for a backend name (default: current)."""
    name = name or _current
    _check_name(name)
    return np if name == "numpy" else _import_cupy()


def is_cupy_array(x):
    return type(x).__module__.split(".")[0] == "cupy"


def backend_of(x):
    """``"cupy"`` for a CuPy array, ``"numpy"`` for anything else."""
    return "cupy" if is_cupy_array(x) else "numpy"


def get_array_module(*arrays):
    """The module the arrays live in: ``cupy`` if any is a CuPy array, else ``numpy``."""
    for a in arrays:
        if is_cupy_array(a):
            return _import_cupy()
    return np


def to_device(x, backend=None):
    """Move an array to ``backend`` (default: the current one). No copy if already there."""
    backend = backend or _current
    _check_name(backend)
    if backend == "numpy":
        return to_numpy(x)
    return _import_cupy().asarray(x)


def to_numpy(x):
    """A NumPy array from a NumPy or CuPy array (copying from the GPU if needed)."""
    if is_cupy_array(x):
        return x.get()
    return np.asarray(x)


def check_same_device(where, *arrays):
    """Raise :class:`DeviceMismatchError` naming ``where`` if the arrays mix backends."""
    kinds = {backend_of(a) for a in arrays if a is not None}
    if len(kinds) > 1:
        raise DeviceMismatchError(
            f"{where}: got both NumPy and CuPy arrays. Move them to one backend first, "
            "e.g. minigan.to_device(x, 'cupy') for an input or model.to('numpy') for a model."
        )
