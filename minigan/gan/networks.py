"""The network bodies the models share: each written once, here, and used by every model that has it.

- The MLP GAN's: :func:`mlp_generator` and :func:`mlp_discriminator` (whose layers on a
  flat input, :func:`mlp_body`, the conditional GAN runs on [x, e(y)], and whose
  ``norm="layer"`` is WGAN-GP's critic).
- The DCGAN's: :func:`dcgan_generator` and :func:`dcgan_discriminator` (the conditional
  GAN's convolutional body and the WGAN's critic).
- A label beside the input, for the conditional models (cgan.py, lapgan.py): :func:`label_vector`
  (beside a flat input) and :func:`label_planes` (planes beside an image).

A model module (``models/*.py``) says which of these it builds and with what sizes;
no model imports another model's networks.
"""
import numpy as np

from ..nn import Sequential, init
from ..nn.conv import conv_output_size
from ..nn.layers import (BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d, Dense, Dropout, Embedding, Flatten,
                         LayerNorm, LeakyReLU, MinibatchStd, OneHot, ReLU, Reshape, Tanh, Upsample2d)

# ---- fully connected (models/mlp_gan.py) ------------------------------------------------------------


def mlp_generator(z_dim=64, hidden=(256, 512, 1024), out_dim=784, image_shape=(1, 28, 28), slope=0.2,
              dtype=np.float32, rng=None):
    """z -> [Dense -> BatchNorm1d -> LeakyReLU] per hidden size -> Dense -> tanh -> image.

    The Dense layers before batchnorm have no bias: batchnorm subtracts each feature's batch mean,
    so a bias there would have a gradient of exactly 0 (round-off, which Adam turns into steps).
    """
    layers, d = [], z_dim
    for h in hidden:
        layers += [Dense(d, h, bias=False, dtype=dtype, rng=rng), BatchNorm1d(h, dtype=dtype), LeakyReLU(slope)]
        d = h
    layers += [Dense(d, out_dim, dtype=dtype, rng=rng), Tanh(), Reshape(*image_shape)]
    return Sequential(*layers)


def mlp_discriminator(in_dim=784, hidden=(512, 256, 128), slope=0.2, dropout=0.0, norm="none", out_bias=True,
                      dtype=np.float32, rng=None, seed=None):
    """image -> flatten -> [Dense (-> norm) -> LeakyReLU (-> Dropout)] per hidden size -> one number per image."""
    return Sequential(Flatten(), *mlp_body(in_dim, hidden, slope, dropout, norm, dtype, rng, seed, out_bias))


#: a normalisation after a hidden layer of D, by name: none, LayerNorm over each sample's features (no
#: mixing of samples: gradient penalties can go through it) or batchnorm (the DCGAN paper's)
NORMS = {"none": None, "layer": LayerNorm, "batch": BatchNorm1d}


def mlp_body(in_dim, hidden=(512, 256, 128), slope=0.2, dropout=0.0, norm="none", dtype=np.float32, rng=None,
             seed=None, out_bias=True):
    """The MLP D's layers on a flat input of ``in_dim`` numbers: [Dense (-> norm) -> LReLU (-> Dropout)] -> Dense.

    No bias before batchnorm (it would be cancelled); ``out_bias=False`` leaves out the last
    layer's, which a Wasserstein critic's loss E[D(x)] - E[D(G(z))] cancels.
    """
    layers, d = [], in_dim
    for i, h in enumerate(hidden):
        layers.append(Dense(d, h, bias=norm != "batch", dtype=dtype, rng=rng))
        if NORMS[norm] is not None:
            layers.append(NORMS[norm](h, dtype=dtype))
        layers.append(LeakyReLU(slope))
        if dropout:
            layers.append(Dropout(dropout, seed=None if seed is None else seed + i))
        d = h
    layers.append(Dense(d, 1, bias=out_bias, dtype=dtype, rng=rng))
    return layers


# ---- convolutional (models/dcgan.py) --------------------------------------------------------------


def dcgan_generator(z_dim=100, base=64, upsample="convtranspose", hidden=0, dtype=np.float32, rng=None):
    """z -> Dense(2b*7*7) -> BN -> ReLU -> up(2b -> b) -> BN -> ReLU -> up(b -> 1) -> tanh.

    ``hidden=h`` starts with Dense(z, h) -> BN -> ReLU -> Dense(h, 2b*7*7) -> BN -> ReLU
    (batchnorm over the 2b*7*7 features, before the reshape), as the InfoGAN
    paper's MNIST generator does: two dense layers shape the whole digit before
    the transposed convolutions draw its strokes.

    ``upsample="convtranspose"`` uses ConvTranspose2d(k=4, s=2, p=1) (the DCGAN
    paper's choice); ``"nearest"`` uses Upsample2d(2) followed by Conv2d(k=3, p=1),
    which avoids the checkerboard artefacts of overlapping strided kernels.
    """
    c2, c1 = 2 * base, base

    def up(cin, cout, bias=True):
        if upsample == "convtranspose":
            return [ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=bias, dtype=dtype, rng=rng)]
        if upsample == "nearest":
            return [Upsample2d(2), Conv2d(cin, cout, 3, stride=1, padding=1, bias=bias, dtype=dtype, rng=rng)]
        raise ValueError(f"upsample must be 'convtranspose' or 'nearest', got {upsample!r}")

    if hidden:                                   # no bias before batchnorm: it would be cancelled
        project = [Dense(z_dim, hidden, bias=False, dtype=dtype, rng=rng), BatchNorm1d(hidden, dtype=dtype), ReLU(),
                   Dense(hidden, c2 * 7 * 7, bias=False, dtype=dtype, rng=rng), BatchNorm1d(c2 * 7 * 7, dtype=dtype),
                   ReLU(), Reshape(c2, 7, 7)]
    else:
        project = [Dense(z_dim, c2 * 7 * 7, dtype=dtype, rng=rng), Reshape(c2, 7, 7), BatchNorm2d(c2, dtype=dtype),
                   ReLU()]
    g = Sequential(
        *project,
        *up(c2, c1, bias=False), BatchNorm2d(c1, dtype=dtype), ReLU(),
        *up(c1, 1), Tanh(),
    )
    return init.dcgan_init(g, rng)


#: D's normalisation after its second convolution: batchnorm (the DCGAN paper's), LayerNorm over each
#: sample's (2b, 7, 7) features (no mixing of samples: gradient penalties can go through it), or none:
#: the names of :data:`NORMS`, for the 2-D layers.
D_NORMS = tuple(NORMS)


def dcgan_discriminator(base=64, slope=0.2, dropout=0.0, hidden=0, norm="batch", mbstd=0, in_channels=1,
                        hidden_norm="none", out_bias=True, dtype=np.float32, rng=None, seed=None):
    """image -> Conv(1 -> b, 4, 2, 1) -> LReLU -> Conv(b -> 2b, 4, 2, 1) -> norm -> LReLU -> Dense -> logit.

    With ``hidden=0`` (the DCGAN anchor) the logit is a *linear* function of the
    7x7 feature map, i.e. a sum of scores of 10x10 patches: no part of D sees a
    whole digit. ``hidden=h`` puts Dense(2b*7*7, h) -> LReLU in between, so D can
    judge the digit's global shape (docs/tuning.md); ``hidden_norm="batch"`` puts
    BatchNorm1d before that LReLU (the InfoGAN paper's D). ``mbstd=g`` appends the
    minibatch standard deviation of groups of g samples as one more 7x7 channel
    (``layers/minibatch_std.py``), so D can see a batch that lacks variety.
    ``in_channels`` > 1 takes planes beside the image (the conditional GAN's label
    planes, models/cgan.py). The layers are :func:`conv_body`'s, at 28 x 28.
    """
    layers = conv_body(in_channels, base, slope=slope, dropout=dropout, hidden=hidden, norm=norm, mbstd=mbstd,
                       hidden_norm=hidden_norm, out_bias=out_bias, dtype=dtype, rng=rng, seed=seed)
    return init.dcgan_init(Sequential(*layers), rng)


def conv_body(in_channels, base=64, side=28, slope=0.2, dropout=0.0, hidden=0, norm="batch", mbstd=0,
              hidden_norm="none", out_bias=True, dtype=np.float32, rng=None, seed=None):
    """The DCGAN D's layers on ``in_channels`` planes of ``side`` x ``side``, as a list, weights not yet initialised.

    Conv(4, 2, 1) -> LReLU -> Conv(4, 2, 1) -> norm -> LReLU -> [MinibatchStd] -> Flatten
    -> [Dense(hidden) -> [BatchNorm1d] -> LReLU] -> Dense -> one logit. Each convolution halves
    the side (28 -> 14 -> 7; 14 -> 7 -> 3). A layer right before batchnorm has no bias: batchnorm
    subtracts the batch mean of each channel (or feature), which cancels it, so its gradient would
    be exactly 0, round-off that Adam turns into steps. ``out_bias=False`` leaves out the logit's
    bias, which a Wasserstein critic's loss E[D(x)] - E[D(G(z))] cancels. The caller puts the list
    after what joins its inputs (label planes, a coarse image) and draws the weights.
    """
    c1, c2 = base, 2 * base
    q = conv_output_size(conv_output_size(side, 4, 2, 1), 4, 2, 1)      # the side after both convolutions
    layers = [Conv2d(in_channels, c1, 4, stride=2, padding=1, dtype=dtype, rng=rng), LeakyReLU(slope)]
    if dropout:
        layers.append(Dropout(dropout, seed=seed))
    layers.append(Conv2d(c1, c2, 4, stride=2, padding=1, bias=norm != "batch", dtype=dtype, rng=rng))
    if norm == "batch":
        layers.append(BatchNorm2d(c2, dtype=dtype))
    elif norm == "layer":
        layers.append(LayerNorm((c2, q, q), dtype=dtype))
    elif norm != "none":
        raise ValueError(f"norm must be one of {D_NORMS}, got {norm!r}")
    layers.append(LeakyReLU(slope))
    if dropout:
        layers.append(Dropout(dropout, seed=None if seed is None else seed + 1))
    if mbstd:
        layers.append(MinibatchStd(mbstd))
    features = (c2 + (1 if mbstd else 0)) * q * q
    layers.append(Flatten())
    if hidden:
        layers.append(Dense(features, hidden, bias=hidden_norm != "batch", dtype=dtype, rng=rng))
        if hidden_norm == "batch":
            layers.append(BatchNorm1d(hidden, dtype=dtype))
        elif hidden_norm != "none":
            raise ValueError(f"hidden_norm must be 'batch' or 'none', got {hidden_norm!r}")
        layers.append(LeakyReLU(slope))
    layers.append(Dense(hidden or features, 1, bias=out_bias, dtype=dtype, rng=rng))
    return layers


# ---- labels beside the input (the conditional models: cgan.py, lapgan.py) ------------------------


#: the classes of MNIST: a conditional model's labels are 0..9
NUM_CLASSES = 10


def label_vector(label, dim, dtype=np.float32, rng=None):
    """y (N,) -> (N, dim): one-hot (dim = 10) or a learned embedding of size ``dim``."""
    if label == "onehot":
        return OneHot(NUM_CLASSES, dtype=dtype)
    return Embedding(NUM_CLASSES, dim, dtype=dtype, rng=rng)


def label_planes(label, size=28, dtype=np.float32, rng=None):
    """y (N,) -> label planes (N, C, size, size) to stack beside an image.

    onehot: C = 10 constant planes, plane k all ones for label k (the one-hot
    vector copied to every pixel by Upsample2d, whose backward sums it back).
    embedding: C = 1 learned plane per label, a table row reshaped to an image.
    """
    if label == "onehot":
        return Sequential(OneHot(NUM_CLASSES, dtype=dtype), Reshape(NUM_CLASSES, 1, 1), Upsample2d(size))
    return Sequential(Embedding(NUM_CLASSES, size * size, dtype=dtype, rng=rng), Reshape(1, size, size))
