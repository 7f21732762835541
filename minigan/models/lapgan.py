r"""LAPGAN (Denton et al. 2015): a digit drawn coarse to fine, through a Laplacian pyramid 7 -> 14 -> 28.

The pyramid (``minigan/coarse/pyramid.py``, docs/pyramid.md) splits a digit x into a
7 x 7 image and the detail each finer level adds::

    I_0 = x,  I_1 = d(I_0),  I_2 = d(I_1)          28 x 28, 14 x 14, 7 x 7
    h_k = I_k - u(I_{k+1})                        the residuals at 28 x 28 (k = 0) and 14 x 14 (k = 1)

LAPGAN has one GAN per level, and draws a digit from the top::

    I~_2 = G_2(z_2)                               level 2: a GAN of 7 x 7 images (fully connected)
    I~_1 = u(I~_2) + G_1(z_1, u(I~_2))            level 1: the 14 x 14 residual, given the coarse image
    I~_0 = u(I~_1) + G_0(z_0, u(I~_1))            level 0: the 28 x 28 residual

z_1 and z_0 are planes of noise beside the coarse image. Each level is a GAN
of its own, trained on the real digits' pyramids: level k's D sees a residual
*with* the coarse image it belongs to, the real h_k with u(I_{k+1}), or G_k's
residual drawn for that same u(I_{k+1}); BCE for D, the non-saturating -log D
for G. No gradient runs from one level to another, so the levels train side by
side on each batch (as here) or one at a time (``--level k``), as the paper
trains them. ``--conditional`` gives every G and D the digit's label too (the
paper's class-conditional model). See docs/lapgan.md.
"""
import functools
from dataclasses import dataclass

import numpy as np

from .. import metrics
from ..backend import to_device, to_numpy
from ..coarse import pyramid
from ..data import load_mnist
from ..gan.networks import NUM_CLASSES, conv_body, label_planes, label_vector, mlp_body, mlp_generator
from ..gan.objectives import NonSaturating
from ..gan.priors import PriorError, check_digit, refuse
from ..gan.step import add_d_loss, loss_through_d
from ..nn import Sequential, evaluating
from ..nn.init import dcgan_init
from ..nn.layers import BatchNorm2d, Concat, Conv2d, Flatten, Identity, Parallel, ReLU
from ..training.config import OptimizerConfig, boolean, changed, integer, setting, text
from ..training.model import Model
from . import register

SIDE = {0: 28, 1: 14, 2: 7}                                   # level k's images: 28 / 2^k
DRAWS = {0: "the 28 x 28 residual h_0", 1: "the 14 x 14 residual h_1", 2: "the 7 x 7 image I_2"}   # level k's G
LEVELS = (2, 1, 0)                                             # the order a sample is drawn in: coarse to fine
#: the settings that size one kind of level: {setting: (what it sizes, the levels that have it)}
LEVEL_SETTINGS = {"z_dim": ("the 7 x 7 GAN's noise (level 2)", (2,)),
                  "hidden": ("the 7 x 7 GAN's layers (level 2)", (2,)),
                  "base": ("the residual levels' convolutions (levels 1 and 0)", (1, 0)),
                  "depth1": ("the 14 x 14 residual's G (level 1)", (1,)),
                  "depth0": ("the 28 x 28 residual's G (level 0)", (0,))}


# ---- the networks of one level -----------------------------------------------------------------------


def coarse_networks(z_dim=32, hidden=256, conditional=False, dtype=np.float32, rng=None):
    """Level 2, a GAN of 7 x 7 images: the MLP GAN's bodies (``networks.py``) at 49 pixels.

    G: z (or [z, onehot(y)]) -> [Dense(h) -> BN -> LReLU] x 2 -> Dense(49) -> tanh -> (1, 7, 7).
    D: flatten (and [x, onehot(y)]) -> [Dense(h) -> LReLU] x 2 -> Dense(1): a logit.
    """
    k = NUM_CLASSES if conditional else 0
    g = mlp_generator(z_dim + k, (hidden, hidden), 49, (1, 7, 7), dtype=dtype, rng=rng)
    body = mlp_body(49 + k, (hidden, hidden), dtype=dtype, rng=rng)
    if not conditional:
        return g, Sequential(Flatten(), *body)
    G = Sequential(Parallel(Identity(), label_vector("onehot", k, dtype)), Concat(), *g.layers)   # (z, y) -> [z, y]
    D = Sequential(Parallel(Flatten(), label_vector("onehot", k, dtype)), Concat(), *body)        # (x, y) -> [x, y]
    return G, D


def residual_networks(side, base=32, depth=2, conditional=False, dtype=np.float32, rng=None):
    """Levels 1 and 0: G draws a residual from noise and the coarse image, D judges the pair.

    G: (z plane, u(I_{k+1}) [, y]) -> planes stacked -> [Conv3 -> BN -> ReLU] x depth -> Conv3 -> R -> h
       (no tanh: a residual is a difference of two images, in [-2, 2], mostly near 0; R = pyramid.Detail
       removes the 2 x 2 means, which every real residual has at zero)
    D: (h, u(I_{k+1}) [, y]) -> planes stacked -> Conv4s2 -> LReLU -> Conv4s2 -> BN -> LReLU -> Dense -> logit
       (``networks.conv_body``, the DCGAN D's layers at this side)
    With ``conditional``, ten one-hot label planes join the stack (``networks.label_planes``).
    ``depth`` sets how far G sees: depth + 1 convolutions of 3 x 3 see 2 depth + 3 pixels across.
    """
    b, conv = base, dict(dtype=dtype, rng=rng)
    labels = [label_planes("onehot", side, dtype)] if conditional else []
    c = 2 + (NUM_CLASSES if conditional else 0)
    hidden = []
    for i in range(depth):
        hidden += [Conv2d(c if i == 0 else b, b, 3, padding=1, bias=False, **conv), BatchNorm2d(b, dtype=dtype), ReLU()]
    G = Sequential(Parallel(Identity(), Identity(), *labels), Concat(axis=1), *hidden,
                   Conv2d(b if depth else c, 1, 3, padding=1, **conv), pyramid.Detail())
    D = Sequential(Parallel(Identity(), Identity(), *labels), Concat(axis=1),          # the DCGAN D's body
                   *conv_body(c, b, side, **conv))
    return dcgan_init(G, rng), dcgan_init(D, rng)


class Level:
    """One level's GAN: its G and D, and their optimizers."""

    def __init__(self, k, G, D, opt_G, opt_D):
        self.k, self.G, self.D, self.opt_G, self.opt_D = k, G, D, opt_G, opt_D


def pack(first, given):
    """A network's input: ``first`` alone, or (first, *given) when the level is given more (coarse image, label)."""
    return (first, *given) if given else first


# ---- what G is fed -----------------------------------------------------------------------------------


class PyramidPrior:
    """Everything one LAPGAN sample is drawn from: z_2 (z_dim), the noise planes z_1 (14 x 14) and z_0 (28 x 28),
    and, for the class-conditional model, the digit y. A dict ``{"z": {2: .., 1: .., 0: ..}, "y": y or None}``."""

    def __init__(self, z_dim, conditional):
        self.z_dim, self.conditional = z_dim, conditional
        self.fed = "noise and a digit (--digit)" if conditional else "noise only"

    def sample(self, n, rng, backend="numpy", dtype=np.float32, digit=None, **fixed):
        refuse(self, fixed)
        if digit is not None and not self.conditional:
            raise PriorError(f"--digit {digit!r}: this LAPGAN is unconditional (trained without --conditional), "
                             "so it cannot be asked for a digit")
        check_digit(digit, NUM_CLASSES)
        z = {2: rng.standard_normal((n, self.z_dim)), 1: rng.standard_normal((n, 1, 14, 14)),
             0: rng.standard_normal((n, 1, 28, 28))}
        y = None
        if self.conditional:
            y = rng.integers(0, NUM_CLASSES, n) if digit is None else np.full(n, int(digit))
            y = to_device(y.astype(np.int64), backend)
        return {"z": {k: to_device(v.astype(dtype), backend) for k, v in z.items()}, "y": y}

    def grid(self, rng, backend="numpy", dtype=np.float32):
        """64 draws, 8 a row; the class-conditional model: row k draws digit k, ten draws a row."""
        if not self.conditional:
            return self.sample(64, rng, backend, dtype), 8
        latent = self.sample(100, rng, backend, dtype)
        latent["y"] = to_device(np.repeat(np.arange(NUM_CLASSES), 10), backend)
        return latent, 10


# ---- settings ------------------------------------------------------------------------------------------


def _level(v):
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v not in SIDE):
        return "must be 0 (the 28 x 28 residual), 1 (the 14 x 14 residual), 2 (the 7 x 7 image) or unset (all three)"


@dataclass
class Config(OptimizerConfig):
    """LAPGAN at MNIST size: an MLP GAN at 7 x 7, conv residual GANs at 14 and 28; Adam 2e-4 (0.5, 0.999)."""

    model: str = setting("lapgan", cli=False, kind="structure")
    out: str = setting("runs/lapgan", "the run folder", text, kind="run")
    epochs: int = setting(5, "passes over the training images", integer(1), kind="run")
    level: int = setting(None, "train one level alone: 2 the 7 x 7 GAN, 1 the 14 x 14 residual, 0 the 28 x 28 "
                               "residual (unset: all three, side by side)", _level, kind="structure")
    conditional: bool = setting(False, "give every level's G and D the digit's label (the paper's class-conditional "
                                       "model; generate.py --digit)", boolean, kind="structure")
    z_dim: int = setting(32, "size of the 7 x 7 GAN's noise vector z_2", integer(1), kind="structure")
    hidden: int = setting(256, "width of the 7 x 7 GAN's two hidden layers, in G and in D", integer(1),
                          kind="structure")
    depth1: int = setting(6, "hidden convolutions of the 14 x 14 residual's G: it must draw strokes from a 7 x 7 blur, "
                             "and sees 2 depth + 3 pixels across", integer(0), kind="structure")
    depth0: int = setting(2, "hidden convolutions of the 28 x 28 residual's G (it sharpens edges: 7 pixels across "
                             "are enough)", integer(0), kind="structure")
    coarse_steps: int = setting(6, "updates of the 7 x 7 GAN per step: one on the batch, the rest on 7 x 7 digits "
                                   "drawn at random from the training set (an update costs a fortieth of a residual "
                                   "level's, and the finer levels can only refine what it draws)", integer(1))
    base: int = setting(32, "channels of the residual levels' convolutions (D's second doubles them)", integer(1),
                        kind="structure")

    @property
    def levels(self):
        """The levels this run trains, coarse to fine."""
        return LEVELS if self.level is None else (self.level,)

    def check(self):
        if changed(self, "coarse_steps") and self.level is not None and self.level != 2:
            return (f"--coarse-steps {self.coarse_steps!r}: the 7 x 7 GAN's, and --level {self.level} trains "
                    f"{DRAWS[self.level]} alone; drop it")
        if self.level is not None:
            for name, (what, used_by) in LEVEL_SETTINGS.items():
                if changed(self, name) and self.level not in used_by:
                    return (f"--{name.replace('_', '-')} {getattr(self, name)!r}: sizes {what}, and --level "
                            f"{self.level} trains {DRAWS[self.level]} alone; drop it")
        return super().check()


# ---- the model --------------------------------------------------------------------------------------------


@register
class LAPGAN(Model):
    """Three GANs, one per level of the pyramid; each step trains every level (or ``--level k``) on one batch."""

    name = "lapgan"
    Config = Config
    description = ("Train LAPGAN (Denton et al. 2015) on MNIST: a 7 x 7 GAN, then the 14 x 14 and 28 x 28 residuals "
                   "of a Laplacian pyramid.")
    pictures_written = ("pyramid",)

    def __init__(self, cfg):
        super().__init__(cfg)
        rng = np.random.default_rng(cfg.seed)
        self.levels = {}
        for k in cfg.levels:
            if k == 2:
                G, D = coarse_networks(cfg.z_dim, cfg.hidden, cfg.conditional, rng=rng)
            else:
                G, D = residual_networks(SIDE[k], cfg.base, getattr(cfg, f"depth{k}"), cfg.conditional, rng=rng)
            G, D = G.to(cfg.backend), D.to(cfg.backend)
            self.levels[k] = Level(k, G, D, self.optimizer(f"opt_G{k}", G.parameters()),
                                   self.optimizer(f"opt_D{k}", D.parameters()))
        self.objective = NonSaturating()
        self.prior = PyramidPrior(cfg.z_dim, cfg.conditional)
        self.noise_rng = np.random.default_rng([cfg.seed, 1])
        self.coarse_rng = np.random.default_rng([cfg.seed, 3])     # the 7 x 7 GAN's extra batches
        self.fixed_latent, self.grid_nrow = self.prior.grid(np.random.default_rng([cfg.seed, 2]), cfg.backend)
        self.panels = {f"D output, level {k}": ((f"d_real_{k}", f"d_fake_{k}"), 0.5) for k in cfg.levels}
        self._test = None

    # ---- what a checkpoint holds ---------------------------------------------------------------
    def modules(self):
        return {f"{net}{k}": getattr(level, net) for k, level in self.levels.items() for net in ("G", "D")}

    def rngs(self):
        return {"noise": self.noise_rng, "coarse": self.coarse_rng}

    # ---- the step ------------------------------------------------------------------------------
    def step(self, batches):
        (x, y), = batches                                      # real digits (N, 1, 28, 28) and their labels
        images = pyramid.gaussian(x)                           # [I_0, I_1, I_2]: 28, 14, 7
        label = (y,) if self.cfg.conditional else ()
        stats = {}
        for k in self.cfg.levels:                              # each level on its own: no gradient between them
            if k == 2:
                real, given = images[2], label                 # the 7 x 7 image, and the label if any
                for _ in range(self.cfg.coarse_steps - 1):        # the cheap level learns more often
                    stats.update(self.level_step(self.levels[2], *self.coarse_batch(len(x), x.dtype)))
            else:
                coarse = pyramid.up(images[k + 1])             # u(I_{k+1})
                real, given = images[k] - coarse, (coarse, *label)   # h_k = I_k - u(I_{k+1}), with its coarse image
            stats.update(self.level_step(self.levels[k], real, given))
        return stats

    def level_step(self, level, real, given):
        """One D update, then one G update, of one level: real is I_2 or h_k, ``given`` what both nets see beside it.

        The original GAN's step (``GANModel.step``), with the coarse image (and the label) beside
        the real and the fake alike.
        """
        z = self.draw_noise(level.k, len(real), real.dtype)
        fake = level.G(pack(z, given))                         # G_k(z_k [, u(I_{k+1})] [, y])
        stats = self.d_gradients(level, real, fake, given)
        level.opt_D.step()
        stats.update(self.g_gradients(level, fake, given))     # through the D just updated
        level.opt_G.step()
        return {f"{name}_{level.k}": value for name, value in stats.items()}

    def d_gradients(self, level, real, fake, given):
        """D_k's .grad for -log D(real, given) - log(1 - D(fake, given)): the same coarse image beside both."""
        level.D.zero_grad()
        d_loss, out_real, out_fake = add_d_loss(level.D, self.objective, pack(real, given), pack(fake, given))
        return dict(d_loss=d_loss, **self.objective.stats(out_real, out_fake))

    def g_gradients(self, level, fake, given):
        """G_k's .grad for -log D(G(z, given), given), through a D that does not move.

        ``fake`` is G_k's output from this step's forward: G's caches still hold it.
        """
        g_loss, dx = loss_through_d(level.D, self.objective.g, pack(fake, given))   # -log D(fake, given)
        level.G.zero_grad()
        level.G.backward(dx[0] if given else dx)               # dL/dθ_G = dL/dG(...) dG(...)/dθ_G (the residual's part)
        return dict(g_loss=g_loss)

    def coarse_batch(self, n, dtype):
        """(I_2, (y,) or ()) of ``n`` training digits drawn at random: the 7 x 7 GAN's extra updates."""
        images, labels = coarse_digits(self.cfg.data_dir, self.cfg.limit)
        idx = self.coarse_rng.integers(0, len(images), n)
        real = to_device(images[idx].astype(dtype), self.cfg.backend)
        return real, ((to_device(labels[idx], self.cfg.backend),) if self.cfg.conditional else ())

    def draw_noise(self, k, n, dtype):
        """z_k for a batch: (n, z_dim) at level 2, a plane (n, 1, side, side) at the residual levels."""
        shape = (n, self.cfg.z_dim) if k == 2 else (n, 1, SIDE[k], SIDE[k])
        return to_device(self.noise_rng.standard_normal(shape).astype(dtype), self.cfg.backend)

    # ---- drawing through the pyramid -------------------------------------------------------------
    def draw(self, latent):
        """[I~_0, I~_1, I~_2]: a sample at each level, drawn from the top (eval mode); needs all three levels."""
        if self.cfg.level is not None:
            raise PriorError(f"this run trained {DRAWS[self.cfg.level]} alone (--level {self.cfg.level}); a sample "
                             "is drawn through all three levels: train them together (no --level)")
        z, label = latent["z"], (() if latent["y"] is None else (latent["y"],))
        G = {k: level.G for k, level in self.levels.items()}
        with evaluating(*G.values()):
            images = [G[2](pack(z[2], label))]                 # I~_2 = G_2(z_2 [, y])
            for k in (1, 0):
                coarse = pyramid.up(images[0])                 # u(I~_{k+1})
                images.insert(0, coarse + G[k](pack(z[k], (coarse, *label))))   # I~_k = u(I~_{k+1}) + G_k(...)
        return images

    def sample(self, latent):
        """The 28 x 28 samples, clipped to [-1, 1] (a coarse image plus a residual may step outside it)."""
        return self.draw(latent)[0].clip(-1, 1)

    def generate(self, n, seed=0, batch_size=500, **fixed):
        """[I~_0, I~_1, I~_2] of ``n`` samples as NumPy arrays, from draws seeded by (cfg.seed, 4, seed)."""
        rng = np.random.default_rng([self.cfg.seed, 4, seed])
        parts = [self.draw(self.prior.sample(min(batch_size, n - i), rng, self.cfg.backend, **fixed))
                 for i in range(0, n, batch_size)]
        return [np.concatenate([to_numpy(p[j]) for p in parts]) for j in range(3)]

    # ---- one level alone: given the real coarse images of test digits --------------------------------
    def test_digits(self, n):
        if self._test is None:
            self._test = load_mnist("test", data_dir=self.cfg.data_dir)
        images, labels = self._test
        return images[:n], labels[:n]

    def level_alone(self, n, seed=0):
        """(what level k starts from, what it draws, the truth), each at 28 x 28, for ``n`` test digits.

        Level 2: nothing, its samples, the test digits' 7 x 7 images. Level k < 2:
        u(I_{k+1}) of the test digits, u(I_{k+1}) + G_k(z, u(I_{k+1})), and I_k.
        """
        k, level = self.cfg.level, self.levels[self.cfg.level]
        x, y = self.test_digits(n)
        real = pyramid.gaussian(to_device(x, self.cfg.backend))
        label = (to_device(y.astype(np.int64), self.cfg.backend),) if self.cfg.conditional else ()
        rng = np.random.default_rng([self.cfg.seed, 4, seed])
        shape = (n, self.cfg.z_dim) if k == 2 else (n, 1, SIDE[k], SIDE[k])
        z = to_device(rng.standard_normal(shape).astype(x.dtype), self.cfg.backend)
        with evaluating(level.G):
            if k == 2:
                start, out = None, level.G(pack(z, label))
            else:
                start = pyramid.up(real[k + 1])
                out = start + level.G(pack(z, (start, *label)))
        return [None if a is None else to_numpy(full_size(a)).clip(-1, 1) for a in (start, out, real[k])]

    # ---- pictures -------------------------------------------------------------------------------------
    def grid(self):
        if self.cfg.level is None:
            return to_numpy(self.sample(self.fixed_latent)), self.grid_nrow
        start, out, truth = self.level_alone(10)
        return np.concatenate([a for a in (start, out, truth) if a is not None]), 10

    def pictures(self):
        """pyramid.png: ten samples, rows u(u(I~_2)), h~_1, u(I~_1), h~_0, I~_0 (one level alone: its grid)."""
        if self.cfg.level is not None:
            return {"pyramid": self.grid()}
        rng = np.random.default_rng([self.cfg.seed, 6])
        latent = self.prior.sample(10, rng, self.cfg.backend)
        if self.cfg.conditional:                              # one of each digit
            latent["y"] = to_device(np.arange(NUM_CLASSES), self.cfg.backend)
        i0, i1, i2 = [to_numpy(a) for a in self.draw(latent)]
        h1, h0 = i1 - pyramid.up(i2), i0 - pyramid.up(i1)
        rows = [full_size(i2), full_size(h1), full_size(i1), h0, i0]
        return {"pyramid": (np.concatenate(rows).clip(-1, 1), 10)}

    # ---- judging ------------------------------------------------------------------------------------
    def evaluate(self, n, seed=0):
        """The metrics of ``n`` samples at 28 x 28 and of the same samples' coarser levels upsampled to 28 x 28.

        Every level earns its place if the FIDs fall from 7 x 7 to 14 x 14 to 28 x 28. The
        class-conditional model adds how often each digit asked is drawn. One level alone: its
        own output beside what it starts from (``level_alone``).
        """
        data_dir = self.cfg.data_dir
        if self.cfg.level is not None:
            start, out, truth = self.level_alone(n, seed)
            report = metrics.evaluate_samples(out, data_dir=data_dir)
            report["level"] = self.cfg.level
            report["truth_fid"] = metrics.evaluate_samples(truth, data_dir=data_dir)["fid"]
            if start is not None:
                report["start_fid"] = metrics.evaluate_samples(start, data_dir=data_dir)["fid"]
            return report
        i0, i1, i2 = self.generate(n, seed)
        report = metrics.evaluate_samples(i0.clip(-1, 1), data_dir=data_dir)
        report["level_fid"] = {str(SIDE[k]): metrics.evaluate_samples(full_size(img).clip(-1, 1),
                                                                      data_dir=data_dir)["fid"]
                               for k, img in ((1, i1), (2, i2))}
        report["level_fid"]["28"] = report["fid"]
        report["real_floor"] = metrics.real_floor(n, data_dir=data_dir)
        if self.cfg.conditional:
            per_digit = max(1, n // NUM_CLASSES)
            drawn = [self.generate(per_digit, seed, digit=d)[0].clip(-1, 1) for d in range(NUM_CLASSES)]
            report["digit_accuracy"] = metrics.digit_accuracy(np.concatenate(drawn),
                                                              np.repeat(np.arange(NUM_CLASSES), per_digit))
        return report

    def format_report(self, report):
        if "level" in report:
            k = report["level"]
            line = metrics.format_report(f"level {k}", report) + f"\n            the truth (I_{k} at 28 x 28): FID " \
                                                                 f"{report['truth_fid']:.2f}"
            if "start_fid" in report:
                line += f"; what the level starts from, u(I_{k + 1}): FID {report['start_fid']:.2f}"
            return line
        fids = report["level_fid"]
        lines = [metrics.format_report("samples", report),
                 f"   by level: FID at 28 x 28 {fids['28']:.2f}; the same samples' 14 x 14 level upsampled "
                 f"{fids['14']:.2f}, 7 x 7 level upsampled {fids['7']:.2f}",
                 metrics.format_report("real_floor", report["real_floor"])]
        if "digit_accuracy" in report:
            lines.append(metrics.format_accuracy("samples", report["digit_accuracy"]))
        return "\n".join(lines)


@functools.lru_cache(maxsize=2)
def coarse_digits(data_dir, limit):
    """The training digits' 7 x 7 images I_2 and their labels, loaded once a process."""
    images, labels = load_mnist("train", data_dir=data_dir, limit=limit)
    return pyramid.down(pyramid.down(images)), labels.astype(np.int64)


def full_size(images):
    """Images of any level brought to 28 x 28 by pixel copies (u, as often as it takes)."""
    while images.shape[-1] < 28:
        images = pyramid.up(images)
    return images
