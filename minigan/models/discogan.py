r"""DiscoGAN (Kim et al. 2017): CycleGAN's idea, found at the same time, with other choices.

Two generators G_AB and G_BA and two discriminators, no pairs, and a reconstruction
loss in both directions, as in CycleGAN: the step is the two-domain translator's, which
both models are (:meth:`CycleTranslator.step <minigan.translation.cycle.CycleTranslator.step>`,
in ``minigan/translation/cycle.py``). What differs is each choice the step leaves open:

================  ===========================================  ==========================================
                  CycleGAN                                     DiscoGAN
================  ===========================================  ==========================================
generators        ResNet blocks, instance norm                 encoder-decoder, batchnorm, *no skips*
discriminators    PatchGAN map, instance norm                  one logit per image (the DCGAN's D)
adversarial       least squares                                BCE (G: -log D(G(a)))
reconstruction    λ = 10, L1                                   λ = 1, squared error (the paper's MSE)
identity loss     0.5 λ                                        none
pool of fakes     50                                           none
================  ===========================================  ==========================================

The loss of the generators, both directions:

    L_G = -log D_B(G_AB(a)) - log D_A(G_BA(b)) + λ (‖G_BA(G_AB(a)) - a‖² + ‖G_AB(G_BA(b)) - b‖²)

DiscoGAN's claim is that the translation keeps what the two domains share, such
as a digit's orientation: its default task is ``rotated``. See docs/discogan.md.
"""
from dataclasses import dataclass

from ..gan.networks import dcgan_discriminator
from ..gan.objectives import NonSaturating
from ..nn.losses import MSE
from ..training.config import integer, number, one_of, setting, text
from ..translation.cycle import UNPAIRED_TASKS, CycleTranslator
from ..translation.networks import encoder_decoder_generator
from ..translation.translator import TranslationConfig
from . import register


@dataclass
class Config(TranslationConfig):
    """DiscoGAN at MNIST size: encoder-decoder G, DCGAN D, BCE + 1 · MSE reconstruction, Adam 2e-4 (0.5, 0.999)."""

    model: str = setting("discogan", cli=False, kind="structure")
    task: str = setting("rotated", "the unpaired task: rotated thin <-> rotated thick, or thin <-> thick",
                        one_of(*UNPAIRED_TASKS), kind="structure")
    out: str = setting("runs/discogan", "the run folder", text, kind="run")
    epochs: int = setting(5, "passes over the training images (each domain has about 30,000)", integer(1),
                          kind="run")
    lambda_reconstruction: float = setting(1.0, "λ, the weight of the reconstruction loss (squared error)",
                                           number(0))
    base: int = setting(32, "channels of the generators' and the discriminators' first convolution", integer(1),
                        kind="structure")


@register
class DiscoGAN(CycleTranslator):
    """G_AB, G_BA (``G`` and ``F``) and D_A, D_B; the two-domain step with DiscoGAN's networks and losses."""

    name = "discogan"
    Config = Config
    description = "Train DiscoGAN (Kim et al. 2017) on MNIST rotated thin <-> thick digits, from unpaired domains."
    panels = {"reconstruction: ‖G_BA(G_AB(a)) - a‖², ‖G_AB(G_BA(b)) - b‖²": (("cycle_a", "cycle_b"), None),
              "D output": (("d_real_a", "d_fake_a", "d_real_b", "d_fake_b"), 0.5)}

    # --8<-- [start:discogan-choices]
    def losses(self):
        return (NonSaturating(), MSE(),                         # BCE on D's logit; the reconstruction squared
                1.0,                                            # -log D(G(a)), as it is
                self.cfg.lambda_reconstruction, 0.0)            # λ; no identity loss

    pool_size = 0                                               # D sees only the newest fakes

    def networks(self, rng):
        """(G_AB, G_BA, D_A, D_B): encoder-decoders without skips, and the DCGAN's discriminator."""
        base = self.cfg.base
        return (encoder_decoder_generator(base=base, rng=rng), encoder_decoder_generator(base=base, rng=rng),
                dcgan_discriminator(base=base, rng=rng), dcgan_discriminator(base=base, rng=rng))
    # --8<-- [end:discogan-choices]
