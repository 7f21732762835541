r"""Two translators learned without a single pair: the model CycleGAN and DiscoGAN both are.

G: A -> B and F: B -> A, each domain with its own discriminator (D_B judges G's outputs
beside real B images, D_A F's beside real A). Nothing ties G(a) to a's content but the
cycle: translating there and back must give the input again. For G and F together,

    L = w L_adv(D_B(G(a))) + w L_adv(D_A(F(b))) + λ (dist(F(G(a)), a) + dist(G(F(b)), b))
        + λ_id (dist(G(b), b) + dist(F(a), a))

and each D learns real from fake on its own domain, the fakes drawn from a pool of past
ones. What the two models choose otherwise (``models/cyclegan.py``, ``models/discogan.py``)
is what :meth:`CycleTranslator.losses` and :meth:`CycleTranslator.networks` return: the
objective of the game, the reconstruction loss dist (L1 or squared error), the adversarial weight w, λ, λ_id; the
networks; and the pool's size. The step below is the same for both.
"""
import numpy as np

from ..gan.step import add_d_loss, loss_through_d
from .image_pool import ImagePool
from .translator import Translator

UNPAIRED_TASKS = ("thickness", "rotated")   # the tasks with two domains and no pairs (translation/data.py)


class CycleTranslator(Translator):
    """G: A -> B, F: B -> A and their discriminators; one update of G and F, then of both Ds, per batch.

    A subclass writes :meth:`networks` and :meth:`losses` and sets ``pool_size``.
    """

    paired = False

    def __init__(self, cfg):
        super().__init__(cfg)
        G, F, D_A, D_B = self.networks(np.random.default_rng(cfg.seed))
        self.G, self.F, self.D_A, self.D_B = (net.to(cfg.backend) for net in (G, F, D_A, D_B))
        self.opt_G = self.optimizer("opt_G", self.G.parameters() + self.F.parameters())   # G and F move together
        self.opt_D = self.optimizer("opt_D", self.D_A.parameters() + self.D_B.parameters())
        self.pool_a = ImagePool(self.pool_size, seed=[cfg.seed, 5], backend=cfg.backend)
        self.pool_b = ImagePool(self.pool_size, seed=[cfg.seed, 6], backend=cfg.backend)
        self.objective, self.reconstruction, self.adversarial_weight, self.lambda_cycle, self.identity_weight = \
            self.losses()

    def networks(self, rng):
        """(G, F, D_A, D_B), weights drawn from ``rng``."""
        raise NotImplementedError

    def losses(self):
        """(objective, reconstruction loss dist, weight w of G's adversarial term, λ, λ_id)."""
        raise NotImplementedError

    # ---- what a checkpoint holds ---------------------------------------------------------------
    def modules(self):
        return {"G": self.G, "F": self.F, "D_A": self.D_A, "D_B": self.D_B}

    def pools(self):
        return {"pool_a": self.pool_a, "pool_b": self.pool_b} if self.pool_size else {}

    def generators(self):
        return {"a2b": self.G, "b2a": self.F}

    # ---- the step ----------------------------------------------------------------------------------
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

    def cycle(self, G, F, D, x):
        """One direction's terms: w l_g(D(G(x))) + λ dist(F(G(x)), x); adds their gradients to θ_G and θ_F.

        Returns G(x) (held fixed for D's step) and the two losses.
        """
        fake = G(x)                                             # G's cache: this forward, until G.backward below
        rec = F(fake)                                           # F(G(x)), back where x came from
        cycle, drec = self.reconstruction(rec, x)               # dist(F(G(x)), x) and its gradient
        dfake = F.backward(fake.dtype.type(self.lambda_cycle) * drec)   # dθ_F += ..., and dL/dG(x) through F
        adv, dadv = loss_through_d(D, self.objective.g, fake, fake.dtype.type(self.adversarial_weight))
        dfake += dadv                                           # + w dl_g(D(G(x)))/dG(x), D held still
        G.backward(dfake)                                       # dθ_G += dL/dG(x) dG(x)/dθ_G, both terms
        return fake, dict(adv=fake.dtype.type(self.adversarial_weight) * adv, cycle=cycle)

    def identity(self, G, y):
        """λ_id dist(G(y), y): an image already in G's target domain should pass unchanged. Adds to θ_G's gradient."""
        if not self.identity_weight:
            return 0.0
        same, dsame = self.reconstruction(G(y), y)
        G.backward(y.dtype.type(self.identity_weight) * dsame)
        return self.identity_weight * same

    def discriminator_gradients(self, a, b, fake_a, fake_b):
        """D_A's and D_B's .grad: each on its real domain and the other generator's fakes (from the pools)."""
        self.D_A.zero_grad()
        self.D_B.zero_grad()
        stats = {}
        for side, D, real, fake in (("a", self.D_A, a, fake_a), ("b", self.D_B, b, fake_b)):
            loss, out_real, out_fake = add_d_loss(D, self.objective, real, fake)   # l_real(D(real)) + l_fake(D(fake))
            stats[f"d_{side}_loss"] = loss
            stats.update({f"{k}_{side}": v for k, v in self.objective.stats(out_real, out_fake).items()})
        return stats
