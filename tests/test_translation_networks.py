"""The image-to-image networks: shapes at MNIST size, the U-Net's skips, and whole-network gradients (float64)."""
import numpy as np
import pytest

from minigan import check_layer
from minigan.translation import networks as tn

# name: (builder of a narrow float64 copy from a seeded generator, input shape, output shape). Seeded: the
# finite differences of a deep ReLU network straddle a kink now and then, so every draw is fixed.
F64 = dict(dtype=np.float64)
IMAGE, SMALL, PAIR = (2, 1, 28, 28), (2, 1, 7, 7), (2, 2, 28, 28)
NETWORKS = {
    "unet": (lambda r: tn.unet_generator(base=2, dropout=0.0, rng=r, **F64), IMAGE, IMAGE),
    "patchgan": (lambda r: tn.patchgan_discriminator(base=2, rng=r, **F64), PAIR, (2, 1, 7, 7)),
    "patchgan-instance": (lambda r: tn.patchgan_discriminator(in_channels=1, base=2, norm="instance", rng=r, **F64),
                          IMAGE, (2, 1, 7, 7)),
    "resnet": (lambda r: tn.resnet_generator(base=2, blocks=1, rng=r, **F64), IMAGE, IMAGE),
    "encoder-decoder": (lambda r: tn.encoder_decoder_generator(base=2, rng=r, **F64), IMAGE, IMAGE),
    "srresnet": (lambda r: tn.srresnet_generator(base=2, blocks=1, rng=r, **F64), SMALL, IMAGE),
    "sr-discriminator": (lambda r: tn.sr_discriminator(base=2, hidden=4, rng=r, **F64), IMAGE, (2, 1)),
}


@pytest.mark.parametrize("name", NETWORKS)
def test_shapes(rng, name):
    build, shape, out = NETWORKS[name]
    net = build(rng)
    y = net(rng.standard_normal(shape))
    assert y.shape == out
    assert net.backward(np.ones_like(y)).shape == shape


@pytest.mark.parametrize("name", NETWORKS)
def test_whole_network_gradient_matches_finite_differences(rng, name):
    """Input and every parameter; the weights drawn larger than DCGAN's 0.02 so every path carries signal.

    h = 1e-6 rather than the layer tests' 1e-5: a whole network has thousands of ReLU inputs, and
    a smaller step crosses a kink ten times less often (float64 keeps the differences exact enough).
    """
    build, shape, _ = NETWORKS[name]
    net = build(rng)
    for p in net.parameters():
        p.data[...] = rng.normal(0.0, 0.5, p.data.shape) if p.data.ndim > 1 else p.data + rng.normal(0, 0.1,
                                                                                                     p.data.shape)
    x = rng.standard_normal(shape)
    errors = check_layer(net, x, rng.standard_normal(net(x).shape), h=1e-6)
    bad = {k: v for k, v in errors.items() if not v < 1e-6}
    assert not bad, f"{name}: relative errors above 1e-6: {bad}"


def test_the_unet_passes_each_level_s_input_across(rng):
    """The middle level's output is [its input, what came back up]: the skip is a concatenation."""
    net = tn.unet_generator(base=3, dtype=np.float64, rng=rng)
    first_conv, middle = net[0], net[1]
    x = rng.standard_normal((2, 1, 28, 28))
    h = first_conv(x)
    out = middle(h)
    assert out.shape == (2, 6, 14, 14)
    np.testing.assert_array_equal(out[:, :3], h)


def test_the_srresnet_upsamples_with_two_pixel_shuffles():
    layers = [type(layer).__name__ for layer in tn.srresnet_generator(base=4)]
    assert layers.count("PixelShuffle") == 2 and layers[-1] == "Tanh"


def test_the_networks_start_from_dcgan_s_initialisation():
    net = tn.resnet_generator(base=4, blocks=1, rng=np.random.default_rng(0))
    convs = [m for m in net.modules() if m.init_kind == "linear"]
    assert convs and all(abs(float(m.weight.data.std()) - 0.02) < 0.01 for m in convs)


def test_a_patchgan_norm_is_one_of_three():
    with pytest.raises(ValueError, match="norm must be one of batch, instance, none, got 'layer'"):
        tn.patchgan_discriminator(norm="layer")


def test_a_residual_block_norm_is_instance_or_batch():
    with pytest.raises(ValueError, match="norm must be 'instance' or 'batch', got 'layer'"):
        tn.residual_block(4, norm="layer")
