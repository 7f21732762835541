"""Conv2d: forward against explicit loops, backward against finite differences."""
import numpy as np
import pytest

from minigan import Conv2d

pytestmark = pytest.mark.usefixtures("both_paths")  # fast paths and plain lines alike (conftest.py)


def reference_conv2d(x, w, b, stride, padding):
    """Cross-correlation by the definition: one dot product per output pixel.

    y[n, o, i, j] = b[o] + sum_{c,u,v} w[o, c, u, v] * x_pad[n, c, i*s + u, j*s + v]
    """
    n, c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    p, s = padding, stride
    x_pad = np.zeros((n, c_in, h + 2 * p, wd + 2 * p))
    x_pad[:, :, p:p + h, p:p + wd] = x
    ho, wo = (h + 2 * p - kh) // s + 1, (wd + 2 * p - kw) // s + 1
    y = np.zeros((n, c_out, ho, wo))
    for a in range(n):
        for o in range(c_out):
            for i in range(ho):
                for j in range(wo):
                    total = b[o] if b is not None else 0.0
                    for c in range(c_in):
                        for u in range(kh):
                            for v in range(kw):
                                total += w[o, c, u, v] * x_pad[a, c, i * s + u, j * s + v]
                    y[a, o, i, j] = total
    return y


CONFIGS = [  # (N, C_in, C_out, H, W, k)
    (1, 1, 1, 5, 5, 3),
    (2, 3, 2, 6, 5, 3),
    (2, 2, 3, 7, 7, 2),
    (1, 2, 2, 5, 6, (2, 3)),
]


@pytest.mark.parametrize("padding", [0, 1, 2])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("cfg", CONFIGS)
def test_forward_matches_loops(rng, cfg, stride, padding):
    """im2col + matmul gives the loop definition for every stride and padding."""
    n, c_in, c_out, h, w, k = cfg
    layer = Conv2d(c_in, c_out, k, stride=stride, padding=padding, rng=rng)
    x = rng.standard_normal((n, c_in, h, w)).astype(np.float32)
    y = layer(x)
    ref = reference_conv2d(x.astype(np.float64), layer.weight.data.astype(np.float64),
                           layer.bias.data.astype(np.float64), stride, padding)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


def test_forward_without_bias(rng):
    """bias=False: no bias parameter, and the output is the bare correlation."""
    layer = Conv2d(2, 3, 3, padding=1, bias=False, rng=rng)
    assert layer.bias is None and len(layer.parameters()) == 1
    x = rng.standard_normal((2, 2, 4, 4)).astype(np.float32)
    ref = reference_conv2d(x.astype(np.float64), layer.weight.data.astype(np.float64), None, 1, 1)
    np.testing.assert_allclose(layer(x), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("padding", [0, 1, 2])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("cfg", [(2, 2, 3, 5, 5, 3), (1, 3, 2, 6, 5, 2)])
def test_backward_matches_finite_differences(rng, gradcheck, cfg, stride, padding):
    """dL/dx, dL/dweight, dL/dbias agree with centred finite differences (float64)."""
    n, c_in, c_out, h, w, k = cfg
    layer = Conv2d(c_in, c_out, k, stride=stride, padding=padding, rng=rng)
    x = rng.standard_normal((n, c_in, h, w))
    errors = gradcheck("Conv2d", layer, x)
    assert set(errors) == {"x", "weight", "bias"}


def test_backward_without_bias(rng, gradcheck):
    """The gradient check also holds for a conv without bias (rectangular kernel)."""
    layer = Conv2d(2, 2, (3, 2), stride=2, padding=1, bias=False, rng=rng)
    errors = gradcheck("Conv2d", layer, rng.standard_normal((2, 2, 5, 4)))
    assert set(errors) == {"x", "weight"}


def test_backward_adds_into_grad(rng, accumulates):
    """Two backward passes accumulate twice the gradient; zero_grad clears it."""
    layer = Conv2d(2, 3, 3, stride=2, padding=1, rng=rng).to(dtype=np.float64)
    x = rng.standard_normal((2, 2, 5, 5))
    accumulates(layer, x, rng.standard_normal((2, 3, 3, 3)))


@pytest.mark.parametrize("shape, expected", [
    ((2, 3, 5, 5), "(N, 2, H, W)"),         # wrong channel count
    ((2, 5, 5), "(N, 2, H, W)"),            # no batch axis
    ((2, 2, 5, 5, 1), "(N, 2, H, W)"),      # one axis too many
    ((2, 2, 1, 5), "H + 2*padding >= 3"),   # image smaller than the kernel
])
def test_wrong_shape_raises_shape_error(rng, shape_error, shape, expected):
    """A wrong input shape names the layer, what it expected and what it got."""
    layer = Conv2d(2, 4, 3, rng=rng)
    shape_error(layer, np.zeros(shape, np.float32), expected)


def test_dtype_mismatch_raises_type_error(rng, dtype_error):
    """float64 input into float32 weights is refused."""
    dtype_error(Conv2d(2, 4, 3, rng=rng), np.zeros((1, 2, 5, 5), np.float64))


def test_float32_by_default(rng):
    """Weights, outputs and input gradients are float32 for float32 input."""
    layer = Conv2d(2, 4, 3, padding=1, rng=rng)
    assert layer.weight.data.dtype == np.float32 and layer.bias.data.dtype == np.float32
    assert layer.weight.shape == (4, 2, 3, 3)
    y = layer(rng.standard_normal((1, 2, 5, 5)).astype(np.float32))
    assert y.dtype == np.float32 and y.shape == (1, 4, 5, 5)
    assert layer.backward(np.ones_like(y)).dtype == np.float32
