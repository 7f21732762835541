"""DCGAN (Radford et al. 2016) for 28x28 MNIST: transposed convolutions up, strided convolutions down.

G: z -> [Dense(h) -> BN -> ReLU] -> Dense(2b*7*7) -> BN -> ReLU -> up(2b -> b) -> BN -> ReLU -> up(b -> 1) -> tanh.
D: image -> Conv(1 -> b, 4, 2, 1) -> LReLU -> Conv(b -> 2b, 4, 2, 1) -> BN -> LReLU -> [Dense -> [BN] -> LReLU]
   -> logit.
The bracketed Dense layers are the example's defaults (the InfoGAN paper's MNIST networks, docs/tuning.md);
``--anchor`` leaves them out.
Weights start from the DCGAN paper's N(0, 0.02). The objective and the step
are the original GAN's (``objectives.py``, :class:`minigan.gan.GANStep`).
"""
from dataclasses import dataclass

import numpy as np

from .. import init
from ..config import integer, number, one_of, setting, text
from ..gan import BCEGANConfig, GANTask
from ..layers import (BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d, Dense, Dropout, Flatten, LayerNorm, LeakyReLU,
                      MinibatchStd, ReLU, Reshape, Tanh, Upsample2d)
from ..nn import Sequential
from . import register


def generator(z_dim=100, base=64, upsample="convtranspose", hidden=0, dtype=np.float32, rng=None):
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

    def up(cin, cout):
        if upsample == "convtranspose":
            return [ConvTranspose2d(cin, cout, 4, stride=2, padding=1, dtype=dtype, rng=rng)]
        if upsample == "nearest":
            return [Upsample2d(2), Conv2d(cin, cout, 3, stride=1, padding=1, dtype=dtype, rng=rng)]
        raise ValueError(f"upsample must be 'convtranspose' or 'nearest', got {upsample!r}")

    if hidden:
        project = [Dense(z_dim, hidden, dtype=dtype, rng=rng), BatchNorm1d(hidden, dtype=dtype), ReLU(),
                   Dense(hidden, c2 * 7 * 7, dtype=dtype, rng=rng), BatchNorm1d(c2 * 7 * 7, dtype=dtype), ReLU(),
                   Reshape(c2, 7, 7)]
    else:
        project = [Dense(z_dim, c2 * 7 * 7, dtype=dtype, rng=rng), Reshape(c2, 7, 7), BatchNorm2d(c2, dtype=dtype),
                   ReLU()]
    g = Sequential(
        *project,
        *up(c2, c1), BatchNorm2d(c1, dtype=dtype), ReLU(),
        *up(c1, 1), Tanh(),
    )
    return init.dcgan_init(g, rng)


#: D's normalisation after its second convolution: batchnorm (the DCGAN paper's), LayerNorm over each
#: sample's (2b, 7, 7) features (no mixing of samples: gradient penalties can go through it), or none.
D_NORMS = ("batch", "layer", "none")


def discriminator(base=64, slope=0.2, dropout=0.0, hidden=0, norm="batch", mbstd=0, in_channels=1,
                  hidden_norm="none", dtype=np.float32, rng=None, seed=None):
    """image -> Conv(1 -> b, 4, 2, 1) -> LReLU -> Conv(b -> 2b, 4, 2, 1) -> norm -> LReLU -> Dense -> logit.

    With ``hidden=0`` (the DCGAN anchor) the logit is a *linear* function of the
    7x7 feature map, i.e. a sum of scores of 10x10 patches: no part of D sees a
    whole digit. ``hidden=h`` puts Dense(2b*7*7, h) -> LReLU in between, so D can
    judge the digit's global shape (docs/tuning.md); ``hidden_norm="batch"`` puts
    BatchNorm1d before that LReLU (the InfoGAN paper's D). ``mbstd=g`` appends the
    minibatch standard deviation of groups of g samples as one more 7x7 channel
    (``layers/minibatch_std.py``), so D can see a batch that lacks variety.
    ``in_channels`` > 1 takes planes beside the image (the conditional GAN's label
    planes, models/cgan.py).
    """
    c1, c2 = base, 2 * base
    layers = [Conv2d(in_channels, c1, 4, stride=2, padding=1, dtype=dtype, rng=rng), LeakyReLU(slope)]
    if dropout:
        layers.append(Dropout(dropout, seed=seed))
    layers.append(Conv2d(c1, c2, 4, stride=2, padding=1, dtype=dtype, rng=rng))
    if norm == "batch":
        layers.append(BatchNorm2d(c2, dtype=dtype))
    elif norm == "layer":
        layers.append(LayerNorm((c2, 7, 7), dtype=dtype))
    elif norm != "none":
        raise ValueError(f"norm must be one of {D_NORMS}, got {norm!r}")
    layers.append(LeakyReLU(slope))
    if dropout:
        layers.append(Dropout(dropout, seed=None if seed is None else seed + 1))
    if mbstd:
        layers.append(MinibatchStd(mbstd))
    features = (c2 + (1 if mbstd else 0)) * 7 * 7
    layers.append(Flatten())
    if hidden:
        layers.append(Dense(features, hidden, dtype=dtype, rng=rng))
        if hidden_norm == "batch":
            layers.append(BatchNorm1d(hidden, dtype=dtype))
        elif hidden_norm != "none":
            raise ValueError(f"hidden_norm must be 'batch' or 'none', got {hidden_norm!r}")
        layers.append(LeakyReLU(slope))
    layers.append(Dense(hidden or features, 1, dtype=dtype, rng=rng))
    return init.dcgan_init(Sequential(*layers), rng)


@dataclass
class Config(BCEGANConfig):
    model: str = setting("dcgan", cli=False, kind="structure")
    out: str = setting("runs/dcgan", "the run folder", text, kind="run")
    epochs: int = setting(5, "passes over the training images", integer(1), kind="run")
    z_dim: int = setting(100, "size of the noise vector z", integer(1), kind="structure")
    d_hidden: int = setting(0, "width of a hidden Dense layer before D's logit (0: none)", integer(0),
                            kind="structure")
    d_hidden_norm: str = setting("none", "batchnorm on D's hidden Dense layer (batch) or none", one_of("none", "batch"),
                                 kind="structure")
    g_hidden: int = setting(0, "width of a hidden Dense layer (with batchnorm) at the start of G (0: none)",
                            integer(0), kind="structure")
    slope: float = setting(0.2, "negative slope of D's LeakyReLUs", number(0, high=1), kind="structure")
    upsample: str = setting("convtranspose", "how G doubles the image size: ConvTranspose2d, or Upsample2d + "
                                             "Conv2d", one_of("convtranspose", "nearest"), kind="structure")
    g_base: int = setting(64, "G's width: 2 g_base channels at 7x7, g_base at 14x14", integer(1), kind="structure")
    d_norm: str = setting("batch", "D's normalisation after its second convolution: batch, layer (LayerNorm, "
                                   "which a gradient penalty can go through) or none", one_of(*D_NORMS),
                          kind="structure")
    mbstd: int = setting(0, "D sees the minibatch standard deviation of groups of this many samples (0: off)",
                         integer(0), kind="structure")

    def check(self):
        if self.d_hidden_norm != "none" and not self.d_hidden:
            return f"--d-hidden-norm {self.d_hidden_norm}: D has no hidden layer to normalise (set --d-hidden)"
        if self.mbstd == 1:
            return "--mbstd 1: a standard deviation needs groups of at least 2 samples (0: off)"
        if self.mbstd and self.batch_size % self.mbstd:
            return f"--mbstd {self.mbstd}: must divide --batch-size {self.batch_size}"
        return super().check()


@register
class DCGAN(GANTask):
    """The convolutional GAN: 5 epochs on a CPU (docs/tuning.md)."""

    name = "dcgan"
    Config = Config
    description = "Train the DCGAN (transposed convolutions) on MNIST."
    #: the best settings found for 5 epochs (docs/tuning.md); ``--anchor`` goes back to the Config's defaults
    tuned = dict(g_hidden=512, d_hidden=512, d_hidden_norm="batch", slope=0.1, mbstd=4, lr_d=2e-4, lr_g=2e-3,
                 ema=0.999)

    def networks(self, rng):
        cfg = self.cfg
        G = generator(z_dim=cfg.z_dim, base=cfg.g_base, upsample=cfg.upsample, hidden=cfg.g_hidden, rng=rng)
        D = discriminator(slope=cfg.slope, dropout=cfg.d_dropout, hidden=cfg.d_hidden, norm=cfg.d_norm,
                          mbstd=cfg.mbstd, hidden_norm=cfg.d_hidden_norm, rng=rng, seed=cfg.seed)
        return G, D
