"""Shared helpers for the layer tests: gradient checks, accumulation, bad inputs.

Each helper is a fixture that returns a function, so a test asks for it by name.
The largest finite-difference error seen per layer is kept in ``GRAD_ERRORS``;
set ``MINIGAN_GRAD_REPORT=path.json`` to have it written there at the end.
"""
import json
import os
import pathlib
import re
import sys

# One thread each for BLAS and the fast paths, set before NumPy loads: the tests run in parallel
# processes (pytest-xdist, setup.cfg), and threads fighting over the same cores make every one slower.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "MINIGAN_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from minigan import ShapeError, check_double_backward, check_layer  # noqa: E402
from minigan.nn import fastpath  # noqa: E402

TOL = 1e-6          # largest relative error accepted between backward and finite differences
GRAD_ERRORS = {}    # layer family -> {"x": max err, "weight": max err, ...}
STANDIN = pathlib.Path(__file__).resolve().parent / "cupy_standin"   # the strict CuPy stand-in (tests only)


def pytest_addoption(parser):
    parser.addoption("--cupy-standin", action="store_true",
                     help="run only the CuPy tests (marked 'cupy'), against minigan's strict CuPy stand-in on the "
                          "CPU (tests/cupy_standin/): what they check of host/device discipline holds without a GPU")


def pytest_configure(config):
    config.addinivalue_line("markers", "cupy: needs CuPy and a GPU, or the stand-in (pytest --cupy-standin)")
    if config.getoption("--cupy-standin"):
        loaded = sys.modules.get("cupy")
        if loaded is not None and not str(getattr(loaded, "__file__", "")).startswith(str(STANDIN)):
            raise pytest.UsageError("--cupy-standin: a real CuPy is already imported in this process")
        sys.path.insert(0, str(STANDIN))
        # the example scripts the tests start as processes find it too
        os.environ["PYTHONPATH"] = os.pathsep.join([str(STANDIN)] + [p for p in [os.environ.get("PYTHONPATH")] if p])


def pytest_collection_modifyitems(config, items):
    """The CuPy tests skip, saying why, where CuPy or a GPU is missing; with --cupy-standin they run alone."""
    if not config.getoption("--cupy-standin"):
        marked = [item for item in items if item.get_closest_marker("cupy")]
        if marked:
            from minigan import BackendError, backend
            try:
                backend._import_cupy()
            except BackendError as exc:
                skip = pytest.mark.skip(reason=f"needs CuPy and a GPU (or pytest --cupy-standin): {exc}")
                for item in marked:
                    item.add_marker(skip)
        return
    keep = [item for item in items if item.get_closest_marker("cupy")]
    config.hook.pytest_deselected(items=[item for item in items if not item.get_closest_marker("cupy")])
    items[:] = keep


@pytest.fixture(scope="session")
def mnist():
    """Skip the test (saying why) where the MNIST files are missing: the tests that train on real digits."""
    from minigan.data import MNISTNotFoundError, load_mnist

    try:
        load_mnist("test", download=False, limit=1)
    except MNISTNotFoundError:
        pytest.skip("MNIST files not found: set MINIGAN_DATA_DIR")


@pytest.fixture
def rng():
    """A fresh seeded generator per test: every test sees the same numbers every run."""
    return np.random.default_rng(0)


@pytest.fixture(params=["fast", "plain"])
def both_paths(request):
    """Run the test twice: with the CPU fast paths (the default) and with the plain lines only.

    A layer test file that says ``pytestmark = pytest.mark.usefixtures("both_paths")`` has each
    of its checks (formulas, finite differences, PyTorch parity) hold for both ways of computing.
    """
    with fastpath.plain(request.param == "plain"):
        yield request.param


@pytest.fixture
def gradcheck():
    """check(family, layer, x, dy=None): backward vs. centred differences, in float64.

    The layer is cast to float64 and ``x`` must be float64; every relative error
    (input and each parameter) must be below ``TOL``. Returns the errors.
    """
    def check(family, layer, x, dy=None):
        assert x.dtype == np.float64, "finite differences need float64"
        layer.to(dtype=np.float64)
        errors = check_layer(layer, x, dy)
        seen = GRAD_ERRORS.setdefault(family, {})
        for name, err in errors.items():
            seen[name] = max(seen.get(name, 0.0), err)
        bad = {k: v for k, v in errors.items() if not v < TOL}
        assert not bad, f"{layer!r}: relative errors above {TOL}: {bad}"
        return errors
    return check


@pytest.fixture
def double_gradcheck():
    """check(family, layer, x, dy=None, ddx=None): double backward vs. centred differences of backward, float64.

    dP/d(dy), the second-order term dP/dx and dP/dθ of P = sum(backward(dy) * ddx)
    must each agree with finite differences to ``TOL``. Kept in ``GRAD_ERRORS``
    under ``"<family> (double backward)"``. Returns the errors.
    """
    def check(family, layer, x, dy=None, ddx=None):
        assert x.dtype == np.float64, "finite differences need float64"
        layer.to(dtype=np.float64)
        errors = check_double_backward(layer, x, dy, ddx)
        seen = GRAD_ERRORS.setdefault(f"{family} (double backward)", {})
        for name, err in errors.items():
            seen[name] = max(seen.get(name, 0.0), err)
        bad = {k: v for k, v in errors.items() if not v < TOL}
        assert not bad, f"{layer!r}: double backward's relative errors above {TOL}: {bad}"
        return errors
    return check


@pytest.fixture
def accumulates():
    """check(layer, x): two backward passes give twice the gradients; zero_grad clears them."""
    def check(layer, x, dy):
        layer.zero_grad()
        layer(x)
        layer.backward(dy)
        once = {name: p.grad.copy() for name, p in layer.named_parameters()}
        assert once, "layer has no parameters"
        assert any(np.any(g != 0) for g in once.values())
        layer(x)
        layer.backward(dy)
        for name, p in layer.named_parameters():
            np.testing.assert_allclose(p.grad, 2 * once[name], rtol=1e-12, atol=1e-12, err_msg=name)
        layer.zero_grad()
        for name, p in layer.named_parameters():
            assert not np.any(p.grad), f"{name}.grad not cleared by zero_grad"
    return check


@pytest.fixture
def shape_error():
    """check(layer, x, expected): layer(x) raises ShapeError naming layer, expected and got."""
    def check(layer, x, expected):
        with pytest.raises(ShapeError) as info:
            layer(x)
        msg = str(info.value)
        assert repr(layer) in msg
        assert expected in msg
        assert str(tuple(x.shape)) in msg
        return msg
    return check


@pytest.fixture
def dtype_error():
    """check(layer, x): an input whose dtype differs from the parameters' raises TypeError."""
    def check(layer, x):
        with pytest.raises(TypeError, match=re.escape(repr(layer))):
            layer(x)
    return check


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("MINIGAN_GRAD_REPORT")
    if path and GRAD_ERRORS:
        with open(path, "w") as f:
            json.dump(GRAD_ERRORS, f, indent=1, sort_keys=True)
