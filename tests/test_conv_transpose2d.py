"""ConvTranspose2d: forward by scattering, backward by finite differences, and the adjoint of Conv2d."""
import numpy as np
import pytest

from minigan import Conv2d, ConvTranspose2d, ShapeError

pytestmark = pytest.mark.usefixtures("both_paths")  # fast paths and plain lines alike (conftest.py)


def reference_conv_transpose2d(x, w, b, stride, padding, output_padding):
    """Transposed convolution by its definition: scatter, then crop.

    Every input pixel x[n, c, i, j] adds ``x[n, c, i, j] * w[c, :, :, :]`` onto the
    output window whose corner is (i*s, j*s). The full canvas is then cropped by
    ``padding`` on each side; ``output_padding`` keeps extra rows/columns at the
    bottom/right.
    """
    n, c_in, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    s, p, op = stride, padding, output_padding
    full = np.zeros((n, c_out, (h - 1) * s + kh + op, (wd - 1) * s + kw + op))
    for a in range(n):
        for c in range(c_in):
            for i in range(h):
                for j in range(wd):
                    full[a, :, i * s:i * s + kh, j * s:j * s + kw] += x[a, c, i, j] * w[c]
    ho, wo = (h - 1) * s - 2 * p + kh + op, (wd - 1) * s - 2 * p + kw + op
    y = full[:, :, p:p + ho, p:p + wo]
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return y


def geometries():
    """(stride, padding, output_padding) with output_padding < stride, as PyTorch requires."""
    return [(s, p, op) for s in (1, 2, 3) for p in (0, 1, 2) for op in (0, 1) if op < s]


CONFIGS = [  # (N, C_in, C_out, H, W, k)
    (1, 1, 1, 3, 3, 3),
    (2, 3, 2, 3, 4, 3),
    (2, 2, 3, 4, 4, 4),
    (1, 2, 2, 3, 3, (2, 3)),
]


@pytest.mark.parametrize("stride, padding, output_padding", geometries())
@pytest.mark.parametrize("cfg", CONFIGS)
def test_forward_matches_scatter(rng, cfg, stride, padding, output_padding):
    """col2im of x W gives the scatter-and-crop definition, output size included.

    (Where the cropped output would be empty, the layer must refuse the input instead.)
    """
    n, c_in, c_out, h, w, k = cfg
    layer = ConvTranspose2d(c_in, c_out, k, stride=stride, padding=padding,
                            output_padding=output_padding, rng=rng)
    x = rng.standard_normal((n, c_in, h, w)).astype(np.float32)
    if min(layer.output_shape(x.shape)[2:]) < 1:
        with pytest.raises(ShapeError, match="non-empty output"):
            layer(x)
        return
    y = layer(x)
    ref = reference_conv_transpose2d(x.astype(np.float64), layer.weight.data.astype(np.float64),
                                     layer.bias.data.astype(np.float64), stride, padding, output_padding)
    assert y.shape == ref.shape == layer.output_shape(x.shape)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("stride, padding, output_padding", geometries())
@pytest.mark.parametrize("cfg", [(2, 2, 3, 3, 3, 3), (1, 3, 2, 2, 3, 4)])
def test_backward_matches_finite_differences(rng, gradcheck, cfg, stride, padding, output_padding):
    """dL/dx, dL/dweight, dL/dbias agree with centred finite differences (float64)."""
    n, c_in, c_out, h, w, k = cfg
    layer = ConvTranspose2d(c_in, c_out, k, stride=stride, padding=padding,
                            output_padding=output_padding, rng=rng)
    x = rng.standard_normal((n, c_in, h, w))
    errors = gradcheck("ConvTranspose2d", layer, x)
    assert set(errors) == {"x", "weight", "bias"}


def test_backward_without_bias(rng, gradcheck):
    """The gradient check also holds without bias and with a rectangular kernel."""
    layer = ConvTranspose2d(2, 2, (3, 2), stride=2, padding=1, output_padding=1, bias=False, rng=rng)
    errors = gradcheck("ConvTranspose2d", layer, rng.standard_normal((2, 2, 3, 3)))
    assert set(errors) == {"x", "weight"}


@pytest.mark.parametrize("stride, padding, output_padding", geometries())
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_adjoint_of_conv2d(rng, k, stride, padding, output_padding):
    """<conv(x), y> = <x, convT(y)>: with one shared weight, ConvTranspose2d is Conv2d's transpose.

    Conv2d(C_in -> C_out) has weight (C_out, C_in, k, k); ConvTranspose2d(C_out -> C_in)
    stores (in=C_out, out=C_in, k, k): the very same array. Biases are off, since
    the identity is about the linear maps. The big image has the convT's output
    size, which the conv maps back to the small one.
    """
    c_in, c_out, n, h_small = 2, 3, 2, 5
    h_big = (h_small - 1) * stride - 2 * padding + k + output_padding
    if h_big < 1 or h_big + 2 * padding < k:
        pytest.skip("no valid image for this geometry")
    conv = Conv2d(c_in, c_out, k, stride=stride, padding=padding, bias=False, rng=rng).to(dtype=np.float64)
    conv_t = ConvTranspose2d(c_out, c_in, k, stride=stride, padding=padding, output_padding=output_padding,
                             bias=False, rng=rng).to(dtype=np.float64)
    conv_t.weight.data = conv.weight.data          # shared: (C_out, C_in, k, k) for both
    x = rng.standard_normal((n, c_in, h_big, h_big))
    y = rng.standard_normal((n, c_out, h_small, h_small))
    cx, ty = conv(x), conv_t(y)
    assert cx.shape == y.shape and ty.shape == x.shape
    lhs, rhs = np.sum(cx * y), np.sum(x * ty)
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(lhs))


def test_backward_is_conv2d_forward(rng):
    """ConvTranspose2d's input gradient is Conv2d's forward with the same weight."""
    conv = Conv2d(2, 3, 4, stride=2, padding=1, bias=False, rng=rng).to(dtype=np.float64)
    conv_t = ConvTranspose2d(3, 2, 4, stride=2, padding=1, bias=False, rng=rng).to(dtype=np.float64)
    conv_t.weight.data = conv.weight.data
    y = conv_t(rng.standard_normal((2, 3, 3, 3)))
    dy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(conv_t.backward(dy), conv(dy), rtol=1e-12, atol=1e-12)


def test_dcgan_upsampling_doubles_size(rng):
    """k=4, s=2, p=1 (the DCGAN generator's block) maps H x W to 2H x 2W."""
    layer = ConvTranspose2d(8, 4, 4, stride=2, padding=1, rng=rng)
    assert layer(np.zeros((3, 8, 7, 5), np.float32)).shape == (3, 4, 14, 10)


def test_backward_adds_into_grad(rng, accumulates):
    """Two backward passes accumulate twice the gradient; zero_grad clears it."""
    layer = ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1, rng=rng).to(dtype=np.float64)
    x = rng.standard_normal((2, 2, 3, 3))
    accumulates(layer, x, rng.standard_normal((2, 3, 6, 6)))


def test_output_padding_must_be_below_stride():
    """output_padding >= stride has no meaning (PyTorch refuses it too)."""
    with pytest.raises(ValueError, match="output_padding"):
        ConvTranspose2d(2, 2, 3, stride=2, output_padding=2)


@pytest.mark.parametrize("shape, expected", [
    ((2, 3, 4, 4), "(N, 2, H, W)"),      # wrong channel count
    ((2, 4, 4), "(N, 2, H, W)"),         # no batch axis
    ((2, 2, 4, 4, 1), "(N, 2, H, W)"),   # one axis too many
])
def test_wrong_shape_raises_shape_error(rng, shape_error, shape, expected):
    """A wrong input shape names the layer, what it expected and what it got."""
    layer = ConvTranspose2d(2, 4, 3, rng=rng)
    shape_error(layer, np.zeros(shape, np.float32), expected)


@pytest.mark.parametrize("k, padding", [(2, 1), (1, 1), (3, 2)])
def test_empty_output_raises_shape_error(rng, shape_error, k, padding):
    """An input so small that the cropped output would have no pixels is refused."""
    layer = ConvTranspose2d(2, 4, k, padding=padding, rng=rng)
    shape_error(layer, np.zeros((1, 2, 1, 1), np.float32), "(N, 2, H, W)")


def test_dtype_mismatch_raises_type_error(rng, dtype_error):
    """float64 input into float32 weights is refused."""
    dtype_error(ConvTranspose2d(2, 4, 3, rng=rng), np.zeros((1, 2, 3, 3), np.float64))


def test_float32_by_default(rng):
    """Weights (C_in, C_out, kH, kW), outputs and input gradients are float32."""
    layer = ConvTranspose2d(2, 4, 3, rng=rng)
    assert layer.weight.shape == (2, 4, 3, 3)
    assert layer.weight.data.dtype == np.float32 and layer.bias.data.dtype == np.float32
    y = layer(rng.standard_normal((1, 2, 3, 3)).astype(np.float32))
    assert y.dtype == np.float32 and y.shape == (1, 4, 5, 5)
    assert layer.backward(np.ones_like(y)).dtype == np.float32
