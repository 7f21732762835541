"""Flatten, Reshape, Upsample2d: numbers moved around, and gradients moved back."""
import numpy as np
import pytest

from minigan import Flatten, Reshape, Upsample2d


def reference_upsample(x, s):
    """Nearest neighbour by the definition: y[n, c, i, j] = x[n, c, i // s, j // s]."""
    n, c, h, w = x.shape
    y = np.zeros((n, c, h * s, w * s), dtype=x.dtype)
    for i in range(h * s):
        for j in range(w * s):
            y[:, :, i, j] = x[:, :, i // s, j // s]
    return y


# ---------------------------------------------------------------- Flatten

@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4), (3, 2, 4, 5), (1, 1, 1, 1)])
def test_flatten_forward(rng, shape):
    """(N, d1, d2, ...) -> (N, d1*d2*...) keeping C order, like x.reshape(N, -1)."""
    x = rng.standard_normal(shape)
    y = Flatten()(x)
    assert y.shape == (shape[0], int(np.prod(shape[1:])))
    np.testing.assert_array_equal(y, np.stack([xi.ravel() for xi in x]))


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4), (2, 2, 3, 3)])
def test_flatten_backward_matches_finite_differences(rng, gradcheck, shape):
    """The gradient goes back to the input's shape, entry for entry (float64)."""
    errors = gradcheck("Flatten", Flatten(), rng.standard_normal(shape))
    assert set(errors) == {"x"}


def test_flatten_backward_restores_shape(rng):
    """backward(dy) is dy reshaped to the input's shape."""
    layer = Flatten()
    x = rng.standard_normal((2, 3, 4, 5))
    dy = rng.standard_normal((2, 60))
    layer(x)
    np.testing.assert_array_equal(layer.backward(dy), dy.reshape(2, 3, 4, 5))


# ---------------------------------------------------------------- Reshape

@pytest.mark.parametrize("in_shape, target", [
    ((2, 12), (3, 4)),
    ((2, 12), (12,)),
    ((3, 2, 3, 4), (24,)),
    ((2, 32), (2, 4, 4)),
    ((2, 6), [1, 2, 3]),     # a list works as well as separate numbers
])
def test_reshape_forward(rng, in_shape, target):
    """Reshape(*shape) gives (N, *shape); the batch axis is never touched."""
    x = rng.standard_normal(in_shape)
    y = Reshape(target)(x) if isinstance(target, list) else Reshape(*target)(x)
    assert y.shape == (in_shape[0],) + tuple(target)
    np.testing.assert_array_equal(y, x.reshape((in_shape[0],) + tuple(target)))


@pytest.mark.parametrize("in_shape, target", [((2, 12), (3, 4)), ((2, 2, 3, 2), (12,)), ((3, 8), (2, 2, 2))])
def test_reshape_backward_matches_finite_differences(rng, gradcheck, in_shape, target):
    """The gradient is reshaped back to the input's shape (float64)."""
    errors = gradcheck("Reshape", Reshape(*target), rng.standard_normal(in_shape))
    assert set(errors) == {"x"}


@pytest.mark.parametrize("shape", [(2, 13), (2, 3, 5), (12,)])
def test_reshape_wrong_size_raises_shape_error(shape_error, shape):
    """An input with the wrong number of values per sample names the layer, the count and the shape."""
    layer = Reshape(3, 4)
    msg = shape_error(layer, np.zeros(shape), "with 12 numbers per sample")
    assert "Reshape(3, 4)" in msg


# ---------------------------------------------------------------- Upsample2d

@pytest.mark.parametrize("scale", [1, 2, 3])
@pytest.mark.parametrize("shape", [(1, 1, 2, 2), (2, 3, 3, 4)])
def test_upsample_forward_matches_loop(rng, shape, scale):
    """Every pixel becomes a scale x scale block of copies."""
    x = rng.standard_normal(shape)
    y = Upsample2d(scale)(x)
    np.testing.assert_array_equal(y, reference_upsample(x, scale))


@pytest.mark.parametrize("scale", [1, 2, 3])
@pytest.mark.parametrize("shape", [(1, 1, 2, 2), (2, 2, 3, 2)])
def test_upsample_backward_matches_finite_differences(rng, gradcheck, shape, scale):
    """Each input pixel's gradient is the sum over its block (float64)."""
    errors = gradcheck("Upsample2d", Upsample2d(scale), rng.standard_normal(shape))
    assert set(errors) == {"x"}


def test_upsample_backward_sums_blocks():
    """backward(ones) gives scale^2 everywhere: each pixel was copied scale^2 times."""
    layer = Upsample2d(3)
    y = layer(np.zeros((1, 2, 2, 3)))
    np.testing.assert_array_equal(layer.backward(np.ones_like(y)), np.full((1, 2, 2, 3), 9.0))


@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 3), (1, 2, 3, 4, 5)])
def test_upsample_wrong_shape_raises_shape_error(shape_error, shape):
    """Upsample2d needs NCHW input; anything else names the layer, (N, C, H, W) and the shape."""
    shape_error(Upsample2d(2), np.zeros(shape), "(N, C, H, W)")


# ---------------------------------------------------------------- all three

@pytest.mark.parametrize("make, shape", [
    (Flatten, (2, 3, 2, 2)),
    (lambda: Reshape(3, 4), (2, 12)),
    (lambda: Upsample2d(2), (2, 3, 2, 2)),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(rng, make, shape, dtype):
    """float32 in gives float32 out, forward and backward."""
    layer = make()
    y = layer(rng.standard_normal(shape).astype(dtype))
    assert y.dtype == dtype
    assert layer.backward(np.ones_like(y)).dtype == dtype
