"""The original GAN with fully connected networks (Goodfellow et al. 2014), on MNIST.

G: z -> [Dense -> BatchNorm1d -> LeakyReLU] x 3 -> Dense -> tanh -> 28x28 image.
D: image -> flatten -> [Dense -> LeakyReLU (-> Dropout)] x 3 -> Dense -> logit.
The objective is the original GAN's binary cross-entropy (``objectives.py``);
the step is :class:`minigan.gan.GANStep`. See docs/gan.md.
"""
from dataclasses import dataclass

import numpy as np

from ..config import integer, setting, text
from ..gan import BCEGANConfig, GANTask
from ..layers import BatchNorm1d, Dense, Dropout, Flatten, LeakyReLU, Reshape, Tanh
from ..nn import Sequential
from . import register


def generator(z_dim=64, hidden=(256, 512, 1024), out_dim=784, image_shape=(1, 28, 28), slope=0.2,
              dtype=np.float32, rng=None):
    """z -> [Dense -> BatchNorm1d -> LeakyReLU] per hidden size -> Dense -> tanh -> image."""
    layers, d = [], z_dim
    for h in hidden:
        layers += [Dense(d, h, dtype=dtype, rng=rng), BatchNorm1d(h, dtype=dtype), LeakyReLU(slope)]
        d = h
    layers += [Dense(d, out_dim, dtype=dtype, rng=rng), Tanh(), Reshape(*image_shape)]
    return Sequential(*layers)


def discriminator(in_dim=784, hidden=(512, 256, 128), slope=0.2, dropout=0.0, dtype=np.float32, rng=None,
                  seed=None):
    """image -> flatten -> [Dense -> LeakyReLU (-> Dropout)] per hidden size -> Dense -> logit."""
    layers, d = [Flatten()], in_dim
    for i, h in enumerate(hidden):
        layers += [Dense(d, h, dtype=dtype, rng=rng), LeakyReLU(slope)]
        if dropout:
            layers.append(Dropout(dropout, seed=None if seed is None else seed + i))
        d = h
    layers.append(Dense(d, 1, dtype=dtype, rng=rng))
    return Sequential(*layers)


@dataclass
class Config(BCEGANConfig):
    model: str = setting("mlp", cli=False, kind="structure")
    out: str = setting("runs/mlp_gan", "the run folder", text, kind="run")
    z_dim: int = setting(64, "size of the noise vector z", integer(1), kind="structure")


@register
class MLPGAN(GANTask):
    """The fully connected GAN: 20 epochs on a CPU give good digits (docs/tuning.md)."""

    name = "mlp"
    Config = Config
    description = "Train the fully connected GAN on MNIST."
    #: the best settings found for 20 epochs (docs/tuning.md); ``--anchor`` goes back to the Config's defaults
    tuned = dict(ema=0.999, d_dropout=0.3, label_smoothing=0.1)

    def networks(self, rng):
        cfg = self.cfg
        G = generator(z_dim=cfg.z_dim, rng=rng)
        D = discriminator(dropout=cfg.d_dropout, rng=rng, seed=cfg.seed)
        return G, D
