r"""One GAN training step, from the objective to the update, and the task every GAN model builds on.

Goodfellow et al. (2014) train a discriminator D and a generator G on a game;
each step moves D k times on its loss (the setting ``d_steps``), then G once on
its own:

    for each of k real batches x:   z ~ prior;  L_D(D(x), D(G(z)))  -> update D
    then, on the last fake batch:   L_G(D(G(z)))                   -> update G

What the losses are is the *objective* (``objectives.py``: the original GAN's
BCE losses, the Wasserstein critic, ...), what G is fed is the *prior*
(``priors.py``: noise, noise and a label, ...). :class:`GANStep` is the loop
above for any of them, one readable line per idea; :class:`GANModel` adds
what a GAN's run needs (optimizers, weight averaging, sample grids, metrics),
so a model module only says which networks to build (``networks.py`` has the
shared ones) and, through ``super()``, what more its step takes
(:meth:`GANModel.step_kwargs`) and what an extra head of D adds
(:meth:`GANStep.score`, :meth:`GANStep.heads_gradient`). See docs/models.md.
"""
import copy
from dataclasses import dataclass

import numpy as np

from .. import metrics as _metrics
from ..backend import to_numpy
from ..nn import DoubleBackwardError
from ..nn.layers.spectral_norm import spectral_normalize
from ..nn.optim import SGD, Adam, RMSprop
from ..training.config import ConfigError, RunConfig, boolean, changed, integer, number, one_of, setting
from ..training.model import Model
from .ema import EMA
from .objectives import BCE_OBJECTIVES, GAN_OBJECTIVES
from .penalties import check_critic, penalize_input_gradient, r1_term
from .priors import Gaussian


class GANStep:
    """D and G, their optimizers, a prior for G's input and an objective: one step of the game.

    Parameters
    ----------
    G, D : Layer. G maps the prior's draws to images; D maps an image (or
        (image, condition) for a conditional prior) to its output, shape (N, 1).
    opt_G, opt_D : optimizers over ``G.parameters()`` and ``D.parameters()``.
    prior : what G is fed (``priors.py``).
    objective : ``d_real``, ``d_fake``, ``g`` and ``stats`` (``objectives.py``).
    noise_rng : NumPy Generator the prior draws from (its state goes into checkpoints).
    backend : where the draws go.
    """

    def __init__(self, G, D, opt_G, opt_D, prior, objective, noise_rng=None, backend="numpy", r1=0.0, r1_every=1):
        self.G, self.D, self.opt_G, self.opt_D = G, D, opt_G, opt_D
        self.prior, self.objective, self.backend = prior, objective, backend
        self.noise_rng = noise_rng if noise_rng is not None else np.random.default_rng(0)
        self.r1, self.r1_every, self.last_r1 = r1, r1_every, 0.0

    # ---- what D sees ----------------------------------------------------------------------
    @staticmethod
    def d_input(images, condition):
        """D's input: the images, or (images, condition) for a conditional model."""
        return images if condition is None else (images, condition)

    @staticmethod
    def image_gradient(dx):
        """dL/d(images) out of D's input gradient (the first entry when D took a tuple)."""
        return dx[0] if isinstance(dx, tuple) else dx

    # ---- D's output: its score, and any extra head (InfoGAN's Q) --------------------------
    # --8<-- [start:score-heads]
    def score(self, out):
        """D's real/fake score out of D's output (InfoGAN's D also returns Q's guesses)."""
        return out

    def heads_gradient(self, out, dscore, codes, side):
        """dL/d(D's output) from dL/d(score), with the loss of any extra head of D; and that loss's stats.

        ``codes`` are what G was fed that an extra head reads back off a fake
        batch (InfoGAN's codes; None on real images, and for a D with one head).
        ``side`` is "d" or "g": whose step asks, for the names of the stats.
        D has one head here: its output is the score.
        """
        return dscore, {}
    # --8<-- [end:score-heads]

    # ---- D ------------------------------------------------------------------------------------
    # --8<-- [start:d-step]
    def d_step(self, real, labels=None):
        """One update of D on a real batch and a fresh fake batch. Returns (stats, fake, latent)."""
        latent = self.prior.sample(len(real), self.noise_rng, self.backend, real.dtype)
        fake = self.G(latent)                                   # G runs forward only: no G update here
        real_condition = labels if self.prior.conditional else None
        stats = self.d_gradients(real, fake, real_condition, self.prior.condition(latent), self.prior.codes(latent))
        self.opt_D.step()
        self.after_d_step()
        return stats, fake, latent
    # --8<-- [end:d-step]

    # --8<-- [start:d-gradients]
    def d_gradients(self, real, fake, real_condition=None, fake_condition=None, codes=None):
        """L_D = l_real(D(x)) + l_fake(D(G(z))) (+ R1); set D's .grad to dL_D/dθ_D. Returns the stats."""
        self.D.zero_grad()
        out_real = self.D(self.d_input(real, real_condition))
        loss_real, dscore = self.objective.d_real(self.score(out_real))
        dout, _ = self.heads_gradient(out_real, dscore, None, "d")   # real images: no codes to read back
        with self.D.no_input_grad():                            # only dL/dθ_D: skip dL/d(images)
            self.D.backward(dout)                               # adds dL/dθ_D from the real half
        out_fake = self.D(self.d_input(fake, fake_condition))
        loss_fake, dscore = self.objective.d_fake(self.score(out_fake))
        dout, head_stats = self.heads_gradient(out_fake, dscore, codes, "d")
        with self.D.no_input_grad():
            self.D.backward(dout)                               # ... plus the fake half (and any extra head's)
        stats = dict(d_loss=loss_real + loss_fake, **head_stats,
                     **self.objective.stats(self.score(out_real), self.score(out_fake)))
        # --8<-- [start:d-gradients-r1]
        if self.r1:
            stats["r1"] = self.r1_penalty(real)                 # ... plus R1's gradient, on the real images
        # --8<-- [end:d-gradients-r1]
        return stats
    # --8<-- [end:d-gradients]

    # --8<-- [start:r1-penalty]
    def r1_penalty(self, real):
        """R1 (Mescheder et al. 2018): γ/2 E‖∇ₓD(x)‖² on real images, added into D's .grad (``penalties.py``).

        Lazy (Karras et al. 2020): with ``r1_every = k`` it is applied on every
        k-th D step with weight k γ, the same gradient on average for a k-th of
        the cost. Returns the penalty last applied (γ/2 E‖∇ₓD‖², unscaled), for the log.
        """
        if self.opt_D.t % self.r1_every == 0:                   # opt_D.t: D steps so far (saved, so resume is exact)
            value, _ = penalize_input_gradient(self.D, real, r1_term, self.r1 * self.r1_every)
            self.last_r1 = value / self.r1_every
        return self.last_r1
    # --8<-- [end:r1-penalty]

    def after_d_step(self):
        """What happens right after D's update (WGAN clips D's weights here)."""

    # ---- G ------------------------------------------------------------------------------------
    def g_step(self, fake, latent):
        """One update of G through a D whose parameters do not move.

        ``fake`` is the batch G just produced in the D step: G's caches still
        hold that forward pass, so we can backpropagate into G without running
        it again (as the PyTorch DCGAN example does).
        """
        stats = self.g_gradients(fake, self.prior.condition(latent), self.prior.codes(latent))
        self.opt_G.step()                                       # only G moves
        return stats

    # --8<-- [start:g-gradients]
    def g_gradients(self, fake, condition=None, codes=None):
        """L_G on D(fake); set G's .grad to dL_G/dθ_G, flowing back through D. Returns the stats."""
        out = self.D(self.d_input(fake, condition))             # D after its update
        g_loss, dscore = self.objective.g(self.score(out))
        dout, head_stats = self.heads_gradient(out, dscore, codes, "g")
        dfake = self.image_gradient(self.d_input_gradient(dout))  # dL/dG(z), D's input gradient
        self.G.zero_grad()
        self.G.backward(dfake)                                  # dL/dθ_G = dL/dG(z) dG(z)/dθ_G
        return dict(g_loss=g_loss, **head_stats)
    # --8<-- [end:g-gradients]

    # --8<-- [start:d-input-gradient]
    def d_input_gradient(self, dout):
        """D's backward for dL/d(input) only: D does not move in G's step, so dL/dθ_D is skipped."""
        self.D.requires_grad_(False)
        try:
            return self.D.backward(dout)
        finally:
            self.D.requires_grad_(True)
    # --8<-- [end:d-input-gradient]

    # ---- the whole step -------------------------------------------------------------------------
    def step(self, batches):
        """``d_steps`` D steps (one (images, labels) batch each) then one G step. Returns the stats (0-d arrays)."""
        # --8<-- [start:step-loop]
        for real, labels in batches:
            stats, fake, latent = self.d_step(real, labels)
        stats.update(self.g_step(fake, latent))
        # --8<-- [end:step-loop]
        return stats


# ---- settings -------------------------------------------------------------------------------


positive = number(0, low_open=True)


@dataclass
class GANConfig(RunConfig):
    """What every GAN's run shares. The defaults are the textbook (PyTorch DCGAN example) settings."""

    # --8<-- [start:gan-config-z-dim]
    z_dim: int = setting(64, "size of the noise vector z", integer(1), kind="structure")
    # --8<-- [end:gan-config-z-dim]
    d_steps: int = setting(1, "D steps per G step, each on its own real batch (Goodfellow et al.'s k, WGAN's "
                              "n_critic)", integer(1), kind="structure")
    optimizer: str = setting("adam", "optimizer of both nets", one_of("adam", "sgd", "rmsprop"))
    lr: float = setting(2e-4, "learning rate of both nets (unless --lr-d / --lr-g)", positive)
    lr_d: float = setting(None, "D's learning rate (unset: --lr)", number(0, low_open=True, none_ok=True))
    lr_g: float = setting(None, "G's learning rate (unset: --lr)", number(0, low_open=True, none_ok=True))
    beta1: float = setting(0.5, "Adam's beta1", number(0, 1, high_open=True))
    beta2: float = setting(0.999, "Adam's beta2", number(0, 1, high_open=True))
    lr_decay: str = setting("none", "linear: constant learning rates for the first half of the epochs, then down "
                                    "to 0", one_of("none", "linear"))
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
        for name in ("beta1", "beta2"):
            if changed(self, name) and self.optimizer != "adam":
                return (f"--{name} {getattr(self, name)!r}: Adam's, and this run's --optimizer is "
                        f"{self.optimizer}; drop it")
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


# ---- the task -----------------------------------------------------------------------------------


class GANModel(Model):
    """What every GAN model shares: G, D, optimizers, the step, weight averaging, grids and metrics.

    A subclass writes :meth:`networks` (and, where it differs from the original
    GAN, :meth:`make_prior`, :meth:`make_objective`, ``step_class`` with what
    :meth:`step_kwargs` hands it, and :meth:`make_panels`).
    """

    Config = GANConfig
    step_class = GANStep
    def __init__(self, cfg):
        super().__init__(cfg)
        G, D = self.networks(np.random.default_rng(cfg.seed))
        if cfg.spectral_norm:
            D = spectral_normalize(D, rng=np.random.default_rng([cfg.seed, 7]))
        self.G, self.D = G.to(cfg.backend), D.to(cfg.backend)
        self.prior = self.make_prior()
        self._check_r1()
        self.objective = self.make_objective()
        self.ema = EMA(self.G, copy.deepcopy(self.G), cfg.ema, cfg.ema_warmup) if cfg.ema else None
        self.opt_G = self.make_optimizer(self.G.parameters(), cfg.lr_g or cfg.lr)
        self.opt_D = self.make_optimizer(self.D.parameters(), cfg.lr_d or cfg.lr)
        self.noise_rng = np.random.default_rng([cfg.seed, 1])
        # --8<-- [start:gan-task-init]
        self.gan = self.step_class(**self.step_kwargs())        # every setting reaches the step here, once
        self.panels = self.make_panels()
        # --8<-- [end:gan-task-init]
        self.fixed_latent, self.grid_nrow = self.prior.grid(np.random.default_rng([cfg.seed, 2]), cfg.backend)

    # --8<-- [start:step-kwargs]
    def step_kwargs(self):
        """What ``step_class`` is built with: the networks, optimizers, prior, objective and the settings it uses.

        A model whose step takes more (WGAN's clip, WGAN-GP's λ) adds them here,
        through ``super().step_kwargs()``, so the step is built once, whole.
        """
        cfg = self.cfg
        return dict(G=self.G, D=self.D, opt_G=self.opt_G, opt_D=self.opt_D, prior=self.prior,
                    objective=self.objective, noise_rng=self.noise_rng, backend=cfg.backend, r1=cfg.r1,
                    r1_every=cfg.r1_every)
    # --8<-- [end:step-kwargs]

    # --8<-- [start:make-panels]
    def make_panels(self):
        """The curves' panels beyond the losses: the objective's, R1's, and what a model adds via ``super()``."""
        panels = dict(self.objective.panels)
        if self.cfg.r1:
            panels["R1 penalty"] = (("r1",), None)
        return panels
    # --8<-- [end:make-panels]

    # ---- what a model says ---------------------------------------------------------------------
    def networks(self, rng):
        """(G, D), weights drawn from ``rng``."""
        raise NotImplementedError

    def make_prior(self):
        return Gaussian(self.cfg.z_dim)

    def make_objective(self):
        objective = GAN_OBJECTIVES[self.cfg.objective]
        if self.cfg.objective in BCE_OBJECTIVES:
            return objective(label_smoothing=self.cfg.label_smoothing)
        return objective()

    def _check_r1(self):
        """R1 differentiates D's backward: refuse, before any work, a D it cannot go through."""
        if not self.cfg.r1:
            return
        if self.prior.conditional:
            raise ConfigError(f"--r1 {self.cfg.r1!r}: the penalty is written for an unconditional D(x)")
        try:
            check_critic(self.D)
        except DoubleBackwardError as exc:
            raise ConfigError(f"--r1 {self.cfg.r1!r}: {exc}") from None

    def make_optimizer(self, params, lr):
        cfg = self.cfg
        if cfg.optimizer == "adam":
            return Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2))
        if cfg.optimizer == "sgd":
            return SGD(params, lr=lr, momentum=0.9)
        return RMSprop(params, lr=lr)

    # ---- checkpoint ------------------------------------------------------------------------------
    def modules(self):
        out = {"G": self.G, "D": self.D}
        if self.ema:
            out["G_ema"] = self.ema.shadow
        return out

    def optimizers(self):
        return {"opt_G": self.opt_G, "opt_D": self.opt_D}

    def rngs(self):
        return {"noise": self.noise_rng}

    def state(self):
        return {"ema_t": self.ema.t} if self.ema else {}

    def load_state(self, state):
        """After a checkpoint's arrays are loaded: the average's step count, and the settings' learning rates.

        An optimizer's saved state holds the rate it last used; the run's
        settings decide the rate from here on (they may have been changed with
        ``--allow-changes``).
        """
        if self.ema:
            self.ema.t, self.ema.stale = state.get("ema_t", 0), False
        self.opt_G.lr, self.opt_D.lr = self.cfg.lr_g or self.cfg.lr, self.cfg.lr_d or self.cfg.lr

    def before_save(self):
        if self.ema:
            self.averaged_generator()  # the saved average carries its own batchnorm statistics

    # ---- training ---------------------------------------------------------------------------------
    @property
    def batches_per_step(self):
        return self.cfg.d_steps

    def before_step(self, step, planned_steps):
        """With ``lr_decay="linear"``: lr constant for the first half of the planned steps, then linearly to 0.

        A function of the step and the planned length alone, so a resumed run
        gets the same rates (``max_steps`` may stop a run early; it does not
        change the schedule).
        """
        if self.cfg.lr_decay == "none":
            return
        factor = min(1.0, 2.0 * (1.0 - step / planned_steps))
        self.opt_G.lr = (self.cfg.lr_g or self.cfg.lr) * factor
        self.opt_D.lr = (self.cfg.lr_d or self.cfg.lr) * factor

    def step(self, batches):
        stats = self.gan.step(batches)
        if self.ema:
            self.ema.update()
        return stats

    # ---- sampling ---------------------------------------------------------------------------------
    # --8<-- [start:averaged-generator]
    def averaged_generator(self):
        """The weight-averaged G, its batchnorm statistics measured on 10 seeded batches of 256 draws."""
        if self.ema.stale:
            rng = np.random.default_rng([self.cfg.seed, 5])
            self.ema.recalibrate(self.prior.sample(256, rng, self.cfg.backend) for _ in range(10))
        return self.ema.shadow
    # --8<-- [end:averaged-generator]

    def sample(self, latent):
        """G(latent) in eval mode (batchnorm uses its running statistics); the averaged G if ``cfg.ema``."""
        if self.ema:
            return self.averaged_generator()(latent)
        self.G.eval()
        try:
            return self.G(latent)
        finally:
            self.G.train()

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
