"""WGAN with weight clipping (Arjovsky, Chintala & Bottou 2017), on MNIST.

The critic D has no sigmoid: it scores an image with a real number, and
maximises E[D(x)] - E[D(G(z))] (``objectives.Wasserstein``), an estimate of the
Wasserstein-1 distance between the data and G's samples as long as D stays
Lipschitz. Clipping every critic weight into [-c, c] after each of its steps
(:func:`minigan.nn.optim.clip_weights`, in :meth:`WGAN.step`) is how the paper
keeps it so. The critic takes ``--d-steps`` (n_critic) steps, each on its own
real batch, for each G step; both nets use RMSprop (the paper's: lr 5e-5,
c = 0.01, n_critic = 5 are the ``--anchor`` settings).

The networks are the DCGAN or the MLP GAN's bodies (``--arch``), the critic
with its logit read as a score. See docs/wgan.md.
"""
from dataclasses import dataclass

from ..gan.model import GANConfig, GANModel
from ..gan.networks import dcgan_discriminator, dcgan_generator, mlp_discriminator, mlp_generator
from ..gan.objectives import Wasserstein
from ..nn.optim import clip_weights
from ..training.config import integer, number, one_of, setting, text
from . import register


@dataclass
class Config(GANConfig):
    """The defaults are the paper's (Algorithm 1): RMSprop, lr 5e-5, c = 0.01, n_critic = 5."""

    model: str = setting("wgan", cli=False, kind="structure")
    out: str = setting("runs/wgan", "the run folder", text, kind="run")
    epochs: int = setting(16, "passes over the training images (each G step uses n_critic batches)", integer(1),
                          kind="run")
    z_dim: int = setting(100, "size of the noise vector z", integer(1), kind="structure")
    d_steps: int = setting(5, "critic steps per G step, each on its own real batch (the paper's n_critic)",
                           integer(1), kind="structure")
    optimizer: str = setting("rmsprop", "optimizer of every net", one_of("rmsprop", "adam", "sgd"))
    lr: float = setting(5e-5, "learning rate of every net (unless --lr-d / --lr-g)", number(0, low_open=True))
    clip: float = setting(0.01, "every critic weight is clipped into [-clip, clip] after each critic step",
                          number(0, low_open=True))
    arch: str = setting("dcgan", "the networks' bodies: DCGAN's convolutions, or the MLP GAN's dense layers; each "
                                 "starts from its own tuned settings", one_of("dcgan", "mlp"), kind="structure")
    d_hidden: int = setting(0, "--arch dcgan: width of a hidden Dense layer before the critic's output (0: none)",
                            integer(0), kind="structure")

    def check(self):
        if self.d_hidden and self.arch != "dcgan":
            return (f"--d-hidden {self.d_hidden}: applies with --arch dcgan (the MLP critic's widths are fixed); "
                    "drop it or set --arch dcgan")
        return super().check()


@register
class WGAN(GANModel):
    """The weight-clipped WGAN: 16 epochs on a CPU give all ten digits (docs/wgan.md)."""

    name = "wgan"
    Config = Config
    description = "Train the WGAN with weight clipping (Arjovsky et al. 2017) on MNIST."
    #: the settings found for a 16-epoch run (docs/wgan.md); ``--anchor`` goes back to the paper's
    ARCH_TUNED = {"dcgan": dict(lr=2e-4, lr_g=6e-4, d_hidden=256, ema=0.999),
                  "mlp": dict(lr=2e-4, lr_g=6e-4, ema=0.999)}     # the MLP critic has no hidden layer to widen
    tuned = ARCH_TUNED["dcgan"]   # the default arch's (--help shows both)
    anchor = "the paper's Algorithm 1 (RMSprop, lr 5e-5, c = 0.01, n_critic = 5)"

    @classmethod
    def tuned_settings(cls, given):
        """The tuned settings of the networks asked for with ``--arch`` (the DCGAN's by default)."""
        return dict(cls.ARCH_TUNED.get(given.get("arch", cls.Config.arch), {}))   # an unknown arch: refused next

    def __init__(self, cfg):
        super().__init__(cfg, objective=Wasserstein())           # -E[D(x)] + E[D(G(z))] for D, -E[D(G(z))] for G

    def step(self, batches):
        """n_critic critic updates, each on its own real batch and clipped, then one G update (Algorithm 1)."""
        for real, _ in batches:
            fake = self.G(self.draw(len(real), real.dtype))
            stats = self.d_gradients(real, fake)                 # dθ_D of -E[D(x)] + E[D(G(z))]
            self.opt_D.step()
            clip_weights(self.D.parameters(), self.cfg.clip)     # Algorithm 1, line 7: w <- clip(w, -c, c)
        stats.update(self.g_gradients(fake))                     # dθ_G of -E[D(G(z))], through the critic
        self.opt_G.step()
        self.update_average()
        return stats

    def networks(self, rng):
        cfg = self.cfg
        if cfg.arch == "dcgan":                         # the critic's output has no bias: its loss cancels it
            G = dcgan_generator(z_dim=cfg.z_dim, rng=rng)
            D = dcgan_discriminator(hidden=cfg.d_hidden, out_bias=False, rng=rng)
        else:
            G = mlp_generator(z_dim=cfg.z_dim, rng=rng)
            D = mlp_discriminator(out_bias=False, rng=rng)
        clip_weights(D.parameters(), cfg.clip)                  # the critic starts inside the box it is kept in
        return G, D
