r"""What every GAN model of ``minigan/models/`` shares, and the original GAN's step.

Goodfellow et al. (2014) train a discriminator D and a generator G on a game;
each step moves D k times on its loss (the setting ``d_steps``), then G once on
its own:

    for each of k real batches x:   z ~ prior;  L_D = l_real(D(x)) + l_fake(D(G(z)))   -> update D
    then, on the last fake batch:   L_G = l_g(D(G(z)))                                -> update G

:meth:`GANModel.step` is that loop, written out; the MLP GAN, the DCGAN and
WGAN-GP take it as it is. What the losses are is the *objective*
(``objectives.py``: the original GAN's BCE losses, the Wasserstein critic, ...),
what G is fed the *prior* (``priors.py``: noise, noise and a label, ...). A
model whose step goes otherwise (the WGAN clips its critic, the cGAN shows D
labels, InfoGAN's D has a second head) writes its own ``step`` in its own file,
from the same pieces: :meth:`GANModel.d_gradients`, :meth:`GANModel.g_gradients`
and ``step.py``'s terms. See docs/models.md.
"""
import copy
from dataclasses import dataclass

import numpy as np

from .. import metrics as _metrics
from ..backend import to_numpy
from ..nn import DoubleBackwardError, evaluating
from ..nn.layers.spectral_norm import spectral_normalize
from ..training.config import (ConfigError, OptimizerConfig, boolean, changed, integer, number, one_of, setting,
                               validate)
from ..training.model import Model
from .ema import EMA
from .objectives import BCE_OBJECTIVES, GAN_OBJECTIVES, from_settings
from .penalties import check_critic, penalize_input_gradient, r1_term
from .priors import Gaussian
from .step import add_d_loss, loss_through_d


# ---- settings -------------------------------------------------------------------------------



@dataclass
class GANConfig(OptimizerConfig):
    """What every GAN's run shares. The defaults are the textbook (PyTorch DCGAN example) settings."""

    # --8<-- [start:gan-config-z-dim]
    z_dim: int = setting(64, "size of the noise vector z", integer(1), kind="structure")
    # --8<-- [end:gan-config-z-dim]
    d_steps: int = setting(1, "D steps per G step, each on its own real batch (Goodfellow et al.'s k, WGAN's "
                              "n_critic)", integer(1), kind="structure")
    lr_d: float = setting(None, "D's learning rate (unset: --lr)", number(0, low_open=True, none_ok=True))
    lr_g: float = setting(None, "G's learning rate (unset: --lr)", number(0, low_open=True, none_ok=True))
    r1: float = setting(0.0, "R1 penalty gamma on real images (Mescheder et al. 2018; 0: off); D needs a double "
                             "backward in every layer (no batchnorm)", number(0))
    r1_every: int = setting(1, "apply R1 on every k-th D step, weighted by k (lazy regularisation)", integer(1))
    spectral_norm: bool = setting(False, "spectral normalisation of every Dense and Conv2d weight of D (Miyato et "
                                         "al. 2018)", boolean, kind="structure")
    ema: float = setting(0.0, "sample from an exponential moving average of G's weights with this decay (0: off)",
                         number(0, 1, high_open=True), kind="structure")
    ema_warmup: str = setting("tf", "how the average's decay ramps up to --ema: tf: (1+t)/(10+t), TensorFlow's rule, "
                                    "full after 9(1/(1-ema) - 1) updates; mean: t/(t+1), the plain mean of every G so "
                                    "far until 1/(1-ema) updates, then the moving average", one_of("tf", "mean"))

    def check(self):
        """A setting that acts only with another one is refused without it, so that none is silently ignored."""
        if changed(self, "r1_every") and not self.r1:
            return f"--r1-every {self.r1_every!r}: applies with --r1 (the R1 penalty is off); drop it or set --r1"
        if changed(self, "ema_warmup") and not self.ema:
            return (f"--ema-warmup {self.ema_warmup}: applies with --ema (no average of G is kept); drop it or "
                    "set --ema")
        if changed(self, "lr") and self.lr_d is not None and self.lr_g is not None:
            return (f"--lr {self.lr!r}: --lr-d and --lr-g are both set, so --lr would not be used; drop it, or "
                    "one of those")
        return super().check()


@dataclass
class BCEGANConfig(GANConfig):
    """The original GAN's objective (binary cross-entropy on D's logits), or the hinge loss."""

    objective: str = setting("nonsaturating", "the game's losses: BCE for D with G's non-saturating or minimax "
                                              "loss, or the hinge loss for both (docs/hinge.md)",
                             one_of(*GAN_OBJECTIVES))
    label_smoothing: float = setting(0.0, "one-sided: real labels become 1 - this (BCE only)",
                                     number(0, 1, high_open=True))
    d_dropout: float = setting(0.0, "dropout in D", number(0, 1, high_open=True), kind="structure")

    def check(self):
        if self.objective not in BCE_OBJECTIVES and self.label_smoothing:
            return (f"--label-smoothing {self.label_smoothing!r}: applies to the BCE losses, not to "
                    f"--objective {self.objective}; drop it")
        return super().check()


# ---- the model -----------------------------------------------------------------------------------


class GANModel(Model):
    """What every GAN model shares: G, D, their optimizers, the prior, the objective, weight averaging, grids, metrics.

    A subclass writes :meth:`networks`, and hands ``__init__`` its prior (what G is fed; noise by
    default) and its objective (the settings' ``--objective`` by default). Its step is
    :meth:`step` below unless it writes its own.
    """

    Config = BCEGANConfig

    def __init__(self, cfg, prior=None, objective=None):
        super().__init__(cfg)
        G, D = self.networks(np.random.default_rng(cfg.seed))
        if cfg.spectral_norm:
            D = spectral_normalize(D, rng=np.random.default_rng([cfg.seed, 7]))
        self.G, self.D = G.to(cfg.backend), D.to(cfg.backend)
        self.prior = prior if prior is not None else Gaussian(cfg.z_dim)
        self.check_r1()
        self.objective = objective if objective is not None else from_settings(cfg.objective, cfg.label_smoothing)
        self.ema = EMA(self.G, copy.deepcopy(self.G), cfg.ema, cfg.ema_warmup) if cfg.ema else None
        self.opt_G = self.optimizer("opt_G", self.G.parameters(), cfg.lr_g or cfg.lr)
        self.opt_D = self.optimizer("opt_D", self.D.parameters(), cfg.lr_d or cfg.lr)
        self.noise_rng = np.random.default_rng([cfg.seed, 1])     # G's input in training (saved in checkpoints)
        self.last_r1 = 0.0
        self.panels = dict(self.objective.panels)                 # the curves beside the losses; a model adds its own
        if cfg.r1:
            self.panels["R1 penalty"] = (("r1",), None)
        self.fixed_latent, self.grid_nrow = self.prior.grid(np.random.default_rng([cfg.seed, 2]), cfg.backend)

    def networks(self, rng):
        """(G, D), weights drawn from ``rng``."""
        raise NotImplementedError

    @classmethod
    def around(cls, G, D, **settings):
        """This model, and its step, around networks of your own: ``GANModel.around(G, D, z_dim=3, lr=1e-3)``.

        G and D are used as they are (no weights drawn); the settings are the Config's defaults
        with ``settings`` over them. For experiments, and for tests that check a step's gradients
        on small float64 networks.
        """
        own = type(cls.__name__, (cls,), {"networks": lambda self, rng: (G, D), "__module__": cls.__module__})
        return own(validate(cls.Config(**{"model": cls.name or "gan", "out": "unused", **settings})))

    def draw(self, n, dtype=np.float32):
        """G's input for ``n`` images, from the prior and the run's noise generator, on the backend."""
        return self.prior.sample(n, self.noise_rng, self.cfg.backend, dtype)

    # ---- the step ---------------------------------------------------------------------------------
    def step(self, batches):
        """``d_steps`` updates of D, each on its own real batch, then one of G. Returns the stats (0-d arrays)."""
        for real, _ in batches:                                  # D sees images alone: the labels are not used
            fake = self.G(self.draw(len(real), real.dtype))      # G(z), forward only: G does not move here
            stats = self.d_gradients(real, fake)
            self.opt_D.step()
        stats.update(self.g_gradients(fake))                     # through the D just updated
        self.opt_G.step()
        self.update_average()
        return stats

    def d_gradients(self, real, fake):
        """L_D = l_real(D(x)) + l_fake(D(G(z))) (+ R1); set D's .grad to dL_D/dθ_D. Returns the stats."""
        self.D.zero_grad()
        d_loss, out_real, out_fake = add_d_loss(self.D, self.objective, real, fake)   # G(z) held fixed
        stats = dict(d_loss=d_loss, **self.objective.stats(out_real, out_fake))
        # --8<-- [start:d-gradients-r1]
        if self.cfg.r1:
            stats["r1"] = self.r1_penalty(real)                  # ... plus R1's gradient, on the real images
        # --8<-- [end:d-gradients-r1]
        return stats

    def g_gradients(self, fake):
        """L_G = l_g(D(G(z))); set G's .grad to dL_G/dθ_G, back through a D that does not move.

        ``fake`` is the batch G just drew in the D step: G's caches still hold that forward pass,
        so G's backward needs no second forward (as the PyTorch DCGAN example does).
        """
        g_loss, dfake = loss_through_d(self.D, self.objective.g, fake)   # -log D(G(z)) and dL_G/dG(z)
        self.G.zero_grad()
        self.G.backward(dfake)                                   # dL/dθ_G = dL/dG(z) dG(z)/dθ_G
        return dict(g_loss=g_loss)

    def r1_penalty(self, real):
        """R1 (Mescheder et al. 2018): γ/2 E‖∇ₓD(x)‖² on real images, added into D's .grad (``penalties.py``).

        Lazy (Karras et al. 2020): with ``r1_every = k`` it is applied on every
        k-th D step with weight k γ, the same gradient on average for a k-th of
        the cost. Returns the penalty last applied (γ/2 E‖∇ₓD‖², unscaled), for the log.
        """
        if self.opt_D.t % self.cfg.r1_every == 0:               # opt_D.t: D steps so far (saved, so resume is exact)
            value, _ = penalize_input_gradient(self.D, real, r1_term, self.cfg.r1 * self.cfg.r1_every)
            self.last_r1 = value / self.cfg.r1_every
        return self.last_r1

    def check_r1(self):
        """R1 differentiates D's backward: refuse, before any work, a D it cannot go through."""
        if not self.cfg.r1:
            return
        if self.prior.conditional:
            raise ConfigError(f"--r1 {self.cfg.r1!r}: the penalty is written for an unconditional D(x)")
        try:
            check_critic(self.D)
        except DoubleBackwardError as exc:
            raise ConfigError(f"--r1 {self.cfg.r1!r}: {exc}") from None

    def update_average(self):
        """θ_ema <- β θ_ema + (1 - β) θ_G after G's update, if the run keeps an average of G (``--ema``)."""
        if self.ema:
            self.ema.update()

    # ---- checkpoint ------------------------------------------------------------------------------
    def modules(self):
        out = {"G": self.G, "D": self.D}
        if self.ema:
            out["G_ema"] = self.ema.shadow
        return out

    def rngs(self):
        return {"noise": self.noise_rng}

    def state(self):
        return {"ema_t": self.ema.t} if self.ema else {}

    def load_state(self, state):
        """After a checkpoint's arrays are loaded: the average's step count (and the settings' rates)."""
        if self.ema:
            self.ema.t, self.ema.stale = state.get("ema_t", 0), False
        super().load_state(state)

    def before_save(self):
        if self.ema:
            self.averaged_generator()  # the saved average carries its own batchnorm statistics

    # ---- training ---------------------------------------------------------------------------------
    @property
    def batches_per_step(self):
        return self.cfg.d_steps

    # ---- sampling ---------------------------------------------------------------------------------
    def averaged_generator(self):
        """The weight-averaged G, its batchnorm statistics measured on 10 seeded batches of 256 draws."""
        if self.ema.stale:
            rng = np.random.default_rng([self.cfg.seed, 5])
            self.ema.recalibrate(self.prior.sample(256, rng, self.cfg.backend) for _ in range(10))
        return self.ema.shadow

    def sample(self, latent):
        """G(latent) in eval mode (batchnorm uses its running statistics); the averaged G if ``cfg.ema``."""
        if self.ema:
            return self.averaged_generator()(latent)
        with evaluating(self.G):
            return self.G(latent)

    def sampler(self):
        """The G to draw samples from, in eval mode: the weight average if the run keeps one, else G."""
        return self.averaged_generator() if self.ema else self.G.eval()

    def grid(self):
        return self.sample(self.fixed_latent), self.grid_nrow

    def generate(self, n, seed=0, batch_size=500, **fixed):
        """``n`` samples as a NumPy array, from draws seeded by (cfg.seed, 4, seed): independent of training's.

        ``fixed`` goes to the prior (``digit=3`` for a conditional model).
        """
        rng = np.random.default_rng([self.cfg.seed, 4, seed])
        out = [to_numpy(self.sample(self.prior.sample(min(batch_size, n - i), rng, self.cfg.backend, **fixed)))
               for i in range(0, n, batch_size)]
        return np.concatenate(out)

    # ---- judging ------------------------------------------------------------------------------------
    def evaluate(self, n, seed=0):
        """minigan.metrics of ``n`` samples, and of ``n`` real training images (the floor).

        ``seed=0`` draws the very samples the training run scored at its end,
        so ``examples/evaluate.py RUN`` gives back the run's own numbers.
        """
        report = _metrics.evaluate_samples(self.generate(n, seed), data_dir=self.cfg.data_dir)
        report["real_floor"] = _metrics.real_floor(n, data_dir=self.cfg.data_dir)
        return report

    def format_report(self, report):
        return (_metrics.format_report("samples", report) + "\n"
                + _metrics.format_report("real_floor", report["real_floor"]))
