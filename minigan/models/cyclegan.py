r"""CycleGAN (Zhu et al. 2017): two translators G: A -> B and F: B -> A learned without a single pair.

Each domain has its own discriminator (D_B judges G's outputs beside real B images, D_A
F's beside real A), with the least-squares loss. Nothing ties G(a) to a's content but the
cycle: translating there and back must give the input again,

    L = L_GAN(G, D_B) + L_GAN(F, D_A) + λ (|F(G(a)) - a| + |G(F(b)) - b|)
        + λ_id λ (|G(b) - b| + |F(a) - a|),          λ = 10, λ_id = 0.5 (the paper's)

    L_GAN(G, D_B) for G: E[(D_B(G(a)) - 1)^2];  for D_B: ½ E[(D_B(b) - 1)^2] + ½ E[D_B(G(a))^2]

The identity term asks G to leave an image already in B alone. D is updated on fakes from
a pool of 50 past ones (``image_pool.py``). The networks: ResNet generators with instance
norm and reflection padding, PatchGAN discriminators (``translation_networks.py``). See
docs/cyclegan.md.
"""
from dataclasses import dataclass

import numpy as np

from ..gan.objectives import LeastSquares
from ..nn.losses import L1
from ..nn.optim import Adam
from ..training.config import changed, integer, number, one_of, setting, text
from ..translation.image_pool import ImagePool
from ..translation.networks import patchgan_discriminator, resnet_generator
from ..translation.translator import TranslationConfig, Translator, input_gradient
from . import register

TASKS = ("thickness", "rotated")   # the unpaired tasks


@dataclass
class Config(TranslationConfig):
    """CycleGAN at MNIST size: λ = 10, identity 0.5 λ, LSGAN, a pool of 50, Adam 2e-4 (0.5, 0.999)."""

    model: str = setting("cyclegan", cli=False, kind="structure")
    task: str = setting("thickness", "the unpaired task: thin <-> thick, or the same rotated", one_of(*TASKS),
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
    d_base: int = setting(32, "channels of the discriminators' first convolution: D costs a tenth of G here, and an "
                              "8-channel D let hollow outlines pass for thin strokes (docs/cyclegan.md)", integer(1),
                          kind="structure")
    blocks: int = setting(3, "residual blocks in each generator", integer(0), kind="structure")
    kernel: int = setting(3, "size of each generator's first and last convolution (the paper's 7 is for 256 x 256 "
                             "photographs)", one_of(3, 5, 7), kind="structure")

    def check(self):
        if changed(self, "lambda_identity") and not self.lambda_cycle:
            return (f"--lambda-identity {self.lambda_identity!r}: a fraction of λ, and --lambda-cycle is 0; set "
                    "--lambda-cycle or drop it")
        return super().check()


@register
class CycleGAN(Translator):
    """G: A -> B, F: B -> A and their two discriminators; one update of G and F, then of both Ds, per batch."""

    name = "cyclegan"
    Config = Config
    pairs = False
    description = "Train CycleGAN (Zhu et al. 2017) on MNIST thin <-> thick digits, from unpaired domains."
    panels = {"cycle: |F(G(a)) - a|, |G(F(b)) - b|": (("cycle_a", "cycle_b"), None),
              "D output (raw)": (("d_real_a", "d_fake_a", "d_real_b", "d_fake_b"), 0.5)}

    def __init__(self, cfg):
        super().__init__(cfg)
        G, F, D_A, D_B = self.networks(np.random.default_rng(cfg.seed))
        self.G, self.F, self.D_A, self.D_B = (net.to(cfg.backend) for net in (G, F, D_A, D_B))
        adam = dict(lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
        self.opt_G = Adam(self.G.parameters() + self.F.parameters(), **adam)      # G and F move together
        self.opt_D = Adam(self.D_A.parameters() + self.D_B.parameters(), **adam)
        self.pool_a = ImagePool(self.pool_size, seed=[cfg.seed, 5], backend=cfg.backend)
        self.pool_b = ImagePool(self.pool_size, seed=[cfg.seed, 6], backend=cfg.backend)
        self.objective, self.reconstruction, self.adversarial_weight, self.lambda_cycle, self.identity_weight = \
            self.losses()

    # --8<-- [start:cyclegan-choices]
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
    # --8<-- [end:cyclegan-choices]

    # ---- what a checkpoint holds ---------------------------------------------------------------
    def modules(self):
        return {"G": self.G, "F": self.F, "D_A": self.D_A, "D_B": self.D_B}

    def optimizers(self):
        return {"opt_G": self.opt_G, "opt_D": self.opt_D}

    def stores(self):
        return {"pool_a": self.pool_a, "pool_b": self.pool_b}

    def load_state(self, state):
        self.opt_G.lr = self.opt_D.lr = self.cfg.lr   # the settings decide the rate from here on

    def before_step(self, step, planned_steps):
        """``--lr-decay linear``: the rate constant for the first half of the planned steps, then down to 0."""
        if self.cfg.lr_decay == "linear":
            self.opt_G.lr = self.opt_D.lr = self.cfg.lr * min(1.0, 2.0 * (1.0 - step / planned_steps))

    def generators(self):
        return {"a2b": self.G, "b2a": self.F}

    # ---- the step ----------------------------------------------------------------------------------
    # --8<-- [start:cyclegan-step]
    def step(self, batches):
        (a, b), = batches                                       # a thin digit and a thick one: different digits
        fake_b, fake_a, stats = self.generator_gradients(a, b)
        self.opt_G.step()                                       # G and F, on every term of their loss
        stats.update(self.discriminator_gradients(a, b, self.pool_a.query(fake_a), self.pool_b.query(fake_b)))
        self.opt_D.step()                                       # D_A and D_B
        return stats

    def generator_gradients(self, a, b):
        """θ_G's and θ_F's .grad for their whole loss. Returns G(a), F(b) (held fixed for D's step) and the stats."""
        self.G.zero_grad()
        self.F.zero_grad()
        fake_b, terms_a = self.cycle(self.G, self.F, self.D_B, a)    # a -> G(a) -> F(G(a))
        fake_a, terms_b = self.cycle(self.F, self.G, self.D_A, b)    # b -> F(b) -> G(F(b))
        identity = self.identity(self.G, b) + self.identity(self.F, a)
        g_loss = (terms_a["adv"] + terms_b["adv"] + self.lambda_cycle * (terms_a["cycle"] + terms_b["cycle"])
                  + identity)
        stats = dict(g_loss=g_loss, cycle_a=terms_a["cycle"], cycle_b=terms_b["cycle"])
        if self.identity_weight:
            stats["identity"] = identity
        return fake_b, fake_a, stats

    def discriminator_gradients(self, a, b, fake_a, fake_b):
        """D_A's and D_B's .grad: each on its real domain and the other generator's fakes (from the pools)."""
        self.D_A.zero_grad()
        self.D_B.zero_grad()
        d_a = self.d_gradients(self.D_A, a, fake_a)             # D_A: real a, F's fakes
        d_b = self.d_gradients(self.D_B, b, fake_b)             # D_B: real b, G's fakes
        stats = dict(d_a_loss=d_a.pop("loss"), d_b_loss=d_b.pop("loss"))
        stats.update({f"{k}_a": v for k, v in d_a.items()})     # d_real_a, d_fake_a (and d_acc_a for BCE)
        stats.update({f"{k}_b": v for k, v in d_b.items()})
        return stats

    def cycle(self, G, F, D, x):
        """One direction's terms: E[(D(G(x)) - 1)^2] + λ |F(G(x)) - x|; adds their gradients to θ_G and θ_F.

        Returns G(x) (held fixed for D's step) and the two losses.
        """
        fake = G(x)                                             # G's cache: this forward, until G.backward below
        rec = F(fake)                                           # F(G(x)), back where x came from
        cycle, drec = self.reconstruction(rec, x)               # |F(G(x)) - x| and sign(F(G(x)) - x) / n
        dfake = F.backward(fake.dtype.type(self.lambda_cycle) * drec)   # dθ_F += ..., and dL/dG(x) through F
        out = D(fake)
        adv, dout = self.objective.g(out)                       # ½ E[(D(G(x)) - 1)^2] (LeastSquares' half) ...
        w = out.dtype.type(self.adversarial_weight)
        dfake += input_gradient(D, w * dout)                    # ... doubled: the paper's E[(D(G(x)) - 1)^2]
        G.backward(dfake)                                       # dθ_G += dL/dG(x) dG(x)/dθ_G, both terms
        return fake, dict(adv=w * adv, cycle=cycle)

    def identity(self, G, y):
        """λ_id λ |G(y) - y|: an image already in G's target domain should pass unchanged. Adds to θ_G's gradient."""
        if not self.identity_weight:
            return 0.0
        same, dsame = self.reconstruction(G(y), y)
        G.backward(y.dtype.type(self.identity_weight) * dsame)
        return self.identity_weight * same

    def d_gradients(self, D, real, fake):
        """D's .grad += that of l_real(D(real)) + l_fake(D(fake)), the fakes held fixed: ½ E[(D(real) - 1)^2] +
        ½ E[D(fake)^2] for least squares."""
        out_real = D(real)
        loss_real, dout = self.objective.d_real(out_real)
        with D.no_input_grad():
            D.backward(dout)
        out_fake = D(fake)
        loss_fake, dout = self.objective.d_fake(out_fake)
        with D.no_input_grad():
            D.backward(dout)
        return dict(loss=loss_real + loss_fake, **self.objective.stats(out_real, out_fake))
    # --8<-- [end:cyclegan-step]
