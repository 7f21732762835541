"""Shared helpers for the layer tests: gradient checks, accumulation, bad inputs.

Each helper is a fixture that returns a function, so a test asks for it by name.
The largest finite-difference error seen per layer is kept in ``GRAD_ERRORS``;
set ``MINIGAN_GRAD_REPORT=path.json`` to have it written there at the end.
"""
import json
import os
import re

import numpy as np
import pytest

from minigan import ShapeError, check_double_backward, check_layer
from minigan.nn import fastpath

TOL = 1e-6          # largest relative error accepted between backward and finite differences
GRAD_ERRORS = {}    # layer family -> {"x": max err, "weight": max err, ...}


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
