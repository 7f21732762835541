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

The step is :class:`minigan.gan.GANStep`'s: the prior
(:class:`minigan.priors.GaussianWithLabel`) draws (z, y), and the step shows D
each real image with its own label and each fake with the label G was asked
for. :class:`CGANStep` adds one optional term to D's loss (``--mismatch``, on in
the tuned settings): real images with a wrong label count as fakes. See
docs/cgan.md.
"""
from dataclasses import dataclass

import numpy as np

from .. import metrics
from ..backend import to_device
from ..gan.model import BCEGANConfig, GANStep, GANModel
from ..gan.networks import (NUM_CLASSES, dcgan_discriminator, dcgan_generator, label_planes, label_vector, mlp_body,
                            mlp_generator)
from ..gan.priors import GaussianWithLabel
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


# --8<-- [start:cgan-dcgan-networks]
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
# --8<-- [end:cgan-dcgan-networks]


class CGANStep(GANStep):
    """GANStep, and with ``mismatch`` > 0 a third term in D's loss: real images with wrong labels are fakes.

        L_D = l_real(D(x, y)) + l_fake(D(G(z, y'), y')) + mismatch * l_fake(D(x, y~)),   y~ != y

    (the "matching-aware" discriminator of Reed et al. 2016): D is taught
    directly that a good image of the wrong digit is not a real pair.
    """

    def __init__(self, *args, mismatch=0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.mismatch = mismatch

    # --8<-- [start:cgan-mismatch]
    def d_gradients(self, real, fake, real_condition=None, fake_condition=None, codes=None):
        stats = super().d_gradients(real, fake, real_condition, fake_condition, codes)
        if self.mismatch:
            shift = self.noise_rng.integers(1, NUM_CLASSES, len(real))            # any label but the true one
            wrong = (real_condition + to_device(shift, self.backend)) % NUM_CLASSES
            out = self.D((real, wrong))
            loss, dout = self.objective.d_fake(out)
            with self.D.no_input_grad():
                self.D.backward(dout * out.dtype.type(self.mismatch))           # adds mismatch * dl/dθ_D
            stats["d_loss"] = stats["d_loss"] + self.mismatch * loss
            stats["d_mismatch"] = sigmoid(out).mean()
    # --8<-- [end:cgan-mismatch]
        return stats


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

    # --8<-- [start:cgan-check]
    def check(self):
        if changed(self, "embedding_dim") and self.label != "embedding":
            return (f"--embedding-dim {self.embedding_dim}: applies with --label embedding (the label is "
                    f"{self.label}); drop it or set --label embedding")
        if self.d_hidden and self.arch != "dcgan":
            return (f"--d-hidden {self.d_hidden}: applies with --arch dcgan (the MLP D's widths are fixed); drop it "
                    "or set --arch dcgan")
        return super().check()
    # --8<-- [end:cgan-check]


@register
class CGAN(GANModel):
    """The conditional GAN: G(z, y) and D(x, y), on the MLP or the DCGAN body."""

    name = "cgan"
    Config = Config
    step_class = CGANStep
    description = "Train the conditional GAN (G(z, y), D(x, y)) on MNIST digits with their labels."
    #: the settings each body's example starts from (docs/cgan.md); ``--anchor`` goes back to the Config's
    ARCH_TUNED = {"mlp": dict(ema=0.999, label_smoothing=0.1, mismatch=1.0, epochs=15),
                  "dcgan": dict(ema=0.999, label_smoothing=0.1, mismatch=1.0, lr_d=5e-5, lr_g=8e-4, d_hidden=256,
                                epochs=5, label="embedding")}
    tuned = ARCH_TUNED["mlp"]  # the default arch's (--help shows both)

    @classmethod
    def tuned_settings(cls, given):
        """The tuned settings of the networks asked for with ``--arch`` (the MLP's by default)."""
        return dict(cls.ARCH_TUNED.get(given.get("arch", cls.Config.arch), {}))   # an unknown arch: refused next

    # --8<-- [start:cgan-step-kwargs]
    def step_kwargs(self):
        return dict(super().step_kwargs(), mismatch=self.cfg.mismatch)

    def make_panels(self):
        panels = super().make_panels()
        if self.cfg.mismatch:  # D's mean output on real images with wrong labels: it should fall towards 0
            panels["D(x, wrong y)"] = (("d_mismatch",), 0.0)
        return panels
    # --8<-- [end:cgan-step-kwargs]

    def networks(self, rng):
        cfg = self.cfg
        common = dict(z_dim=cfg.z_dim, label=cfg.label, embedding_dim=cfg.embedding_dim, dropout=cfg.d_dropout,
                      rng=rng, seed=cfg.seed)
        if cfg.arch == "mlp":
            return mlp_networks(**common)
        return dcgan_networks(d_hidden=cfg.d_hidden, **common)

    def make_prior(self):
        return GaussianWithLabel(self.cfg.z_dim, NUM_CLASSES)

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
