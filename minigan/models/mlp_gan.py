"""The original GAN with fully connected networks (Goodfellow et al. 2014), on MNIST.

G: z -> [Dense -> BatchNorm1d -> LeakyReLU] x 3 -> Dense -> tanh -> 28x28 image.
D: image -> flatten -> [Dense -> LeakyReLU (-> Dropout)] x 3 -> Dense -> logit.
The objective is the original GAN's binary cross-entropy (``gan/objectives.py``),
and the step the original GAN's: :meth:`GANModel.step <minigan.gan.model.GANModel.step>`,
in ``minigan/gan/model.py``, which shows every loss and gradient. See docs/gan.md.
"""
from dataclasses import dataclass

from ..gan.model import BCEGANConfig, GANModel
from ..gan.networks import mlp_discriminator, mlp_generator
from ..training.config import integer, setting, text
from . import register


@dataclass
class Config(BCEGANConfig):
    model: str = setting("mlp", cli=False, kind="structure")
    out: str = setting("runs/mlp_gan", "the run folder", text, kind="run")
    z_dim: int = setting(64, "size of the noise vector z", integer(1), kind="structure")


@register
class MLPGAN(GANModel):
    """The fully connected GAN: 20 epochs on a CPU give good digits (docs/tuning.md)."""

    name = "mlp"
    Config = Config
    description = "Train the fully connected GAN on MNIST."
    #: the best settings found for 20 epochs (docs/tuning.md); ``--anchor`` goes back to the Config's defaults
    tuned = dict(ema=0.999, d_dropout=0.3, label_smoothing=0.1)
    anchor = "the PyTorch DCGAN example's settings (Adam 2e-4, β1 0.5; no average, dropout or smoothing)"

    def networks(self, rng):
        cfg = self.cfg
        G = mlp_generator(z_dim=cfg.z_dim, rng=rng)
        D = mlp_discriminator(dropout=cfg.d_dropout, rng=rng, seed=cfg.seed)
        return G, D
