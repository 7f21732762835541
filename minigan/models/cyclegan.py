r"""CycleGAN (Zhu et al. 2017): two translators G: A -> B and F: B -> A learned without a single pair.

Each domain has its own discriminator (D_B judges G's outputs beside real B images, D_A
F's beside real A), with the least-squares loss. Nothing ties G(a) to a's content but the
cycle: translating there and back must give the input again,

    L = L_GAN(G, D_B) + L_GAN(F, D_A) + λ (|F(G(a)) - a| + |G(F(b)) - b|)
        + λ_id λ (|G(b) - b| + |F(a) - a|),          λ = 10, λ_id = 0.5 (the paper's)

    L_GAN(G, D_B) for G: E[(D_B(G(a)) - 1)^2];  for D_B: ½ E[(D_B(b) - 1)^2] + ½ E[D_B(G(a))^2]

The identity term asks G to leave an image already in B alone. D is updated on fakes from
a pool of 50 past ones (``translation/image_pool.py``). The networks: ResNet generators with
instance norm and reflection padding, PatchGAN discriminators (``translation/networks.py``).
The step is the two-domain translator's, which DiscoGAN shares: :meth:`CycleTranslator.step
<minigan.translation.cycle.CycleTranslator.step>` in ``minigan/translation/cycle.py``; this file
says CycleGAN's choices. See docs/cyclegan.md.
"""
from dataclasses import dataclass


from ..gan.objectives import LeastSquares
from ..nn.losses import L1
from ..training.config import integer, number, one_of, setting, text
from ..translation.cycle import UNPAIRED_TASKS, CycleTranslator
from ..translation.networks import patchgan_discriminator, resnet_generator
from ..translation.translator import TranslationConfig
from . import register


@dataclass
class Config(TranslationConfig):
    """CycleGAN at MNIST size: λ = 10, identity 0.5 λ, LSGAN, a pool of 50, Adam 2e-4 (0.5, 0.999)."""

    model: str = setting("cyclegan", cli=False, kind="structure")
    task: str = setting("thickness", "the unpaired task: thin <-> thick, or the same rotated", one_of(*UNPAIRED_TASKS),
                        kind="structure")
    out: str = setting("runs/cyclegan", "the run folder", text, kind="run")
    epochs: int = setting(3, "passes over the training images (each domain has about 30,000)", integer(1),
                          kind="run")
    lambda_cycle: float = setting(10.0, "λ, the weight of the cycle loss", number(0))
    lambda_identity: float = setting(0.5, "the identity loss's weight, as a fraction of λ (0: off)", number(0))
    pool_size: int = setting(50, "past fakes D is shown from (0: only the newest)", integer(0))
    lr_decay: str = setting("linear", "linear: constant for the first half of the epochs, then down to 0 (the "
                                      "paper's schedule); none: constant", one_of("none", "linear"))
    base: int = setting(8, "channels of the generators' first convolution", integer(1), kind="structure")
    d_base: int = setting(32, "channels of the discriminators' first convolution: D's forward and backward take "
                              "about a fifth of G's time here, and an 8-channel D let hollow outlines pass for thin "
                              "strokes (docs/cyclegan.md)", integer(1), kind="structure")
    blocks: int = setting(3, "residual blocks in each generator", integer(0), kind="structure")
    kernel: int = setting(3, "size of each generator's first and last convolution (the paper's 7 is for 256 x 256 "
                             "photographs)", one_of(3, 5, 7), kind="structure")

    def check(self):
        if self.lambda_identity and not self.lambda_cycle:
            return (f"--lambda-identity {self.lambda_identity!r}: a fraction of λ, and --lambda-cycle is 0, so it "
                    "would be 0 too; set --lambda-cycle, or --lambda-identity 0")
        return super().check()


@register
class CycleGAN(CycleTranslator):
    """G: A -> B, F: B -> A and their two discriminators; one update of G and F, then of both Ds, per batch."""

    name = "cyclegan"
    Config = Config
    description = "Train CycleGAN (Zhu et al. 2017) on MNIST thin <-> thick digits, from unpaired domains."
    #: measured better at MNIST size on thickness (both directions, both tasks, both seeds) and FID: the identity
    #: term asks G to leave a target-domain digit as it is, and pulls its strokes back (docs/cyclegan.md)
    tuned = dict(lambda_identity=0.0)
    anchor = "the paper's settings (identity loss 0.5 λ)"
    panels = {"cycle: |F(G(a)) - a|, |G(F(b)) - b|": (("cycle_a", "cycle_b"), None),
              "D output (raw)": (("d_real_a", "d_fake_a", "d_real_b", "d_fake_b"), 0.5)}

    def losses(self):
        """(objective, reconstruction loss, weight of G's adversarial term, λ, identity weight): the choices
        DiscoGAN makes otherwise (``models/discogan.py``)."""
        cfg = self.cfg
        return (LeastSquares(), L1(),                           # LSGAN; the cycle in L1
                2.0,                                            # LeastSquares.g is ½ E[(D - 1)^2]: the paper's, doubled
                cfg.lambda_cycle, cfg.lambda_identity * cfg.lambda_cycle)

    @property
    def pool_size(self):
        return self.cfg.pool_size

    def networks(self, rng):
        """(G, F, D_A, D_B): ResNet generators, PatchGAN discriminators with instance norm."""
        cfg = self.cfg
        nets = dict(base=cfg.base, blocks=cfg.blocks, kernel=cfg.kernel, rng=rng)
        d = dict(in_channels=1, base=cfg.d_base, norm="instance", rng=rng)
        return resnet_generator(**nets), resnet_generator(**nets), patchgan_discriminator(**d), \
            patchgan_discriminator(**d)
