"""CuPy's rules about what crosses between host and device, and nine slips each caught the way CuPy catches them.

Marked ``cupy``: they run against the CuPy in use, the real one on a GPU or minigan's strict stand-in
under ``pytest --cupy-standin`` (tests/cupy_standin/), so the stand-in is held to what CuPy does
wherever both can be tried. The nine slips are the kinds of bug that pass on NumPy and break
``--backend cupy``; each is written as minigan code with the slip in it.
"""
import json
import operator
import pathlib

import numpy as np
import pytest
from scipy import ndimage

pytestmark = pytest.mark.cupy
cupy = pytest.importorskip("cupy", reason="CuPy is not installed (pytest --cupy-standin runs these on the CPU)")

IMPLICIT = "Implicit conversion to a NumPy array is not allowed"


@pytest.fixture
def x():
    return cupy.asarray(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4))


# ---- the rules ---------------------------------------------------------------------------------------------

def test_no_implicit_conversion_to_numpy_only_the_explicit_transfers(x):
    with pytest.raises(TypeError, match=IMPLICIT):
        np.asarray(x)
    with pytest.raises(TypeError, match=IMPLICIT):
        np.array(x, dtype=np.float64)
    host = x.get()
    assert type(host) is np.ndarray and np.array_equal(cupy.asnumpy(x), host)
    assert type(cupy.asarray(host)) is cupy.ndarray


@pytest.mark.parametrize("other", [np.ones(4, np.float32), np.array(0.5, np.float32), [0.5] * 4],
                         ids=["numpy array", "0-d numpy array", "list"])
def test_a_ufunc_takes_device_arrays_and_scalars_only(x, other):
    with pytest.raises(TypeError, match="Unsupported type"):
        x + other
    with pytest.raises(TypeError, match="Unsupported type"):
        cupy.maximum(x, other)
    assert type(x * 2) is type(x * np.float32(2)) is type(x + x) is cupy.ndarray   # scalars, NumPy's included


def test_a_comparison_takes_a_0d_numpy_array(x):
    assert (x < np.array(0.0, np.float32)).get().sum() == 6


def test_a_host_array_assigned_into_a_device_array_is_refused_set_is_the_transfer(x):
    with pytest.raises(TypeError, match="Unsupported type"):
        x[:1] = np.zeros((1, 4), np.float32)
    x[:1] = 0.0
    x[1:2] = cupy.zeros((1, 4), dtype=np.float32)
    x.set(np.ones((3, 4), np.float32))
    assert x.get().sum() == 12


def test_a_routine_refuses_host_arrays_but_the_transfers_take_them(x):
    with pytest.raises(TypeError):
        cupy.concatenate([x, np.ones((1, 4), np.float32)])
    assert cupy.concatenate([x, cupy.asarray(np.ones((1, 4), np.float32))]).shape == (4, 4)


def test_numpy_functions_given_device_arrays_run_on_the_device(x):
    assert type(np.concatenate([x, x])) is type(np.exp(x)) is type(np.clip(x, -0.5, 0.5)) is cupy.ndarray
    with pytest.raises(TypeError, match="no implementation found for 'numpy.insert'"):
        np.insert(x, 0, 1.0)


def test_a_reduction_or_an_element_is_a_0d_device_array(x):
    for value in (x.sum(), x.max(), x[0, 0], cupy.mean(x)):
        assert type(value) is cupy.ndarray and value.ndim == 0
    assert isinstance(float(x.sum()), float) and isinstance(x[0, 0].item(), float)
    with pytest.raises(TypeError):
        operator.index(cupy.argmax(x))                    # no __index__: not a Python integer


def test_only_names_cupy_has():
    for name in ("errstate", "insert"):
        assert not hasattr(cupy, name), name
    g = cupy.random.default_rng(0)
    for name in ("normal", "choice", "permutation"):
        assert not hasattr(g, name), name
    assert type(g.random((2, 3), dtype=np.float32)) is cupy.ndarray
    assert not hasattr(cupy.ndarray, "__index__")


def test_random_streams_are_not_numpys_for_the_same_seed():
    """Code that needs the same numbers on both backends draws on the host and moves them (minigan does)."""
    ours = cupy.random.default_rng(3).random(6).get()
    assert not np.allclose(ours, np.random.default_rng(3).random(6))


def test_the_stand_ins_names_are_the_real_wheels():
    """Stand-in only: its namespace is the list scripts/cupy_namespace.py took from the pinned CuPy wheel."""
    if "cupy_standin" not in str(getattr(cupy, "__file__", "")):
        pytest.skip("the real CuPy: its names are its own")
    listed = json.loads((pathlib.Path(cupy.__file__).parents[1] / "namespace.json").read_text())
    assert listed["cupy_version"] == cupy.__version__ == "14.2.0"
    public = {n for n in vars(cupy) if not n.startswith("_")} - {"cuda", "fft", "lib", "linalg", "random"}
    assert public <= set(listed["cupy"]), sorted(public - set(listed["cupy"]))
    assert {"asarray", "asnumpy", "get_array_module", "exp", "zeros", "float32"} <= public


# ---- nine slips, as minigan code would make them: fine on NumPy, caught on CuPy -----------------------------

def implicit_conversion(xp, x):
    return np.asarray(x).mean()                                    # a statistic computed "on the host"


def host_array_in_a_ufunc(xp, x):
    return x + np.zeros(x.shape[-1], x.dtype)                      # a bias left on the host


def host_scalar_array_in_a_ufunc(xp, x):
    return xp.where(x > 0, x, np.array(0.2, x.dtype) * x)          # LeakyReLU's slope as a 0-d NumPy array


def list_in_a_ufunc(xp, x):
    return xp.maximum(x, [0.0] * x.shape[-1])                      # a threshold per column, as a list


def host_array_assigned(xp, x):
    out = xp.zeros_like(x)
    out[:1] = np.ones((1,) + x.shape[1:], x.dtype)                 # an image pool storing a host copy
    return out


def name_cupy_lacks(xp, x):
    with xp.errstate(over="ignore"):                               # NumPy's error state, not CuPy's
        return xp.exp(x)


def generator_method_cupy_lacks(xp, x):
    return x + xp.random.default_rng(0).normal(0, 1, x.shape)      # Generator.normal: CuPy has standard_normal


def device_scalar_as_an_index(xp, x):
    return list(range(xp.argmax(x[0])))                            # a 0-d array used as a Python int


def scipy_given_a_device_array(xp, x):
    return ndimage.zoom(x, 2, order=1)                             # SRGAN's bicubic baseline, without .get()


SLIPS = {implicit_conversion: IMPLICIT, host_array_in_a_ufunc: "Unsupported type",
         host_scalar_array_in_a_ufunc: "Unsupported type", list_in_a_ufunc: "Unsupported type",
         host_array_assigned: "Unsupported type", name_cupy_lacks: "errstate",
         generator_method_cupy_lacks: "normal", device_scalar_as_an_index: "cannot be interpreted as an integer",
         scipy_given_a_device_array: IMPLICIT}


@pytest.mark.parametrize("slip", list(SLIPS), ids=[s.__name__ for s in SLIPS])
def test_a_slip_that_passes_on_numpy_is_caught_on_cupy(slip, x):
    slip(np, x.get())                                              # fine on NumPy
    with pytest.raises((TypeError, AttributeError), match=SLIPS[slip]):
        slip(cupy, x)
