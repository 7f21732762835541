r"""StackGAN (Zhang et al. 2017): a digit drawn from a sentence, rough at 14 x 14 first, then refined at 28 x 28.

The captions are MNIST's own (``minigan/coarse/captions.py``): "a thick seven slanted to the
right", the digit and two attributes measured from its pixels. A caption enters as its bag
of words t. Each stage's G has its own conditioning augmentation
(``layers/conditioning.py``): (μ, log σ²) from t, c = μ + σ ε, and the KL term::

    Stage I:   s_1 = G_1(z, c_1)                 14 x 14, a rough digit with the caption's shape
    Stage II:  s_2 = G_2(s_1, c_2)               28 x 28: s_1 through residual blocks, c_2 beside it

Each stage's D is matching-aware (Reed et al. 2016): it sees an image *with* a caption,
and learns three cases, a real image with its caption (1), a real image with a wrong
caption (0) and G's image with its caption (0)::

    L_D = BCE(D(x, t), 1) + ½ [BCE(D(x, t'), 0) + BCE(D(G(..), t), 0)]
    L_G = BCE(D(G(..), t), 1) + λ KL(N(μ, σ²) || N(0, I))

Stage I learns on the real digits' 14 x 14 images (2 x 2 means, ``pyramid.down``); Stage
II on the 28 x 28 digits, with a trained Stage I that does not move drawing its input.
By default a run trains Stage I for the first 70% of its steps and Stage II for the
rest; ``--stage 1`` trains Stage I alone, ``--stage 2 --stage1-run RUN`` trains Stage II
on the Stage I of a finished run. See docs/stackgan.md.
"""
import os
from dataclasses import dataclass

import numpy as np

from .. import metrics
from ..backend import to_device, to_numpy
from ..coarse import captions, pyramid
from ..gan.networks import conv_body
from ..gan.objectives import NonSaturating
from ..gan.priors import PriorError, refuse
from ..gan.step import add_d_term, loss_through_d
from ..nn import Sequential, evaluating
from ..nn.init import dcgan_init
from ..nn.layers import (BatchNorm1d, BatchNorm2d, Concat, ConditioningAugmentation, Conv2d, ConvTranspose2d, Dense,
                         Identity, LeakyReLU, Parallel, ReLU, Reshape, Tanh, Upsample2d, sigmoid)
from ..nn.losses import GaussianKL
from ..training.checkpoint import RunError, arrays_of, read_checkpoint
from ..training.config import ConfigError, OptimizerConfig, changed, integer, number, setting, text
from ..training.model import Model
from ..translation.data import thickness
from ..translation.networks import residual_block
from . import register

WORDS = len(captions.VOCABULARY)
STAGES = (1, 2)
SIDE = {1: 14, 2: 28}


# ---- the networks ------------------------------------------------------------------------------------


def stage1_generator(z_dim=32, c_dim=16, base=32, dtype=np.float32, rng=None):
    """(z, c) -> [z, c] -> Dense(2b*7*7), BN, ReLU -> (2b, 7, 7) -> ConvT4s2 (b, 14), BN, ReLU -> Conv3, tanh."""
    b, conv = base, dict(dtype=dtype, rng=rng)
    return dcgan_init(Sequential(
        Concat(), Dense(z_dim + c_dim, 2 * b * 7 * 7, bias=False, **conv), BatchNorm1d(2 * b * 7 * 7, dtype=dtype),
        ReLU(),
        Reshape(2 * b, 7, 7), ConvTranspose2d(2 * b, b, 4, stride=2, padding=1, bias=False, **conv),
        BatchNorm2d(b, dtype=dtype), ReLU(), Conv2d(b, 1, 3, padding=1, **conv), Tanh()), rng)


def stage2_generator(c_dim=16, base=32, blocks=2, dtype=np.float32, rng=None):
    """(s_1, c) -> [Conv3(s_1), c as 14 x 14 planes] -> Conv3 -> BN -> ReLU -> residual blocks -> up x2 -> 28 x 28.

    s_1 (1, 14) -Conv3, ReLU-> (b, 14); c (c_dim,) copied to every pixel -> (c_dim, 14); joined: (b + c_dim, 14)
    -Conv3, BN, ReLU-> (b, 14) -blocks-> (b, 14) -Upsample2d, Conv3, BN, ReLU-> (b/2, 28) -Conv3, tanh-> (1, 28).
    """
    b, conv = base, dict(dtype=dtype, rng=rng)
    return dcgan_init(Sequential(
        Parallel(Sequential(Conv2d(1, b, 3, padding=1, **conv), ReLU()),
                 Sequential(Reshape(c_dim, 1, 1), Upsample2d(14))), Concat(axis=1),
        Conv2d(b + c_dim, b, 3, padding=1, bias=False, **conv), BatchNorm2d(b, dtype=dtype), ReLU(),
        *[residual_block(b, norm="batch", dtype=dtype, rng=rng) for _ in range(blocks)],
        Upsample2d(2), Conv2d(b, b // 2, 3, padding=1, bias=False, **conv), BatchNorm2d(b // 2, dtype=dtype), ReLU(),
        Conv2d(b // 2, 1, 3, padding=1, **conv), Tanh()), rng)


def matching_discriminator(side, base=32, embed=16, dtype=np.float32, rng=None):
    """(image, t) -> [image | e(t) as planes] -> Conv4s2 -> LReLU -> Conv4s2 -> BN -> LReLU -> Dense -> logit.

    The layers after the join are the DCGAN D's (``networks.conv_body``) at this side.

    The caption's embedding e(t) = LReLU(Dense(t)) is copied to every pixel as ``embed`` planes
    beside the image (the conditional GAN's label planes, learned from the words), so that every
    convolution can check whether a stroke fits the caption. Joined only after the convolutions,
    as a vector beside the image's features, D learned to tell a wrong caption far more slowly
    (docs/stackgan.md).
    """
    conv = dict(dtype=dtype, rng=rng)
    words = Sequential(Dense(WORDS, embed, **conv), LeakyReLU(0.2), Reshape(embed, 1, 1), Upsample2d(side))
    return dcgan_init(Sequential(Parallel(Identity(), words), Concat(axis=1),              # [image | e(t) planes]
                                 *conv_body(1 + embed, base, side, **conv)), rng)


class Stage:
    """One stage's GAN: its conditioning augmentation, G and D, and their optimizers (G's covers the augmentation)."""

    def __init__(self, k, ca, G, D, opt_G=None, opt_D=None):
        self.k, self.ca, self.G, self.D, self.opt_G, self.opt_D = k, ca, G, D, opt_G, opt_D

    def modules(self):
        return {f"CA{self.k}": self.ca, f"G{self.k}": self.G, f"D{self.k}": self.D}


# ---- what G is fed ---------------------------------------------------------------------------------------


class CaptionPrior:
    """A sample's inputs: the caption's bag of words t, z for Stage I, and ε for each stage's augmentation.

    ``caption="a thin upright two"`` fixes the caption (``generate.py --caption``); otherwise each
    sample gets a caption of :data:`EVAL_CAPTIONS`, drawn uniformly. Returns a dict.
    """

    fed = "noise and a caption (--caption)"

    def __init__(self, z_dim, c_dim):
        self.z_dim, self.c_dim = z_dim, c_dim

    def sample(self, n, rng, backend="numpy", dtype=np.float32, caption=None, **fixed):
        refuse(self, fixed)
        if caption is None:
            texts = [EVAL_CAPTIONS[i] for i in rng.integers(0, len(EVAL_CAPTIONS), n)]
        else:
            try:
                captions.parse(caption)
            except captions.CaptionError as exc:
                raise PriorError(f"--caption: {exc}") from None
            texts = [caption] * n
        z = rng.standard_normal((n, self.z_dim))
        eps = {k: rng.standard_normal((n, self.c_dim)) for k in STAGES}
        out = {"t": captions.bag_of_words(texts), "z": z, "eps": eps}
        moved = {k: to_device(v.astype(dtype), backend) for k, v in out.items() if k != "eps"}
        moved["eps"] = {k: to_device(v.astype(dtype), backend) for k, v in eps.items()}
        moved["texts"] = texts
        return moved


#: the captions the judging asks for: every digit, thickness and slant, in the first phrasing
COMBINATIONS = [(d, t, s) for d in range(10) for t in range(3) for s in range(3)]
EVAL_CAPTIONS = [captions.caption(d, t, s) for d, t, s in COMBINATIONS]


# ---- settings ------------------------------------------------------------------------------------------------


def _stage(v):
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v not in STAGES):
        return "must be 1 (Stage I alone), 2 (Stage II on a finished Stage I: --stage1-run) or unset (both)"


def _folder_or_unset(v):
    if v is not None and (not isinstance(v, str) or not v):
        return "must be a run folder (or unset)"


@dataclass
class Config(OptimizerConfig):
    """StackGAN at MNIST size: Stage I at 14 x 14, Stage II at 28 x 28, matching-aware Ds; Adam 2e-4 (0.5, 0.999)."""

    model: str = setting("stackgan", cli=False, kind="structure")
    out: str = setting("runs/stackgan", "the run folder", text, kind="run")
    epochs: int = setting(11, "passes over the captioned training digits, both stages", integer(1), kind="run")
    stage: int = setting(None, "train one stage: 1 (Stage I alone) or 2 (Stage II, on --stage1-run's Stage I); "
                               "unset: Stage I for --stage1-share of the steps, then Stage II", _stage,
                         kind="structure")
    stage1_share: float = setting(0.7, "with both stages: the share of the run's steps that train Stage I, the first "
                                       "ones (a 14 x 14 step costs a fifth of Stage II's)",
                                  number(0, 1, low_open=True, high_open=True), kind="structure")
    stage1_run: str = setting(None, "--stage 2: the run folder whose trained Stage I draws Stage II's input "
                                    "(unset otherwise)", _folder_or_unset, kind="structure")
    eval_per_caption: int = setting(1000, "at most this many samples scored per caption at the end (90 captions: "
                                          "every digit, thickness and slant); the count is min(this, "
                                          "max(10, --eval-samples // 90)), so --eval-samples bounds the whole "
                                          "(--eval-samples 90000: 1,000 each)", integer(10), kind="run")
    z_dim: int = setting(32, "size of Stage I's noise z", integer(1), kind="structure")
    c_dim: int = setting(16, "size of the condition c drawn from each caption", integer(1), kind="structure")
    base: int = setting(32, "channels of the convolutions (Stage I's 7 x 7 has 2 base)", integer(2),
                        kind="structure")
    blocks: int = setting(2, "Stage II's residual blocks", integer(0), kind="structure")
    kl: float = setting(0.1, "λ, the weight of the augmentation's KL term in G's loss (the paper's 1 drowns the "
                             "caption here: docs/stackgan.md)", number(0))

    def check(self):
        if self.stage == 2 and self.stage1_run is None:
            return ("--stage 2: trains Stage II on a trained Stage I; name its run with --stage1-run RUN (or drop "
                    "--stage to train both)")
        if self.stage1_run is not None and self.stage != 2:
            return f"--stage1-run {self.stage1_run!r}: applies with --stage 2; drop it or set --stage 2"
        if changed(self, "stage1_share") and self.stage is not None:
            return (f"--stage1-share {self.stage1_share!r}: splits a run that trains both stages, and --stage "
                    f"{self.stage} trains one; drop it")
        if self.stage == 1 and changed(self, "blocks"):
            return f"--blocks {self.blocks!r}: Stage II's, and --stage 1 trains Stage I alone; drop it"
        return super().check()


# ---- the model --------------------------------------------------------------------------------------------------


@register
class StackGAN(Model):
    """Two stages, each a conditional GAN with a matching-aware D; Stage II refines Stage I's images."""

    name = "stackgan"
    Config = Config
    description = ("Train StackGAN (Zhang et al. 2017) on MNIST with captions made from the digits: Stage I draws "
                   "14 x 14 from the caption, Stage II refines it to 28 x 28.")
    pictures_written = ("captions",)

    def __init__(self, cfg):
        super().__init__(cfg)
        rng = np.random.default_rng(cfg.seed)
        self.stages = {}
        for k in STAGES:
            if k == 2 and cfg.stage == 1:
                continue
            ca = ConditioningAugmentation(WORDS, cfg.c_dim, rng=rng)
            G = (stage1_generator(cfg.z_dim, cfg.c_dim, cfg.base, rng=rng) if k == 1 else
                 stage2_generator(cfg.c_dim, cfg.base, cfg.blocks, rng=rng))
            D = matching_discriminator(SIDE[k], cfg.base, rng=rng)
            stage = self.stages[k] = Stage(k, ca.to(cfg.backend), G.to(cfg.backend), D.to(cfg.backend))
            if k in self.trained_stages:                        # a Stage I that only draws Stage II's input keeps still
                stage.opt_G = self.optimizer(f"opt_G{k}", stage.ca.parameters() + stage.G.parameters())
                stage.opt_D = self.optimizer(f"opt_D{k}", stage.D.parameters())
        if cfg.stage == 2:
            self.load_stage1(cfg.stage1_run)
        self.objective, self.kl = NonSaturating(), GaussianKL()
        self.prior = CaptionPrior(cfg.z_dim, cfg.c_dim)
        self.noise_rng = np.random.default_rng([cfg.seed, 1])
        self.training_stage = 1 if cfg.stage in (None, 1) else 2
        self.fixed_latent = self.grid_latent()
        self.panels = {f"D output, Stage {k}": ((f"d_real_{k}", f"d_wrong_{k}", f"d_fake_{k}"), 0.5)
                       for k in self.trained_stages}
        self._test = None

    @property
    def trained_stages(self):
        return {None: STAGES, 1: (1,), 2: (2,)}[self.cfg.stage]

    def load_stage1(self, folder):
        """Stage I's augmentation and G from a finished run's checkpoint; one clear line where there is none."""
        path = os.path.join(folder, "checkpoint.npz")
        if not os.path.exists(path):
            raise ConfigError(f"--stage1-run {folder!r}: no checkpoint there (train Stage I first: "
                              "examples/train_stackgan.py --stage 1)")
        try:
            meta, arrays = read_checkpoint(path)
        except RunError as exc:
            raise ConfigError(f"--stage1-run {folder!r}: {exc}") from None
        saved = meta.get("config", {})
        if saved.get("model") != "stackgan" or saved.get("stage") == 2 or not meta.get("step"):
            raise ConfigError(f"--stage1-run {folder!r}: holds a {saved.get('model')} run without a trained Stage I "
                              "(train one: examples/train_stackgan.py --stage 1)")
        for setting_name in ("z_dim", "c_dim", "base"):
            if saved.get(setting_name) != getattr(self.cfg, setting_name):
                raise ConfigError(f"--stage1-run {folder!r}: its Stage I has --{setting_name.replace('_', '-')} "
                                  f"{saved.get(setting_name)!r}, this run {getattr(self.cfg, setting_name)!r}; "
                                  "set the same")
        stage = self.stages[1]
        for name, module in (("CA1", stage.ca), ("G1", stage.G)):
            module.load_state_dict(arrays_of(arrays, name))
            module.to(self.cfg.backend)

    # ---- the data ------------------------------------------------------------------------------------------
    @classmethod
    def training_streams(cls, cfg):
        data = captions.load("train", data_dir=cfg.data_dir, limit=cfg.limit)
        return [(data.images, captions.bag_of_words(data.captions))]

    def example_batch(self, rng, n):
        t = captions.bag_of_words([EVAL_CAPTIONS[i] for i in rng.integers(0, len(EVAL_CAPTIONS), n)])
        return rng.uniform(-1, 1, (n, 1, 28, 28)).astype(np.float32), t

    # ---- what a checkpoint holds ---------------------------------------------------------------------------
    def modules(self):
        out = {}
        for stage in self.stages.values():
            out.update(stage.modules())
        return out

    def rngs(self):
        return {"noise": self.noise_rng}

    def state(self):
        return {"training_stage": self.training_stage}

    def load_state(self, state):
        self.training_stage = state.get("training_stage", self.training_stage)
        super().load_state(state)

    # ---- training ------------------------------------------------------------------------------------------
    def before_step(self, step, planned_steps):
        """Both stages in one run: Stage I for the first ``stage1_share`` of the planned steps, then Stage II."""
        super().before_step(step, planned_steps)                # --lr-decay
        if self.cfg.stage is None:
            self.training_stage = 1 if step < round(planned_steps * self.cfg.stage1_share) else 2

    def noise(self, n, size, dtype):
        """(n, size) draws of N(0, 1) from the run's noise generator, on the backend: z, or an augmentation's ε."""
        return to_device(self.noise_rng.standard_normal((n, size)).astype(dtype), self.cfg.backend)

    def step(self, batches):
        (x, t), = batches                                       # digits (N, 1, 28, 28), captions' bags of words
        n, z_dim, c_dim = len(x), self.cfg.z_dim, self.cfg.c_dim
        stage = self.stages[self.training_stage]
        if stage.k == 1:
            real = pyramid.down(x)                              # Stage I learns the 14 x 14 digits
            c, mu, log_var = stage.ca((t, self.noise(n, c_dim, x.dtype)))   # c_1 = μ + σ ε from the caption
            given = (self.noise(n, z_dim, x.dtype), c)          # G_1's input: (z, c_1)
        else:
            real = x
            s1 = self.stage1_images(t, self.noise(n, z_dim, x.dtype), self.noise(n, c_dim, x.dtype))   # fixed
            c, mu, log_var = stage.ca((t, self.noise(n, c_dim, x.dtype)))
            given = (s1, c)                                     # G_2's input: (s_1, c_2)
        fake = stage.G(given)
        wrong = t[np.roll(np.arange(n), 1)]                     # each digit with the previous one's caption
        stats = self.d_gradients(stage, real, fake, t, wrong)
        stage.opt_D.step()
        stats.update(self.g_gradients(stage, fake, t, mu, log_var))
        stage.opt_G.step()
        return {f"{name}_{stage.k}": value for name, value in stats.items()}

    def d_gradients(self, stage, real, fake, t, wrong):
        """D's .grad for BCE(D(x, t), 1) + ½ [BCE(D(x, t'), 0) + BCE(D(G(..), t), 0)], the matching-aware loss."""
        half = real.dtype.type(0.5)
        stage.D.zero_grad()
        real_term, out_real = add_d_term(stage.D, self.objective.d_real, (real, t))              # a real pair: 1
        wrong_term, out_wrong = add_d_term(stage.D, self.objective.d_fake, (real, wrong), half)   # a wrong caption: 0
        fake_term, out_fake = add_d_term(stage.D, self.objective.d_fake, (fake, t), half)        # G's image: 0
        loss = real_term + half * wrong_term + half * fake_term    # L_D, the matching-aware loss
        return dict(d_loss=loss, d_real=sigmoid(out_real).mean(), d_wrong=sigmoid(out_wrong).mean(),
                    d_fake=sigmoid(out_fake).mean())                                         # D's mean output on each

    def g_gradients(self, stage, fake, t, mu, log_var):
        """The .grad of G and its augmentation for BCE(D(G(..), t), 1) + λ KL(N(μ, σ²) || N(0, I))."""
        g_gan, (dfake, _) = loss_through_d(stage.D, self.objective.g, (fake, t))   # -log D(G(..), t), dL/dG(..)
        kl, (dmu, dlog_var) = self.kl(mu, log_var)              # the closed form and its gradient (losses.py)
        lam = mu.dtype.type(self.cfg.kl)
        stage.ca.zero_grad()
        stage.G.zero_grad()
        dgiven = stage.G.backward(dfake)                        # (d first input, dL/dc)
        stage.ca.backward((dgiven[1], lam * dmu, lam * dlog_var))   # through c = μ + σ ε, plus λ dKL
        return dict(g_loss=g_gan + self.cfg.kl * kl, g_gan=g_gan, kl=kl)

    # ---- drawing -------------------------------------------------------------------------------------------
    def stage1_images(self, t, z, eps):
        """s_1 = G_1(z, c_1) in eval mode, the Stage I that Stage II refines (it does not move)."""
        stage = self.stages[1]
        with evaluating(stage.ca, stage.G):
            return stage.G((z, stage.ca((t, eps))[0]))

    def draw_both(self, latent):
        """(s_1, s_2) for a prior's draw: Stage I's 14 x 14 images and, with a Stage II, its 28 x 28 ones."""
        s1 = self.stage1_images(latent["t"], latent["z"], latent["eps"][1])
        if 2 not in self.stages:
            return s1, None
        stage = self.stages[2]
        with evaluating(stage.ca, stage.G):
            return s1, stage.G((s1, stage.ca((latent["t"], latent["eps"][2]))[0]))

    def sample(self, latent):
        """The run's final images: Stage II's, or Stage I's upsampled to 28 x 28 by pixel copies (--stage 1)."""
        s1, s2 = self.draw_both(latent)
        return s2 if s2 is not None else pyramid.up(s1)

    def generate(self, n, seed=0, batch_size=500, caption=None):
        """(Stage I upsampled, Stage II or None) of ``n`` samples as NumPy arrays, seeded by (cfg.seed, 4, seed)."""
        rng = np.random.default_rng([self.cfg.seed, 4, seed])
        one, two = [], []
        for i in range(0, n, batch_size):
            s1, s2 = self.draw_both(self.prior.sample(min(batch_size, n - i), rng, self.cfg.backend, caption=caption))
            one.append(to_numpy(pyramid.up(s1)))
            two.append(None if s2 is None else to_numpy(s2))
        return np.concatenate(one), (None if two[0] is None else np.concatenate(two))

    # ---- pictures ------------------------------------------------------------------------------------------
    def grid_latent(self):
        """Ten captions, one a row (every digit; thin / medium / thick, left / upright / right in turn), ten draws."""
        rows = [captions.caption(d, d % 3, (d // 3) % 3, d % len(captions.PHRASINGS)) for d in range(10)]
        rng = np.random.default_rng([self.cfg.seed, 2])
        latent = self.prior.sample(100, rng, self.cfg.backend)
        latent["t"] = to_device(captions.bag_of_words([r for r in rows for _ in range(10)]), self.cfg.backend)
        latent["texts"] = rows
        return latent

    def grid(self):
        """The fixed captions' samples from the stage in training: Stage I's enlarged while it learns, then II's."""
        s1, s2 = self.draw_both(self.fixed_latent)
        return to_numpy(s2 if s2 is not None and self.training_stage == 2 else pyramid.up(s1)), 10

    def pictures(self):
        """captions.png: the grid with each row's caption written beside it."""
        images, nrow = self.grid()
        return {"captions": (images, nrow, self.fixed_latent["texts"])}

    # ---- judging -------------------------------------------------------------------------------------------
    def per_caption(self, n):
        """Samples judged per caption when the metrics get ``n`` samples: ``n`` shared by the 90 captions
        (10 at least), and ``--eval-per-caption`` at most."""
        return min(self.cfg.eval_per_caption, max(10, n // len(COMBINATIONS)))

    def evaluate(self, n, seed=0):
        """Does each caption hold, on :meth:`per_caption` samples of each of the 90 captions; and FID by stage.

        FID and score: ``n`` samples for the test split's own captions, Stage II's beside Stage I's
        upsampled. Per caption: how often the classifier reads the named digit, how often the
        measured thickness and slant fall in the named class, and the mean thickness.
        """
        test = captions.load("test", data_dir=self.cfg.data_dir)
        texts = test.captions[:n]
        rng = np.random.default_rng([self.cfg.seed, 4, seed])
        one, two = [], []
        for i in range(0, len(texts), 500):
            latent = self.prior.sample(len(texts[i:i + 500]), rng, self.cfg.backend)
            latent["t"] = to_device(captions.bag_of_words(texts[i:i + 500]), self.cfg.backend)
            s1, s2 = self.draw_both(latent)
            one.append(to_numpy(pyramid.up(s1)))
            two.append(None if s2 is None else to_numpy(s2))
        report = {"stage1": metrics.evaluate_samples(np.concatenate(one), data_dir=self.cfg.data_dir)}
        final = report["stage1"]
        if two[0] is not None:
            report["stage2"] = final = metrics.evaluate_samples(np.concatenate(two), data_dir=self.cfg.data_dir)
        report.update(fid=final["fid"], score=final["score"], histogram=final["histogram"], n=len(texts))
        report["per_caption"] = self.per_caption(n)
        report["captions"] = self.judge_captions(report["per_caption"], seed)
        return report

    def judge_captions(self, per_caption, seed=0):
        """For each of the 90 captions: the named digit read, the named thickness and slant measured, mean thickness."""
        rows = []
        for i, (d, t, s) in enumerate(COMBINATIONS):
            one, two = self.generate(per_caption, seed=seed * 1000 + i, caption=EVAL_CAPTIONS[i])
            images = two if two is not None else one
            got_t, got_s = captions.attributes(images)
            digits = metrics.digit_accuracy(images, np.full(len(images), d))["overall"]
            rows.append(dict(digit=d, thickness=t, slant=s, held_out=(d, t, s) in captions.HELD_OUT,
                             digit_read=digits, thickness_held=float(np.mean(got_t == t)),
                             slant_held=float(np.mean(got_s == s)), mean_thickness=float(thickness(images).mean())))
        return rows

    def format_report(self, report):
        lines = [metrics.format_report("Stage I", report["stage1"])]
        if "stage2" in report:
            lines.append(metrics.format_report("Stage II", report["stage2"]))
        lines += caption_summary(report["captions"], report.get("per_caption"))
        return "\n".join(lines)


def caption_figures(rows):
    """The bars' numbers from :meth:`StackGAN.judge_captions`'s rows: each question's mean and worst caption,
    and for how many digits the captions named thick measure thicker than those named thin."""
    named = [r for r in rows if r["thickness"] != 1]             # thin and thick: the terciles at either end

    def spread(key, among):
        values = [r[key] for r in among]
        worst = min(among, key=lambda r: r[key])
        return dict(mean=float(np.mean(values)), min=float(min(values)),
                    worst=captions.caption(worst["digit"], worst["thickness"], worst["slant"]))

    by_digit = {d: {t: np.mean([r["mean_thickness"] for r in rows if r["digit"] == d and r["thickness"] == t])
                    for t in (0, 2)} for d in range(10)}
    return dict(digit=spread("digit_read", rows), thickness=spread("thickness_held", named),
                medium=spread("thickness_held", [r for r in rows if r["thickness"] == 1]),
                slant=spread("slant_held", rows),
                thick_over_thin=int(sum(by_digit[d][2] > by_digit[d][0] for d in range(10))))


def caption_summary(rows, per_caption=None):
    """Two lines: each question's mean and worst caption, and thick against thin (``per_caption`` samples each)."""
    f = caption_figures(rows)
    each = f" ({per_caption} samples each)" if per_caption else ""

    def show(key):
        return f"{100 * f[key]['mean']:.1f}% (worst {100 * f[key]['min']:.1f}%, '{f[key]['worst']}')"
    return [f"  captions{each}: digit read {show('digit')}; named slant {show('slant')}",
            f"            thin/thick in the named tercile {show('thickness')}; medium "
            f"{100 * f['medium']['mean']:.1f}%; captioned thick thicker than thin for {f['thick_over_thin']} of 10 "
            "digits"]
