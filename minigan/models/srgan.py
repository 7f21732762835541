r"""SRGAN (Ledig et al. 2017): a 7 x 7 digit in, its 28 x 28 original out, 4x super-resolution.

The generator is SRResNet (``translation_networks.srresnet_generator``): residual blocks
of conv-batchnorm-PReLU at 7 x 7, then two sub-pixel stages (PixelShuffle ×2). As the
paper does, it is first trained on the pixel error alone (SRResNet), then as SRGAN:

    l_SR = l_content + 10^-3 l_adversarial,    l_adversarial = -log D(G(x))

with a content loss on *features* (``--content perceptual``): the squared error between
the conv features of minigan's own MNIST classifier for G(x) and for the true digit, the
"VGG loss" at MNIST size (``perceptual.py``; its backward runs through the frozen
classifier). Pixel MSE rewards the average of every plausible answer, a blur; features
and D reward a sharp one. ``--content mse --adversarial 0`` trains SRResNet alone.
See docs/srgan.md.
"""
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..backend import get_array_module
from ..gan.objectives import NonSaturating
from ..gan.step import add_d_loss, loss_through_d
from ..nn.losses import MSE
from ..training.config import integer, number, one_of, setting, text
from ..translation.networks import sr_discriminator, srresnet_generator
from ..translation.perceptual import PerceptualLoss
from ..translation.translator import TranslationConfig, Translator, judge
from . import register


@dataclass
class Config(TranslationConfig):
    """SRGAN at MNIST size: SRResNet G, conv D, perceptual + 1e-3 BCE after MSE pre-training; Adam 1e-4 (0.9, 0.999)."""

    model: str = setting("srgan", cli=False, kind="structure")
    task: str = setting("superres", "the paired task: 7 x 7 (4 x 4 average pooling) -> 28 x 28", one_of("superres"),
                        kind="structure")
    out: str = setting("runs/srgan", "the run folder", text, kind="run")
    epochs: int = setting(4, "passes over the training pairs, pre-training included", integer(1), kind="run")
    content: str = setting("perceptual", "the content loss: squared error of the classifier's conv features, or of "
                                         "the pixels", one_of("perceptual", "mse"))
    adversarial: float = setting(1e-3, "weight of G's adversarial term -log D(G(x)) (0: no D, SRResNet)", number(0))
    pretrain_epochs: int = setting(None, "first epochs on pixel MSE alone, the SRResNet that SRGAN starts from "
                                         "(unset: half the epochs, rounded down)", integer(0, none_ok=True))
    lr: float = setting(1e-4, "Adam's learning rate, both nets", number(0, low_open=True))
    beta1: float = setting(0.9, "Adam's beta1", number(0, 1, high_open=True))
    base: int = setting(16, "channels of G's blocks and of D's first convolution", integer(1), kind="structure")
    blocks: int = setting(4, "residual blocks of G", integer(0), kind="structure")
    kernel: int = setting(3, "size of G's first and last convolution (the paper's 9 is for photographs)",
                          one_of(3, 5, 9), kind="structure")

    @property
    def pretrain(self):
        """The pre-training epochs: as set, or half the epochs."""
        return self.epochs // 2 if self.pretrain_epochs is None else self.pretrain_epochs

    def check(self):
        plain = self.content == "mse" and not self.adversarial
        if self.pretrain_epochs is not None and plain:
            return (f"--pretrain-epochs {self.pretrain_epochs!r}: pre-training is pixel MSE, which is the whole "
                    "of --content mse --adversarial 0; drop it")
        if not plain and self.pretrain >= self.epochs:
            return (f"--pretrain-epochs {self.pretrain_epochs!r}: leaves none of the {self.epochs} epochs for "
                    "SRGAN; lower it or raise --epochs")
        return super().check()


@register
class SRGAN(Translator):
    """SRResNet G and a conv D; pixel MSE first, then content + adversarial."""

    name = "srgan"
    Config = Config
    description = "Train SRGAN (Ledig et al. 2017) on MNIST 7 x 7 -> 28 x 28 digits: SRResNet, then the GAN."
    panels = {"D output": (("d_real", "d_fake"), 0.5), "PSNR of the batch, dB": (("psnr",), None)}

    def __init__(self, cfg):
        super().__init__(cfg)
        rng = np.random.default_rng(cfg.seed)
        self.G = srresnet_generator(base=cfg.base, blocks=cfg.blocks, kernel=cfg.kernel, rng=rng).to(cfg.backend)
        self.D = sr_discriminator(base=cfg.base, hidden=8 * cfg.base, rng=rng).to(cfg.backend)
        self.opt_G = self.optimizer("opt_G", self.G.parameters())
        self.opt_D = self.optimizer("opt_D", self.D.parameters())
        self.objective, self.mse = NonSaturating(), MSE()
        self.perceptual = PerceptualLoss().to(cfg.backend) if cfg.content == "perceptual" else None
        self.pretraining = cfg.pretrain > 0

    def modules(self):
        return {"G": self.G, "D": self.D}

    def generators(self):
        return {"a2b": self.G}

    def before_step(self, step, planned_steps):
        """The first ``pretrain_epochs`` of the planned steps are SRResNet's: pixel MSE, no D."""
        super().before_step(step, planned_steps)                # --lr-decay
        self.pretraining = step < planned_steps * self.cfg.pretrain // self.cfg.epochs

    # ---- the step ----------------------------------------------------------------------------------
    def step(self, batches):
        (x, y), = batches                                      # 7 x 7 input, 28 x 28 target
        fake = self.G(x)                                       # G(x), the super-resolved digit
        gan = bool(self.cfg.adversarial) and not self.pretraining
        stats = {}
        if gan:
            stats.update(self.d_gradients(y, fake))
            self.opt_D.step()
        stats.update(self.g_gradients(y, fake, gan))
        self.opt_G.step()
        return stats

    def d_gradients(self, y, fake):
        """D's .grad for -log D(y) - log(1 - D(G(x))): real digits 1, super-resolved ones 0."""
        self.D.zero_grad()
        d_loss, out_real, out_fake = add_d_loss(self.D, self.objective, y, fake)   # G(x) held fixed
        return dict(d_loss=d_loss, **self.objective.stats(out_real, out_fake))

    def g_gradients(self, y, fake, gan):
        """G's .grad for the content loss (+ 10^-3 -log D(G(x)) once D is in): pixel MSE while pre-training."""
        if self.perceptual is not None and not self.pretraining:
            content, dfake = self.perceptual(fake, y)           # ‖φ(G(x)) - φ(y)‖², back through the classifier φ
        else:
            content, dfake = self.mse(fake, y)                  # ‖G(x) - y‖², gradient 2 (G(x) - y) / n
        stats = dict(content=content, psnr=psnr(fake, y))
        g_loss = content
        if gan:
            w = fake.dtype.type(self.cfg.adversarial)
            adv, dadv = loss_through_d(self.D, self.objective.g, fake, w)   # -log D(G(x)), weighted by 10^-3
            dfake = dfake + dadv                                # + 10^-3 dL_adv/dG(x), D's input gradient
            g_loss = g_loss + w * adv
            stats["g_adversarial"] = adv
        self.G.zero_grad()
        self.G.backward(dfake)                                  # dL/dθ_G = dL/dG(x) dG(x)/dθ_G
        return dict(stats, g_loss=g_loss)

    # ---- judging: beside bicubic upsampling ----------------------------------------------------------
    def evaluate(self, n):
        """Each number of :meth:`Translator.evaluate`, PSNR, and the same for bicubic upsampling of the inputs."""
        report = super().evaluate(n)
        test = self.test_data()
        report["a2b"]["psnr"] = mean_psnr(self.translate(test.a[:n]), test.b[:n])
        baseline = bicubic(test.a[:n])
        report["bicubic"] = judge(baseline, test.labels_a[:n], test.b[:n], test.b[:n])
        report["bicubic"]["psnr"] = mean_psnr(baseline, test.b[:n])
        return report

    def format_report(self, report):
        b = report["bicubic"]
        return (super().format_report(report) + f"  PSNR {report['a2b']['psnr']:.2f} dB\n"
                f"bicubic: digit kept {100 * b['digit_accuracy']['overall']:.2f}%  FID {b['fid']:.2f}  "
                f"L1 to the true digit {b['l1']:.4f}  PSNR {b['psnr']:.2f} dB")


def psnr(images, targets):
    """PSNR in dB of a batch's mean squared error, on [0, 1] intensities: 10 log10(1 / MSE01), MSE01 = MSE / 4."""
    xp = get_array_module(images)
    mse01 = ((images - targets) ** 2).mean() / 4              # [-1, 1] -> [0, 1] divides differences by 2
    return 10 * xp.log10(1 / xp.maximum(mse01, 1e-12))


def mean_psnr(images, targets):
    """The mean over images of each image's PSNR (dB, [0, 1] intensities), as super-resolution papers report it."""
    mse01 = ((np.asarray(images, np.float64) - targets) ** 2).mean(axis=(1, 2, 3)) / 4
    return float(np.mean(10 * np.log10(1 / np.maximum(mse01, 1e-12))))


def bicubic(small, factor=4):
    """Bicubic upsampling of (N, 1, 7, 7) to (N, 1, 28, 28): a cubic spline through the 7 x 7 pixels,
    each placed at the centre of the 4 x 4 block it is the mean of.

    ``scipy.ndimage.zoom`` order 3 with ``grid_mode=True``: input pixel i sits at output coordinate
    4 i + 1.5, so the image's edges line up with the blocks' (zoom's default, ``grid_mode=False``,
    puts the corner pixels' centres on each other instead, 0 -> 0 and 6 -> 27, and shifts the
    image by up to 1.5 px towards its edges). Beyond the border the spline repeats the border
    pixel (``mode="nearest"``). One image at a time: zooming the whole (N, 1, 7, 7) array at once
    makes SciPy weigh 4^4 spline coefficients per output pixel across all four axes, gigabytes for
    the 10,000 test digits.
    """
    small = np.asarray(small, np.float64)
    up = np.stack([ndimage.zoom(img, factor, order=3, mode="nearest", grid_mode=True)
                   for img in small[:, 0]])[:, None]
    return np.clip(up, -1, 1).astype(np.float32)
