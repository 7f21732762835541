"""The layers image-to-image GANs add: InstanceNorm2d, PReLU, PixelShuffle, ReflectionPad2d, Residual.

Each forward against a plain reference written from its definition (loops over pixels, or the
formula), each backward against centred finite differences in float64, and each bad input a clear
error naming the layer.
"""
import numpy as np
import pytest

from minigan import (Concat, Conv2d, Fork, Identity, InstanceNorm2d, LeakyReLU, PixelShuffle, PReLU, ReflectionPad2d,
                     Residual, Sequential, ShapeError)

pytestmark = pytest.mark.usefixtures("both_paths")


def away_from_zero(rng, shape, low=0.1):
    """|x| in [low, 3], both signs: finite differences never straddle PReLU's kink."""
    return rng.uniform(low, 3.0, shape) * rng.choice([-1.0, 1.0], shape)


# ---------------------------------------------------------------- InstanceNorm2d

def reference_instance_norm(x, gamma, beta, eps):
    """Each (n, c) plane on its own, by the formula, in loops."""
    y = np.empty_like(x)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            plane = x[n, c]
            y[n, c] = gamma[c] * (plane - plane.mean()) / np.sqrt(plane.var() + eps) + beta[c]
    return y


@pytest.mark.parametrize("affine", [False, True])
def test_instance_norm_forward_normalises_each_plane(rng, affine):
    layer = InstanceNorm2d(3, affine=affine).to(dtype=np.float64)
    if affine:
        layer.weight.data[:] = rng.standard_normal(3)
        layer.bias.data[:] = rng.standard_normal(3)
    x = 2 + 3 * rng.standard_normal((4, 3, 5, 6))
    gamma, beta = (layer.weight.data, layer.bias.data) if affine else (np.ones(3), np.zeros(3))
    np.testing.assert_allclose(layer(x), reference_instance_norm(x, gamma, beta, 1e-5), rtol=1e-12, atol=1e-12)


def test_instance_norm_does_not_mix_samples_and_is_the_same_in_eval(rng):
    layer = InstanceNorm2d(2).to(dtype=np.float64)
    x = rng.standard_normal((3, 2, 4, 4))
    alone = layer(x[:1])
    np.testing.assert_allclose(layer(x)[:1], alone, rtol=1e-13)       # the other samples do not enter
    layer.eval()
    np.testing.assert_allclose(layer(x[:1]), alone, rtol=1e-13)       # no running statistics


@pytest.mark.parametrize("affine, shape", [(False, (2, 3, 4, 4)), (True, (2, 3, 4, 5)), (True, (1, 1, 2, 1))])
def test_instance_norm_backward_matches_finite_differences(rng, gradcheck, affine, shape):
    layer = InstanceNorm2d(shape[1], affine=affine)
    if affine:
        layer.to(dtype=np.float64)
        layer.weight.data[:] = rng.standard_normal(shape[1])
    x = rng.standard_normal(shape)
    # dy drawn after x: check_layer's own dy (seed 0) would equal this x, and Pi(x) is zero by construction
    errors = gradcheck("InstanceNorm2d", layer, x, rng.standard_normal(shape))
    assert set(errors) == ({"x", "weight", "bias"} if affine else {"x"})


def test_instance_norm_refuses_bad_input():
    with pytest.raises(ShapeError, match=r"InstanceNorm2d\(3.*\(N, 3, H, W\).*\(2, 4, 5, 5\)"):
        InstanceNorm2d(3)(np.zeros((2, 4, 5, 5), np.float32))
    with pytest.raises(ShapeError, match="one pixel has no spread"):
        InstanceNorm2d(3)(np.zeros((2, 3, 1, 1), np.float32))
    with pytest.raises(ValueError, match="InstanceNorm2d: num_features must be an integer >= 1, got 0"):
        InstanceNorm2d(0)
    with pytest.raises(ValueError, match="eps must be > 0"):
        InstanceNorm2d(3, eps=0)


# ---------------------------------------------------------------- PReLU

@pytest.mark.parametrize("channels, shape", [(1, (3, 4)), (1, (2, 3, 4, 4)), (3, (2, 3, 4, 4)), (4, (5, 4))])
def test_prelu_forward_and_backward(rng, gradcheck, channels, shape):
    layer = PReLU(channels).to(dtype=np.float64)
    layer.weight.data[:] = rng.uniform(0.05, 0.5, channels)
    x = away_from_zero(rng, shape)
    a = layer.weight.data.reshape((1, -1) + (1,) * (len(shape) - 2)) if channels > 1 else layer.weight.data[0]
    np.testing.assert_allclose(layer(x), np.where(x > 0, x, a * x), rtol=1e-15)
    errors = gradcheck("PReLU", layer, x)
    assert set(errors) == {"x", "weight"}


def test_prelu_starts_at_a_quarter_and_learns_its_slope():
    layer = PReLU(2)
    np.testing.assert_array_equal(layer.weight.data, np.float32([0.25, 0.25]))
    x = np.float32([[-2.0, 3.0], [-1.0, -4.0]])
    layer(x)
    layer.backward(np.ones_like(x))
    np.testing.assert_allclose(layer.weight.grad, [-3.0, -4.0])       # dL/da_c = sum of x_c where x_c <= 0


def test_prelu_refuses_bad_input():
    with pytest.raises(ShapeError, match=r"PReLU\(num_parameters=3\).*\(N, 3, \.\.\.\).*\(2, 4, 5\)"):
        PReLU(3)(np.zeros((2, 4, 5), np.float32))
    with pytest.raises(ValueError, match="PReLU: num_parameters must be an integer >= 1, got 0"):
        PReLU(0)
    with pytest.raises(ValueError, match="PReLU: init must be a number"):
        PReLU(1, init="0.25")


# ---------------------------------------------------------------- PixelShuffle

def reference_pixel_shuffle(x, r):
    """y[n, c, h r + i, w r + j] = x[n, c r^2 + i r + j, h, w], entry by entry."""
    n, cr2, h, w = x.shape
    y = np.empty((n, cr2 // (r * r), h * r, w * r), x.dtype)
    for c in range(cr2 // (r * r)):
        for i in range(r):
            for j in range(r):
                y[:, c, i::r, j::r] = x[:, c * r * r + i * r + j]
    return y


@pytest.mark.parametrize("r, shape", [(2, (2, 8, 3, 3)), (3, (1, 9, 2, 4)), (1, (2, 3, 2, 2))])
def test_pixel_shuffle_forward_and_backward(rng, gradcheck, r, shape):
    x = rng.standard_normal(shape)
    np.testing.assert_array_equal(PixelShuffle(r)(x), reference_pixel_shuffle(x, r))
    gradcheck("PixelShuffle", PixelShuffle(r), x)


def test_pixel_shuffle_backward_is_its_inverse(rng):
    """A permutation: backward(forward(x)) = x."""
    layer, x = PixelShuffle(2), rng.standard_normal((2, 12, 3, 4))
    np.testing.assert_array_equal(layer.backward(layer(x)), x)


def test_pixel_shuffle_refuses_channels_that_do_not_divide():
    with pytest.raises(ShapeError, match=r"PixelShuffle\(upscale_factor=2\).*multiple of 4.*\(2, 6, 3, 3\)"):
        PixelShuffle(2)(np.zeros((2, 6, 3, 3), np.float32))
    with pytest.raises(ValueError, match="PixelShuffle: upscale_factor must be an integer >= 1, got 0"):
        PixelShuffle(0)


# ---------------------------------------------------------------- ReflectionPad2d

def reference_reflection_pad(x, p):
    """Index by the mirror rule: padded index t reads input |t - p|, folded back off the far edge."""
    n, c, h, w = x.shape

    def source(t, size):
        k = abs(t - p)
        return 2 * (size - 1) - k if k > size - 1 else k

    y = np.empty((n, c, h + 2 * p, w + 2 * p), x.dtype)
    for i in range(h + 2 * p):
        for j in range(w + 2 * p):
            y[:, :, i, j] = x[:, :, source(i, h), source(j, w)]
    return y


def test_reflection_pad_reads_as_the_docstring_says():
    row = np.float64([1, 2, 3, 4]).reshape(1, 1, 1, 4).repeat(3, axis=2)
    np.testing.assert_array_equal(ReflectionPad2d(2)(row)[0, 0, 2], [3, 2, 1, 2, 3, 4, 3, 2])


@pytest.mark.parametrize("p, shape", [(1, (2, 2, 4, 5)), (2, (1, 3, 4, 5)), (3, (2, 1, 4, 6)), (0, (1, 1, 2, 2))])
def test_reflection_pad_forward_and_backward(rng, gradcheck, p, shape):
    x = rng.standard_normal(shape)
    np.testing.assert_array_equal(ReflectionPad2d(p)(x), reference_reflection_pad(x, p))
    gradcheck("ReflectionPad2d", ReflectionPad2d(p), x)


def test_reflection_pad_refuses_a_pad_past_the_far_edge():
    with pytest.raises(ShapeError, match=r"ReflectionPad2d\(padding=3\).*H and W > 3.*\(1, 1, 3, 8\)"):
        ReflectionPad2d(3)(np.zeros((1, 1, 3, 8), np.float32))
    with pytest.raises(ValueError, match="ReflectionPad2d: padding must be an integer >= 0, got -1"):
        ReflectionPad2d(-1)


# ---------------------------------------------------------------- Residual, and a U-Net skip from Fork + Concat

def residual_block(c):
    """CycleGAN's block: pad, conv, norm, ReLU-like, pad, conv, norm (no conv bias: the norm removes it)."""
    return Residual(Sequential(ReflectionPad2d(1), Conv2d(c, c, 3, bias=False), InstanceNorm2d(c, affine=True),
                               PReLU(c), ReflectionPad2d(1), Conv2d(c, c, 3, bias=False), InstanceNorm2d(c)))


def test_residual_adds_its_input_to_its_body(rng):
    block = residual_block(2).to(dtype=np.float64)
    x = rng.standard_normal((2, 2, 5, 5))
    np.testing.assert_allclose(block(x), x + block.body(x), rtol=1e-14)


def test_residual_block_backward_matches_finite_differences(rng, gradcheck):
    x = rng.standard_normal((2, 2, 5, 5))
    errors = gradcheck("Residual", residual_block(2), x, rng.standard_normal(x.shape))
    assert {"x", "body.1.weight", "body.2.weight", "body.3.weight", "body.5.weight"} <= set(errors)


def test_residual_refuses_a_body_that_changes_the_shape(rng):
    with pytest.raises(ShapeError, match="the body must keep its input's shape"):
        Residual(Conv2d(2, 3, 3, padding=1))(rng.standard_normal((1, 2, 4, 4)).astype(np.float32))
    with pytest.raises(TypeError, match="Residual: body must be a minigan Layer"):
        Residual("conv")


def test_a_unet_skip_is_fork_and_concat(rng, gradcheck):
    """[x, F(x)] along the channels: pix2pix's skip connection, built from the combining layers."""
    skip = Sequential(Fork(Identity(), Sequential(Conv2d(2, 4, 4, stride=2, padding=1), LeakyReLU(0.2),
                                                  PixelShuffle(2))), Concat())
    skip.to(dtype=np.float64)
    x = rng.standard_normal((2, 2, 4, 4))
    y = skip(x)
    assert y.shape == (2, 3, 4, 4)
    np.testing.assert_array_equal(y[:, :2], x)
    gradcheck("Residual", skip, x)
