"""The conditional GAN (Mirza & Osindero 2014): G(z, y) draws the digit y, D(x, y) judges image and label together.

The label y enters both networks beside their usual input, as a one-hot vector
(``--label onehot``, the paper's choice) or as a learned embedding
(``--label embedding``, a table W with its own backward, ``layers/embedding.py``):

    G(z, y) = body_G(concat(z, e_G(y)))
    D(x, y) = body_D(concat(x, e_D(y)))

The bodies are those of the two unconditional models (``--arch mlp|dcgan``, from ``minigan/gan/networks.py``):

- mlp:   G = networks.mlp_generator on concat(z, e(y)); D = networks.mlp_body (the MLP D without
  its Flatten) on concat(flatten(x), e(y)).
- dcgan: G = networks.dcgan_generator on concat(z, e(y)); D = networks.dcgan_discriminator on the
  image with label *planes* as extra input channels: one-hot, ten constant 28x28 planes (plane k
  is 1 for label k), or an embedding, one learned 28x28 plane per label.

The step (:meth:`CGAN.step`) is the original GAN's with the labels beside the images: the prior
(:class:`minigan.gan.priors.GaussianWithLabel`) draws (z, y), and D is shown each real image
with its own label and each fake with the label G was asked for. One optional term joins D's
loss (``--mismatch``, on in the tuned settings): real images with a wrong label count as fakes.
See docs/cgan.md.
"""
from dataclasses import dataclass

import numpy as np

from .. import metrics
from ..backend import to_device
from ..gan.model import BCEGANConfig, GANModel
from ..gan.networks import (NUM_CLASSES, dcgan_discriminator, dcgan_generator, label_planes, label_vector, mlp_body,
                            mlp_generator)
from ..gan.priors import GaussianWithLabel
from ..gan.step import add_d_term, loss_through_d
from ..nn import Sequential
from ..nn.layers import Concat, Flatten, Identity, Parallel, sigmoid
from ..training.config import changed, integer, number, one_of, setting, text
from . import register


def label_dim(label, embedding_dim):
    return NUM_CLASSES if label == "onehot" else embedding_dim


def mlp_networks(z_dim=64, label="onehot", embedding_dim=10, dropout=0.0, g_hidden=(256, 512, 1024),
                 d_hidden=(512, 256, 128), image_shape=(1, 28, 28), dtype=np.float32, rng=None, seed=None):
    """(G, D): the MLP GAN's fully connected bodies (gan/networks.py), the label concatenated to their inputs."""
    k, pixels = label_dim(label, embedding_dim), int(np.prod(image_shape))
    # --8<-- [start:cgan-mlp-networks]
    G = Sequential(Parallel(Identity(), label_vector(label, k, dtype, rng)), Concat(),        # (z, y) -> [z, e(y)]
                   *mlp_generator(z_dim + k, g_hidden, pixels, image_shape, dtype=dtype, rng=rng).layers)
    body = mlp_body(pixels + k, d_hidden, dropout=dropout, dtype=dtype, rng=rng, seed=seed)
    D = Sequential(Parallel(Flatten(), label_vector(label, k, dtype, rng)), Concat(),         # (x, y) -> [x, e(y)]
                   *body)
    # --8<-- [end:cgan-mlp-networks]
    return G, D


def dcgan_networks(z_dim=64, label="onehot", embedding_dim=10, dropout=0.0, d_hidden=0, base=64,
                   dtype=np.float32, rng=None, seed=None):
    """(G, D): the DCGAN's convolutional bodies (gan/networks.py); G takes [z, e(y)], D image and label planes."""
    k = label_dim(label, embedding_dim)
    G = Sequential(Parallel(Identity(), label_vector(label, k, dtype, rng)), Concat(),        # (z, y) -> [z, e(y)]
                   *dcgan_generator(z_dim + k, base, dtype=dtype, rng=rng).layers)
    planes = label_planes(label, dtype=dtype, rng=rng)
    channels = 1 + (NUM_CLASSES if label == "onehot" else 1)
    body = dcgan_discriminator(base, dropout=dropout, hidden=d_hidden, in_channels=channels, dtype=dtype, rng=rng,
                               seed=seed)
    D = Sequential(Parallel(Identity(), planes), Concat(axis=1), *body.layers)             # (x, y) -> [x | P(y)]
    return G, D


@dataclass
class Config(BCEGANConfig):
    model: str = setting("cgan", cli=False, kind="structure")
    out: str = setting("runs/cgan", "the run folder", text, kind="run")
    arch: str = setting("mlp", "the networks: fully connected (the MLP GAN's) or convolutional (the DCGAN's); each "
                               "starts from its own tuned settings", one_of("mlp", "dcgan"), kind="structure")
    label: str = setting("onehot", "how the label enters G and D: a one-hot vector or a learned embedding",
                         one_of("onehot", "embedding"), kind="structure")
    embedding_dim: int = setting(10, "size of G's label embedding (and the MLP D's) with --label embedding",
                                 integer(1), kind="structure")
    z_dim: int = setting(64, "size of the noise vector z", integer(1), kind="structure")
    mismatch: float = setting(0.0, "weight of D's third term: real images with wrong labels, as fakes (0: off)",
                              number(0))
    d_hidden: int = setting(0, "--arch dcgan: width of a hidden Dense layer before D's logit (0: none)",
                            integer(0), kind="structure")

    def check(self):
        if changed(self, "embedding_dim") and self.label != "embedding":
            return (f"--embedding-dim {self.embedding_dim}: applies with --label embedding (the label is "
                    f"{self.label}); drop it or set --label embedding")
        if self.d_hidden and self.arch != "dcgan":
            return (f"--d-hidden {self.d_hidden}: applies with --arch dcgan (the MLP D's widths are fixed); drop it "
                    "or set --arch dcgan")
        return super().check()


@register
class CGAN(GANModel):
    """The conditional GAN: G(z, y) and D(x, y), on the MLP or the DCGAN body."""

    name = "cgan"
    Config = Config
    description = "Train the conditional GAN (G(z, y), D(x, y)) on MNIST digits with their labels."
    #: the settings each body's example starts from (docs/cgan.md); ``--anchor`` goes back to the Config's
    ARCH_TUNED = {"mlp": dict(ema=0.999, label_smoothing=0.1, mismatch=1.0, epochs=15),
                  "dcgan": dict(ema=0.999, label_smoothing=0.1, mismatch=1.0, lr_d=5e-5, lr_g=8e-4, d_hidden=256,
                                epochs=5, label="embedding")}
    tuned = ARCH_TUNED["mlp"]  # the default arch's (--help shows both)
    anchor = "Mirza & Osindero's one-hot labels, with the PyTorch DCGAN example's settings"

    @classmethod
    def tuned_settings(cls, given):
        """The tuned settings of the networks asked for with ``--arch`` (the MLP's by default)."""
        return dict(cls.ARCH_TUNED.get(given.get("arch", cls.Config.arch), {}))   # an unknown arch: refused next

    def __init__(self, cfg):
        super().__init__(cfg, prior=GaussianWithLabel(cfg.z_dim, NUM_CLASSES))   # G is fed (z, y)
        if cfg.mismatch:  # D's mean output on real images with wrong labels: it should fall towards 0
            self.panels["D(x, wrong y)"] = (("d_mismatch",), 0.0)

    # ---- the step ---------------------------------------------------------------------------------
    def step(self, batches):
        """The original GAN's step with labels: D judges (image, label) pairs, G draws the digit it is asked for."""
        for real, labels in batches:                             # each real digit with its own label
            z, y = latent = self.draw(len(real), real.dtype)     # G is asked for digit y
            fake = self.G(latent)
            stats = self.d_gradients((real, labels), (fake, y))  # l_real(D(x, y_x)) + l_fake(D(G(z, y), y))
            if self.cfg.mismatch:
                stats.update(self.mismatch_gradients(real, labels, stats["d_loss"]))
            self.opt_D.step()
        stats.update(self.g_gradients(fake, y))
        self.opt_G.step()
        self.update_average()
        return stats

    def g_gradients(self, fake, y):
        """L_G = l_g(D(G(z, y), y)): G's .grad back through D, which sees each fake with the label G was fed."""
        g_loss, (dfake, _) = loss_through_d(self.D, self.objective.g, (fake, y))   # the label has no gradient
        self.G.zero_grad()
        self.G.backward(dfake)                                   # dL/dθ_G = dL/dG(z, y) dG(z, y)/dθ_G
        return dict(g_loss=g_loss)

    def mismatch_gradients(self, real, labels, d_loss):
        """D's .grad += mismatch · dl_fake(D(x, ỹ))/dθ_D, ỹ ≠ y: a real digit with a wrong label counts as a fake.

        L_D = l_real(D(x, y)) + l_fake(D(G(z, y'), y')) + mismatch · l_fake(D(x, ỹ)), the
        "matching-aware" discriminator of Reed et al. (2016): D is taught directly that a good
        image of the wrong digit is not a real pair. Returns the stats, ``d_loss`` with the term.
        """
        shift = self.noise_rng.integers(1, NUM_CLASSES, len(real))            # any label but the true one
        wrong = (labels + to_device(shift, self.cfg.backend)) % NUM_CLASSES
        loss, out = add_d_term(self.D, self.objective.d_fake, (real, wrong), self.cfg.mismatch)
        return dict(d_loss=d_loss + self.cfg.mismatch * loss, d_mismatch=sigmoid(out).mean())

    def networks(self, rng):
        cfg = self.cfg
        common = dict(z_dim=cfg.z_dim, label=cfg.label, embedding_dim=cfg.embedding_dim, dropout=cfg.d_dropout,
                      rng=rng, seed=cfg.seed)
        if cfg.arch == "mlp":
            return mlp_networks(**common)
        return dcgan_networks(d_hidden=cfg.d_hidden, **common)

    # ---- judging: the metrics of the unconditional models, and does G draw the digit asked? ----
    def evaluate(self, n, seed=0):
        """minigan.metrics of ``n`` samples with uniform labels, and the digit accuracy of n/10 samples per digit."""
        report = super().evaluate(n, seed)
        per_digit = max(1, n // NUM_CLASSES)
        images = np.concatenate([self.generate(per_digit, seed, digit=d) for d in range(NUM_CLASSES)])
        digits = np.repeat(np.arange(NUM_CLASSES), per_digit)
        report["digit_accuracy"] = metrics.digit_accuracy(images, digits)
        report["real_floor"]["digit_accuracy"] = metrics.real_digit_accuracy(n, data_dir=self.cfg.data_dir)
        return report

    def format_report(self, report):
        return (super().format_report(report) + "\n"
                + metrics.format_accuracy("samples", report["digit_accuracy"]) + "\n"
                + metrics.format_accuracy("real_floor", report["real_floor"]["digit_accuracy"]))
