"""The networks of the image-to-image GANs, at MNIST size (docs/translation_networks.md).

- :func:`unet_generator` (pix2pix): an encoder-decoder whose every level also passes its input
  straight across, ``Fork(Identity(), down -> inner -> up)`` then ``Concat``.
- :func:`patchgan_discriminator` (pix2pix, CycleGAN): a few strided convolutions ending in one
  logit per overlapping patch, a (N, 1, 7, 7) map, not one per image.
- :func:`resnet_generator` (CycleGAN): reflection-padded convolutions, instance norm, one
  downsampling, residual blocks, one upsampling.
- :func:`encoder_decoder_generator` (DiscoGAN): strided convolutions down, transposed ones up,
  no skips.
- :func:`srresnet_generator` (SRGAN): residual blocks of conv-batchnorm-PReLU, a long skip, and
  two sub-pixel (PixelShuffle) stages from 7 x 7 to 28 x 28; :func:`sr_discriminator`.

Each is built from the layers and the combining layers; none has a forward of its own.
Widths are small for a CPU; every default is named in the function.
"""
import numpy as np

from ..nn import Sequential, init
from ..nn.layers import (BatchNorm2d, Concat, Conv2d, ConvTranspose2d, Dense, Dropout, Flatten, Fork, Identity,
                         InstanceNorm2d, LeakyReLU, PixelShuffle, PReLU, ReflectionPad2d, ReLU, Residual, Tanh)


def skip_level(down, inner, up):
    """One U-Net level: [x, up(inner(down(x)))] along the channels (the input passed across, then joined)."""
    return Sequential(Fork(Identity(), Sequential(*down, inner, *up)), Concat())


def unet_generator(in_channels=1, out_channels=1, base=32, dropout=0.5, dtype=np.float32, rng=None, seed=None):
    """28 x 28 -> 14 -> 7 -> 7 (bottleneck) and back, each level's input concatenated to its output.

    x (in, 28) -Conv4s2-> (b, 14) -LReLU, Conv4s2, BN-> (2b, 7) -LReLU, Conv3, ReLU, Conv3, BN-> (2b, 7)
      <- the bottleneck's skip: [(2b, 7), (2b, 7)] = (4b, 7)
      -ReLU, ConvT4s2, BN, Dropout-> (b, 14), skip: (2b, 14) -ReLU, ConvT4s2-> (out, 28) -> tanh.
    pix2pix's generator at MNIST size; its dropout is G's only noise (the paper's).
    """
    b = base
    conv = dict(dtype=dtype, rng=rng)
    bottleneck = skip_level(
        [LeakyReLU(0.2), Conv2d(2 * b, 4 * b, 3, padding=1, **conv)], Identity(),
        [ReLU(), Conv2d(4 * b, 2 * b, 3, padding=1, bias=False, **conv), BatchNorm2d(2 * b, dtype=dtype)])  # (4b, 7)
    middle = skip_level(
        [LeakyReLU(0.2), Conv2d(b, 2 * b, 4, stride=2, padding=1, bias=False, **conv),
         BatchNorm2d(2 * b, dtype=dtype)],
        bottleneck,
        [ReLU(), ConvTranspose2d(4 * b, b, 4, stride=2, padding=1, bias=False, **conv), BatchNorm2d(b, dtype=dtype),
         Dropout(dropout, seed=seed)])                                                                 # (2b, 14, 14)
    g = Sequential(Conv2d(in_channels, b, 4, stride=2, padding=1, **conv), middle,
                   ReLU(), ConvTranspose2d(2 * b, out_channels, 4, stride=2, padding=1, **conv), Tanh())
    return init.dcgan_init(g, rng)


def patchgan_discriminator(in_channels=2, base=32, norm="batch", dtype=np.float32, rng=None):
    """(N, in, 28, 28) -> Conv4s2 -> LReLU -> Conv4s2 -> norm -> LReLU -> Conv3 -> (N, 1, 7, 7): a logit per patch.

    Each logit's window is 18 x 18 input pixels: 3 positions of the 7 x 7 map, 4 + 2*2 = 8 of the
    14 x 14 one, 4 + 2*7 = 18 of the input (the logit at (3, 3) reaches input rows and columns
    5..22); the loss averages over the 49 windows. That is all a logit depends on with "none", and
    with "batch" in eval mode. A pixel outside the window reaches the logit only through the norm's
    mean and variance, two numbers per channel: those of the whole batch while "batch" trains, those
    of its own image's planes with "instance" (in either mode), so that every logit of CycleGAN's D
    depends a little on all 28 x 28 pixels. ``in_channels=2`` for pix2pix's conditional D on
    [input, output]; ``norm`` "batch" (pix2pix), "instance" (CycleGAN) or "none".
    """
    b = base
    norms = {"batch": lambda c: BatchNorm2d(c, dtype=dtype), "instance": lambda c: InstanceNorm2d(c, affine=True,
                                                                                                   dtype=dtype),
             "none": lambda c: Identity()}
    if norm not in norms:
        raise ValueError(f"norm must be one of {', '.join(norms)}, got {norm!r}")
    d = Sequential(Conv2d(in_channels, b, 4, stride=2, padding=1, dtype=dtype, rng=rng), LeakyReLU(0.2),
                   Conv2d(b, 2 * b, 4, stride=2, padding=1, bias=norm == "none", dtype=dtype, rng=rng),
                   norms[norm](2 * b), LeakyReLU(0.2),
                   Conv2d(2 * b, 1, 3, padding=1, dtype=dtype, rng=rng))
    return init.dcgan_init(d, rng)


def residual_block(channels, norm="instance", dtype=np.float32, rng=None):
    """CycleGAN's block: x + [pad, conv3, norm, ReLU, pad, conv3, norm](x); no conv bias (the norm removes it)."""
    if norm not in ("instance", "batch"):
        raise ValueError(f"norm must be 'instance' or 'batch', got {norm!r}")

    def norm_layer():
        if norm == "instance":
            return InstanceNorm2d(channels, affine=True, dtype=dtype)
        return BatchNorm2d(channels, dtype=dtype)
    return Residual(Sequential(
        ReflectionPad2d(1), Conv2d(channels, channels, 3, bias=False, dtype=dtype, rng=rng), norm_layer(), ReLU(),
        ReflectionPad2d(1), Conv2d(channels, channels, 3, bias=False, dtype=dtype, rng=rng), norm_layer()))


def resnet_generator(base=32, blocks=3, kernel=7, dtype=np.float32, rng=None):
    """CycleGAN's generator at MNIST size: pad-conv7 (b, 28) -> conv3s2 (2b, 14) -> blocks -> convT (b, 28) -> conv7.

    Instance norm and ReLU after each convolution but the last, tanh at the end; the residual
    blocks work at 14 x 14 with 2b channels. ``kernel`` is the first and last convolutions' size
    (7 in the paper, for 256 x 256 photographs; 3 is enough for 28 x 28 strokes). At base 8 with three
    blocks, 7 x 7 kernels add 15% to the multiply-adds (3.78 M against 3.27 M per image), yet on a CPU
    the forward and backward take 1.3-1.6 times as long.
    """
    b, pad = base, kernel // 2
    conv = dict(dtype=dtype, rng=rng)
    g = Sequential(
        ReflectionPad2d(pad), Conv2d(1, b, kernel, bias=False, **conv), InstanceNorm2d(b, affine=True, dtype=dtype),
        ReLU(),
        Conv2d(b, 2 * b, 3, stride=2, padding=1, bias=False, **conv), InstanceNorm2d(2 * b, affine=True, dtype=dtype),
        ReLU(),
        *[residual_block(2 * b, dtype=dtype, rng=rng) for _ in range(blocks)],
        ConvTranspose2d(2 * b, b, 3, stride=2, padding=1, output_padding=1, bias=False, **conv),
        InstanceNorm2d(b, affine=True, dtype=dtype), ReLU(),
        ReflectionPad2d(pad), Conv2d(b, 1, kernel, **conv), Tanh())
    return init.dcgan_init(g, rng)


def encoder_decoder_generator(base=32, dtype=np.float32, rng=None):
    """DiscoGAN's generator: Conv4s2 -> LReLU -> Conv4s2 -> BN -> LReLU -> ConvT4s2 -> BN -> ReLU -> ConvT4s2 -> tanh.

    28 -> 14 -> 7 -> 14 -> 28 with no skip: everything the output keeps of the input passes the
    7 x 7 bottleneck.
    """
    b = base
    conv = dict(dtype=dtype, rng=rng)
    g = Sequential(
        Conv2d(1, b, 4, stride=2, padding=1, **conv), LeakyReLU(0.2),
        Conv2d(b, 2 * b, 4, stride=2, padding=1, bias=False, **conv), BatchNorm2d(2 * b, dtype=dtype), LeakyReLU(0.2),
        ConvTranspose2d(2 * b, b, 4, stride=2, padding=1, bias=False, **conv), BatchNorm2d(b, dtype=dtype), ReLU(),
        ConvTranspose2d(b, 1, 4, stride=2, padding=1, **conv), Tanh())
    return init.dcgan_init(g, rng)


def srresnet_generator(base=32, blocks=4, kernel=9, dtype=np.float32, rng=None):
    """SRGAN's generator at MNIST size: 7 x 7 -> conv9 + PReLU -> blocks (+ the long skip) -> 2 x [conv, shuffle] -> 28.

    A block is x + [conv3, BN, PReLU, conv3, BN](x); after the blocks conv3 + BN, added to the
    first layer's output (the long skip); then two stages conv3 (b -> 4b), PixelShuffle(2), PReLU
    take 7 -> 14 -> 28, and conv9 + tanh draws the image. ``kernel`` is the first and last
    convolutions' size (the paper's 9; at 28 x 28 the last one is most of the cost, and 3 does).
    """
    b, pad = base, kernel // 2
    conv = dict(dtype=dtype, rng=rng)

    def block():
        return Residual(Sequential(Conv2d(b, b, 3, padding=1, bias=False, **conv), BatchNorm2d(b, dtype=dtype),
                                   PReLU(b, dtype=dtype),
                                   Conv2d(b, b, 3, padding=1, bias=False, **conv), BatchNorm2d(b, dtype=dtype)))

    def upsample():
        return [Conv2d(b, 4 * b, 3, padding=1, **conv), PixelShuffle(2), PReLU(b, dtype=dtype)]

    g = Sequential(
        Conv2d(1, b, kernel, padding=pad, **conv), PReLU(b, dtype=dtype),
        Residual(Sequential(*[block() for _ in range(blocks)], Conv2d(b, b, 3, padding=1, bias=False, **conv),
                            BatchNorm2d(b, dtype=dtype))),
        *upsample(), *upsample(),
        Conv2d(b, 1, kernel, padding=pad, **conv), Tanh())
    return init.dcgan_init(g, rng)


def sr_discriminator(base=32, hidden=256, dtype=np.float32, rng=None):
    """SRGAN's discriminator at MNIST size: conv3 blocks, LReLU and BN, strided to 7 x 7, Dense(hidden) -> logit."""
    b = base
    conv = dict(dtype=dtype, rng=rng)
    d = Sequential(
        Conv2d(1, b, 3, padding=1, **conv), LeakyReLU(0.2),
        Conv2d(b, b, 4, stride=2, padding=1, bias=False, **conv), BatchNorm2d(b, dtype=dtype), LeakyReLU(0.2),
        Conv2d(b, 2 * b, 3, padding=1, bias=False, **conv), BatchNorm2d(2 * b, dtype=dtype), LeakyReLU(0.2),
        Conv2d(2 * b, 2 * b, 4, stride=2, padding=1, bias=False, **conv), BatchNorm2d(2 * b, dtype=dtype),
        LeakyReLU(0.2), Flatten(), Dense(2 * b * 7 * 7, hidden, **conv), LeakyReLU(0.2), Dense(hidden, 1, **conv))
    return init.dcgan_init(d, rng)
