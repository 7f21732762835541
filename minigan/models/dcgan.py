"""DCGAN (Radford et al. 2016) for 28x28 MNIST: transposed convolutions up, strided convolutions down.

G: z -> [Dense(h) -> BN -> ReLU] -> Dense(2b*7*7) -> BN -> ReLU -> up(2b -> b) -> BN -> ReLU -> up(b -> 1) -> tanh.
D: image -> Conv(1 -> b, 4, 2, 1) -> LReLU -> Conv(b -> 2b, 4, 2, 1) -> BN -> LReLU -> [Dense -> [BN] -> LReLU]
   -> logit.
The bracketed Dense layers are the example's defaults (the InfoGAN paper's MNIST networks, docs/tuning.md);
``--anchor`` leaves them out.
Weights start from the DCGAN paper's N(0, 0.02). The objective and the step
are the original GAN's: ``gan/objectives.py``'s BCE, and :meth:`GANModel.step
<minigan.gan.model.GANModel.step>` in ``minigan/gan/model.py``, which shows every loss and gradient.
"""
from dataclasses import dataclass

from ..gan.model import BCEGANConfig, GANModel
from ..gan.networks import D_NORMS, dcgan_discriminator, dcgan_generator
from ..training.config import integer, number, one_of, setting, text
from . import register


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
class DCGAN(GANModel):
    """The convolutional GAN: 5 epochs on a CPU (docs/tuning.md)."""

    name = "dcgan"
    Config = Config
    description = "Train the DCGAN (transposed convolutions) on MNIST."
    #: the best settings found for 5 epochs (docs/tuning.md); ``--anchor`` goes back to the Config's defaults
    tuned = dict(g_hidden=512, d_hidden=512, d_hidden_norm="batch", slope=0.1, mbstd=4, lr_d=2e-4, lr_g=2e-3,
                 ema=0.999)
    anchor = "the DCGAN paper's networks and the PyTorch DCGAN example's settings"

    def networks(self, rng):
        cfg = self.cfg
        G = dcgan_generator(z_dim=cfg.z_dim, base=cfg.g_base, upsample=cfg.upsample, hidden=cfg.g_hidden, rng=rng)
        D = dcgan_discriminator(slope=cfg.slope, dropout=cfg.d_dropout, hidden=cfg.d_hidden, norm=cfg.d_norm,
                          mbstd=cfg.mbstd, hidden_norm=cfg.d_hidden_norm, rng=rng, seed=cfg.seed)
        return G, D
