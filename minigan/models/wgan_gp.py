r"""WGAN-GP (Gulrajani et al. 2017): the Wasserstein critic, kept 1-Lipschitz by a gradient penalty.

The critic D maximises E[D(x)] - E[D(G(z))] (``objectives.Wasserstein``) and,
instead of clipping its weights, pays

    λ E[(‖∇D(x̂)‖₂ - 1)²]      at x̂ = εx + (1-ε)G(z),  ε ~ U[0, 1] per sample,

whose gradient with respect to D's weights differentiates D's backward pass
once more (``minigan/gan/penalties.py``, each layer's ``double_backward``). G
minimises -E[D(G(z))]; D takes ``d_steps`` (the paper's n_critic) steps per G step.

G: z -> [Dense -> BatchNorm1d -> LeakyReLU] x 3 -> Dense -> tanh (the MLP GAN's generator).
D: image -> flatten -> [Dense (-> LayerNorm) -> LeakyReLU] x 3 -> Dense -> critic value.
No batchnorm in D: it mixes the samples of a batch, and the penalty needs each sample's own
gradient. The step is the original GAN's, :meth:`GANModel.step <minigan.gan.model.GANModel.step>`
(``gan/model.py``), with :meth:`WGANGP.d_gradients` below adding the penalty. See docs/wgan_gp.md.
"""
from dataclasses import dataclass

import numpy as np

from ..backend import to_device
from ..gan.model import GANConfig, GANModel
from ..gan.networks import NORMS, mlp_discriminator, mlp_generator
from ..gan.objectives import Wasserstein
from ..gan.penalties import check_critic, check_weight, penalize_input_gradient, wgan_gp_term
from ..nn.layers import BatchNorm1d
from ..training.config import integer, number, one_of, setting, text
from . import register


@dataclass
class Config(GANConfig):
    """The anchor: the authors' released MNIST script (gan_mnist.py): λ = 10, Adam(1e-4, (0.5, 0.9)), n_critic = 5.

    The paper's Algorithm 1 has Adam(1e-4, (0, 0.9)); β1 = 0.5 is the released script's (docs/wgan_gp.md).
    """

    model: str = setting("wgan_gp", cli=False, kind="structure")
    out: str = setting("runs/wgan_gp", "the run folder", text, kind="run")
    epochs: int = setting(60, "passes over the training images (each G step takes n_critic batches)", integer(1),
                          kind="run")
    z_dim: int = setting(64, "size of the noise vector z", integer(1), kind="structure")
    d_steps: int = setting(5, "critic steps per G step, each on its own real batch (the paper's n_critic)",
                           integer(1), kind="structure")
    lr: float = setting(1e-4, "learning rate of every net (unless --lr-d / --lr-g)", number(0, low_open=True))
    beta2: float = setting(0.9, "Adam's beta2", number(0, 1, high_open=True))
    gp_weight: float = setting(10.0, "λ, the weight of the gradient penalty λ E[(‖∇D(x̂)‖ - 1)²]", number(0))
    d_norm: str = setting("none", "normalisation after each hidden layer of the critic (batch is refused: "
                                       "it mixes the samples of a batch)", one_of(*NORMS), kind="structure")

    def check(self):
        problem = super().check()
        if problem is None and self.d_norm == "batch":
            return "--d-norm batch: " + BatchNorm1d.double_backward_hint + " (--d-norm layer)"
        return problem


@register
class WGANGP(GANModel):
    """WGAN-GP with fully connected networks (docs/wgan_gp.md)."""

    name = "wgan_gp"
    Config = Config
    description = "Train WGAN-GP (the Wasserstein critic with a gradient penalty) on MNIST."
    #: the best settings found within the CPU budget (docs/wgan_gp.md); ``--anchor`` gives the released script's
    tuned = dict(d_steps=2, lr=2e-4, ema=0.999)
    anchor = "the authors' released MNIST script (λ = 10, Adam(1e-4, (0.5, 0.9)), n_critic = 5)"

    def __init__(self, cfg):
        self.penalty_rng = np.random.default_rng([cfg.seed, 6])      # ε of x̂; saved in checkpoints
        super().__init__(cfg, objective=Wasserstein())
        check_critic(self.D)                     # a layer without double backward (batchnorm) is refused now
        check_weight("--gp-weight", cfg.gp_weight)
        self.panels.update({"gradient penalty λ E[(‖∇D(x̂)‖ - 1)²]": (("gp",), None),
                            "‖∇D(x̂)‖, batch mean": (("grad_norm",), 1.0)})

    def networks(self, rng):
        cfg = self.cfg
        G = mlp_generator(z_dim=cfg.z_dim, rng=rng)
        D = mlp_discriminator(norm=cfg.d_norm, out_bias=False, rng=rng)   # the MLP GAN's D as a critic: no output
                                                                           # bias, E[D(x)] - E[D(G(z))] cancels it
        return G, D

    # ---- the step: the original GAN's (GANModel.step), with the penalty in the critic's gradients ----
    def d_gradients(self, real, fake):
        """L_D = -E[D(x)] + E[D(G(z))] + λ E[(‖∇D(x̂)‖ - 1)²]; set D's .grad to dL_D/dθ_D. Returns the stats."""
        stats = super().d_gradients(real, fake)                  # .grad = d/dθ (-E[D(x)] + E[D(G(z))]) (+ R1's)
        x_hat = self.interpolate(real, fake)
        gp, norms = penalize_input_gradient(self.D, x_hat, wgan_gp_term, self.cfg.gp_weight)   # .grad += dGP/dθ
        stats.update(d_loss=stats["d_loss"] + gp, gp=gp, grad_norm=norms.mean())
        return stats

    def interpolate(self, real, fake):
        """x̂ = ε x + (1 - ε) G(z), one ε ~ U[0, 1] per sample, from ``penalty_rng`` (so a resume draws the same)."""
        shape = (len(real),) + (1,) * (real.ndim - 1)
        eps = to_device(self.penalty_rng.random(shape).astype(real.dtype), self.cfg.backend)
        return eps * real + (1 - eps) * fake

    def rngs(self):
        return dict(super().rngs(), penalty=self.penalty_rng)
