"""Tests of minigan.backend that need no GPU: choosing a backend, the errors when CuPy is
missing or unusable, moving NumPy arrays, seeding, and device-mismatch messages.

CuPy's absence (or a CuPy without a GPU) is simulated with ``monkeypatch``, so these
tests run the same on a laptop and on a GPU machine.
"""
import sys
import types

import numpy as np
import pytest

import minigan
from minigan import BackendError, Dense, DeviceMismatchError, Sequential, backend


@pytest.fixture(autouse=True)
def restore_backend():
    """Every test starts and ends on the NumPy backend."""
    backend.set_backend("numpy")
    yield
    backend._current = "numpy"


@pytest.fixture
def no_cupy(monkeypatch):
    """Make ``import cupy`` fail, and forget any CuPy imported earlier."""
    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setattr(backend, "_cupy", None)


def fake_cupy_module(get_device_count):
    """A stand-in ``cupy`` module whose ``cuda.runtime.getDeviceCount`` is ``get_device_count``."""
    mod = types.ModuleType("cupy")
    mod.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=get_device_count))
    return mod


class FakeCupyArray:
    """An object that *looks* like a CuPy array to minigan (its type's module is cupy)."""

    shape = (2, 3)
    dtype = np.dtype(np.float32)
    ndim = 2


FakeCupyArray.__module__ = "cupy._core.core"


# ------------------------------------------------------------------ choosing a backend


def test_set_and_get_backend_numpy():
    """The default backend is NumPy and set_backend('numpy') keeps it."""
    assert minigan.get_backend() == "numpy"
    minigan.set_backend("numpy")
    assert minigan.get_backend() == "numpy"
    assert backend.xp_for() is np and backend.xp_for("numpy") is np


@pytest.mark.parametrize("name", ["torch", "CUPY", "", "gpu"])
def test_unknown_backend_raises_value_error(name):
    """A backend name other than 'numpy'/'cupy' is a ValueError listing the choices; nothing changes."""
    with pytest.raises(ValueError, match="unknown backend") as info:
        minigan.set_backend(name)
    assert "numpy" in str(info.value) and "cupy" in str(info.value)
    assert minigan.get_backend() == "numpy"
    with pytest.raises(ValueError, match="unknown backend"):
        minigan.to_device(np.zeros(2), name or "x")


def test_cupy_not_installed_raises_backend_error_with_install_hint(no_cupy):
    """Without CuPy, set_backend('cupy') raises BackendError telling how to install it,
    and the backend stays NumPy."""
    with pytest.raises(BackendError) as info:
        minigan.set_backend("cupy")
    assert 'pip install "minigan[cuda]"' in str(info.value)
    assert isinstance(info.value.__cause__, ImportError)
    assert isinstance(info.value, RuntimeError)
    assert minigan.get_backend() == "numpy"
    assert minigan.cupy_available() is False
    with pytest.raises(BackendError, match="minigan\\[cuda\\]"):
        minigan.to_device(np.zeros(2), "cupy")


def test_cupy_without_gpu_raises_backend_error(monkeypatch):
    """CuPy installed but the CUDA driver fails: BackendError pointing at nvidia-smi."""

    def broken():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    monkeypatch.setitem(sys.modules, "cupy", fake_cupy_module(broken))
    monkeypatch.setattr(backend, "_cupy", None)
    with pytest.raises(BackendError, match="nvidia-smi") as info:
        minigan.set_backend("cupy")
    assert "no CUDA-capable device" in str(info.value)
    assert minigan.get_backend() == "numpy"
    assert minigan.cupy_available() is False
    assert backend._cupy is None  # a failed check is not cached


def test_cupy_with_zero_gpus_raises_backend_error(monkeypatch):
    """CuPy installed but zero GPUs visible: BackendError, not a crash later on."""
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy_module(lambda: 0))
    monkeypatch.setattr(backend, "_cupy", None)
    with pytest.raises(BackendError, match="no NVIDIA GPU is visible"):
        minigan.set_backend("cupy")
    assert minigan.get_backend() == "numpy"


# ------------------------------------------------------------------ moving arrays


def test_to_numpy_and_to_device_on_numpy():
    """On NumPy arrays to_device('numpy') and to_numpy return the very same array (no copy);
    lists and scalars become arrays."""
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert minigan.to_device(x, "numpy") is x
    assert minigan.to_device(x) is x  # current backend: numpy
    assert minigan.to_numpy(x) is x
    y = minigan.to_numpy([[1, 2], [3, 4]])
    assert isinstance(y, np.ndarray) and y.shape == (2, 2)
    assert minigan.to_numpy(np.float32(2.5)).dtype == np.float32


def test_get_array_module_returns_numpy_for_numpy_arrays():
    """The array decides: NumPy arrays (and non-arrays) give the numpy module."""
    a, b = np.zeros(3), np.ones((2, 2), np.float32)
    assert minigan.get_array_module(a) is np
    assert minigan.get_array_module(a, b) is np
    assert minigan.get_array_module() is np
    assert minigan.get_array_module(3.0, None) is np


def test_fake_cupy_array_is_recognised_without_importing_cupy(no_cupy):
    """Detection only looks at the type's module, so it works (and imports nothing) without CuPy."""
    fake = FakeCupyArray()
    assert backend.is_cupy_array(fake)
    assert backend.backend_of(fake) == "cupy"
    assert backend.backend_of(np.zeros(1)) == "numpy"
    assert not backend.is_cupy_array(np.zeros(1))
    # asking for the module of a (fake) CuPy array needs CuPy: a clear BackendError, not an AttributeError
    with pytest.raises(BackendError):
        minigan.get_array_module(fake)


# ------------------------------------------------------------------ seeding


def test_same_seed_gives_same_initial_weights():
    """minigan.seed(s) then building a layer gives the same weights every time; another seed differs."""
    minigan.seed(1234)
    a = Sequential(Dense(5, 4), Dense(4, 2))
    minigan.seed(1234)
    b = Sequential(Dense(5, 4), Dense(4, 2))
    minigan.seed(4321)
    c = Sequential(Dense(5, 4), Dense(4, 2))
    for (na, pa), (nb, pb), (_, pc) in zip(a.named_parameters(), b.named_parameters(), c.named_parameters()):
        assert na == nb
        np.testing.assert_array_equal(pa.data, pb.data)
        assert not np.array_equal(pa.data, pc.data)
    assert a[0].weight.data.dtype == np.float32


def test_explicit_rng_is_independent_of_global_seed():
    """A layer given its own generator ignores the library's default one."""
    minigan.seed(1)
    a = Dense(3, 3, rng=np.random.default_rng(7))
    minigan.seed(2)
    b = Dense(3, 3, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)


# ------------------------------------------------------------------ device mismatch


def test_device_mismatch_error_names_the_layer(no_cupy):
    """A (fake) CuPy input into a NumPy model raises DeviceMismatchError naming the layer and both backends."""
    model = Sequential(Dense(3, 4), Dense(4, 2))
    with pytest.raises(DeviceMismatchError) as info:
        model(FakeCupyArray())
    msg = str(info.value)
    assert "Dense(3, 4" in msg
    assert "parameters on numpy" in msg and "input on cupy" in msg
    assert "to_device" in msg  # tells how to fix it
    assert isinstance(info.value, TypeError)


def test_check_same_device_directly():
    """check_same_device passes for one backend (None ignored) and names 'where' when they mix."""
    backend.check_same_device("anything", np.zeros(1), np.ones(2), None)
    with pytest.raises(DeviceMismatchError, match="^MyLayer: got both NumPy and CuPy"):
        backend.check_same_device("MyLayer", np.zeros(1), FakeCupyArray())


def test_losses_refuse_mixed_backends():
    """The losses check devices first: a (fake) CuPy target with NumPy logits names the loss."""
    with pytest.raises(DeviceMismatchError, match="BCEWithLogits"):
        minigan.BCEWithLogits()(np.zeros((2, 3), np.float32), FakeCupyArray())
    with pytest.raises(DeviceMismatchError, match="BCE"):
        minigan.BCE()(np.zeros((2, 3), np.float32), FakeCupyArray())


def test_the_gpu_extras_offer_cuda_12_and_13_with_cuda_the_default():
    """`pip install "minigan[cuda]"` installs CuPy for CUDA 13 (current drivers); [cuda12] and [cuda13] name one."""
    import configparser
    from pathlib import Path

    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).resolve().parents[1] / "setup.cfg")
    extras = {k: v.split() for k, v in cfg["options.extras_require"].items()}
    assert extras["cuda"][0].startswith("cupy-cuda13x") and extras["cuda13"] == extras["cuda"]
    assert extras["cuda12"][0].startswith("cupy-cuda12x")
