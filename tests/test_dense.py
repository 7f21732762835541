"""Dense: y = x W + b, its backward, and how it refuses bad inputs."""
import numpy as np
import pytest

from minigan import Dense


def reference_dense(x, w, b):
    """y[n, j] = sum_i x[n, i] w[i, j] + b[j], written as explicit loops."""
    n, d_in = x.shape
    d_out = w.shape[1]
    y = np.zeros((n, d_out))
    for a in range(n):
        for j in range(d_out):
            y[a, j] = sum(x[a, i] * w[i, j] for i in range(d_in)) + (b[j] if b is not None else 0.0)
    return y


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("n, d_in, d_out", [(1, 1, 1), (3, 4, 5), (5, 7, 2)])
def test_forward_matches_loops(rng, n, d_in, d_out, bias):
    """The matrix product gives the same numbers as the sum written out by hand."""
    layer = Dense(d_in, d_out, bias=bias, rng=rng)
    x = rng.standard_normal((n, d_in)).astype(np.float32)
    y = layer(x)
    assert y.shape == (n, d_out)
    b = layer.bias.data if bias else None
    np.testing.assert_allclose(y, reference_dense(x.astype(np.float64), layer.weight.data, b), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("n, d_in, d_out", [(1, 1, 1), (3, 4, 5), (4, 6, 3)])
def test_backward_matches_finite_differences(rng, gradcheck, n, d_in, d_out, bias):
    """dL/dx, dL/dW and dL/db agree with centred finite differences (float64)."""
    layer = Dense(d_in, d_out, bias=bias, rng=rng)
    x = rng.standard_normal((n, d_in))
    errors = gradcheck("Dense", layer, x)
    assert set(errors) == ({"x", "weight", "bias"} if bias else {"x", "weight"})


def test_backward_adds_into_grad(rng, accumulates):
    """Two backward passes accumulate twice the gradient; zero_grad sets it back to 0."""
    layer = Dense(4, 3, rng=rng).to(dtype=np.float64)
    x = rng.standard_normal((5, 4))
    accumulates(layer, x, rng.standard_normal((5, 3)))


def test_gradient_formulas(rng):
    """The backward is exactly x^T dy, sum_n dy and dy W^T."""
    layer = Dense(4, 3, rng=rng).to(dtype=np.float64)
    x, dy = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    layer(x)
    dx = layer.backward(dy)
    np.testing.assert_allclose(layer.weight.grad, x.T @ dy)
    np.testing.assert_allclose(layer.bias.grad, dy.sum(axis=0))
    np.testing.assert_allclose(dx, dy @ layer.weight.data.T)


@pytest.mark.parametrize("shape", [(2, 5), (2, 4, 1), (4,), (2, 2, 2)])
def test_wrong_shape_raises_shape_error(rng, shape_error, shape):
    """A wrong input shape names the layer, the expected (N, 4) and the shape it got."""
    layer = Dense(4, 3, rng=rng)
    shape_error(layer, np.zeros(shape, np.float32), "(N, 4)")


def test_dtype_mismatch_raises_type_error(rng, dtype_error):
    """float64 input into float32 weights is refused, not silently upcast."""
    dtype_error(Dense(4, 3, rng=rng), np.zeros((2, 4), np.float64))


def test_float32_by_default(rng):
    """Weights, gradients and outputs are float32 unless asked otherwise."""
    layer = Dense(4, 3, rng=rng)
    for p in layer.parameters():
        assert p.data.dtype == np.float32 and p.grad.dtype == np.float32
    y = layer(rng.standard_normal((2, 4)).astype(np.float32))
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32


def test_default_init_bound(rng):
    """Weights and biases start in U(-1/sqrt(fan_in), 1/sqrt(fan_in)), like PyTorch's Linear."""
    layer = Dense(16, 200, rng=rng)
    bound = 1 / np.sqrt(16)
    assert layer.weight.shape == (16, 200) and layer.bias.shape == (200,)
    assert np.abs(layer.weight.data).max() <= bound
    assert np.abs(layer.bias.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.9 * bound   # actually spread over the range
