r"""pix2pix (Isola et al. 2017): a conditional GAN that learns G: x -> y from pairs (x, y).

G is a U-Net (``translation_networks.unet_generator``) whose dropout is its only noise;
D is a conditional PatchGAN: it sees the input beside an output, [x, y] as two channels,
and gives one logit per overlapping patch, a (N, 1, 7, 7) map. The objective is

    G* = arg min_G max_D  L_cGAN(G, D) + λ L_L1(G),        λ = 100 (the paper's)

    L_cGAN = E[log D(x, y)] + E[log(1 - D(x, G(x)))]       (BCE, averaged over the patches)
    L_L1   = E[|y - G(x)|]

L1 alone already gets the digit right, blurred where it is unsure; the
adversarial term is what makes the strokes sharp. ``--loss`` runs the paper's
ablation: ``l1`` (D never trained), ``gan`` (no L1), ``l1+gan``. As the paper
does, D's loss is halved, and G takes the non-saturating loss -log D(x, G(x)).
See docs/pix2pix.md.
"""
from dataclasses import dataclass

import numpy as np

from ..backend import get_array_module
from ..gan.objectives import NonSaturating
from ..gan.step import add_d_loss, loss_through_d
from ..nn.losses import L1
from ..training.config import changed, integer, number, one_of, setting, text
from ..translation.networks import patchgan_discriminator, unet_generator
from ..translation.translator import TranslationConfig, Translator
from . import register

LOSSES = ("l1+gan", "l1", "gan")
TASKS = ("edges", "thickness", "rotated")   # the 28 x 28 -> 28 x 28 tasks (superres is SRGAN's)


@dataclass
class Config(TranslationConfig):
    """pix2pix at MNIST size: U-Net G, PatchGAN D on [input, output], BCE + 100 L1, Adam 2e-4 (0.5, 0.999)."""

    model: str = setting("pix2pix", cli=False, kind="structure")
    task: str = setting("edges", "edges: edge map -> digit; thickness, rotated: thin -> thick, from pairs (the "
                                 "upper bound of the unpaired models)", one_of(*TASKS), kind="structure")
    out: str = setting("runs/pix2pix", "the run folder", text, kind="run")
    epochs: int = setting(5, "passes over the training pairs", integer(1), kind="run")
    loss: str = setting("l1+gan", "G's loss: the paper's L1 + GAN, or one of its ablations (l1: D is not trained; "
                                  "gan: no L1)", one_of(*LOSSES))
    lambda_l1: float = setting(100.0, "λ, the weight of the L1 term", number(0))
    base: int = setting(32, "channels of G's and D's first convolution (each level doubles them)", integer(1),
                        kind="structure")
    dropout: float = setting(0.5, "dropout in G's decoder, G's only noise (the paper's)", number(0, 1, high_open=True),
                             kind="structure")

    def check(self):
        if changed(self, "lambda_l1") and self.loss == "gan":
            return f"--lambda-l1 {self.lambda_l1!r}: applies with an L1 term, and --loss is gan; drop it"
        return super().check()


@register
class Pix2Pix(Translator):
    """U-Net G and conditional PatchGAN D; one D update then one G update per batch of pairs."""

    name = "pix2pix"
    Config = Config
    description = "Train pix2pix (Isola et al. 2017) on MNIST edge maps -> digits (or thin -> thick), from pairs."
    panels = {"D output": (("d_real", "d_fake"), 0.5), "L1 to the target": (("l1",), None)}

    def __init__(self, cfg):
        super().__init__(cfg)
        rng = np.random.default_rng(cfg.seed)
        self.G = unet_generator(base=cfg.base, dropout=cfg.dropout, rng=rng, seed=cfg.seed).to(cfg.backend)
        self.D = patchgan_discriminator(in_channels=2, base=cfg.base, rng=rng).to(cfg.backend)
        self.opt_G = self.optimizer("opt_G", self.G.parameters())
        self.opt_D = self.optimizer("opt_D", self.D.parameters())
        self.objective, self.l1 = NonSaturating(), L1()
        self.adversarial, self.lambda_l1 = cfg.loss != "l1", (0.0 if cfg.loss == "gan" else cfg.lambda_l1)

    # ---- what a checkpoint holds ---------------------------------------------------------------
    def modules(self):
        return {"G": self.G, "D": self.D}

    def generators(self):
        return {"a2b": self.G}

    # ---- the step ----------------------------------------------------------------------------------
    def step(self, batches):
        (x, y), = batches                                      # input (edge map) and target (digit), (N, 1, 28, 28)
        fake = self.G(x)                                       # G(x), dropout on: G's noise
        stats = {}
        if self.adversarial:                                   # --loss l1: D is never trained
            stats.update(self.d_gradients(x, y, fake))
            self.opt_D.step()
        stats.update(self.g_gradients(x, y, fake))             # through the D just updated
        self.opt_G.step()
        return stats

    def d_gradients(self, x, y, fake):
        """D's .grad for ½[-log D(x, y) - log(1 - D(x, G(x)))]: a real pair scored 1, a fake pair 0 (the paper's ½)."""
        xp = get_array_module(x)
        self.D.zero_grad()
        real_pair, fake_pair = xp.concatenate([x, y], axis=1), xp.concatenate([x, fake], axis=1)   # [input | output]
        d_loss, out_real, out_fake = add_d_loss(self.D, self.objective, real_pair, fake_pair, weight=0.5)
        return dict(d_loss=d_loss, **self.objective.stats(out_real, out_fake))   # D's outputs: a logit per patch

    def g_gradients(self, x, y, fake):
        """G's .grad for -log D(x, G(x)) + λ |y - G(x)|, through a D that does not move.

        ``fake`` is G(x) from this step's forward: G's caches still hold it.
        """
        xp = get_array_module(x)
        stats, dfake = {}, xp.zeros_like(fake)
        if self.adversarial:
            stats["g_gan"], dpair = loss_through_d(self.D, self.objective.g, xp.concatenate([x, fake], axis=1))
            dfake += dpair[:, 1:]                                # -log D(x, G(x)): its gradient in G(x)'s channel
        l1, dl1 = self.l1(fake, y)                               # |G(x) - y|, gradient sign(G(x) - y) / n
        dfake += fake.dtype.type(self.lambda_l1) * dl1
        self.G.zero_grad()
        self.G.backward(dfake)                                   # dL/dθ_G = dL/dG(x) dG(x)/dθ_G
        g_loss = stats["g_gan"] + self.lambda_l1 * l1 if self.adversarial else self.lambda_l1 * l1
        return dict(stats, g_loss=g_loss, l1=l1)
