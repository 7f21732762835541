r"""The variational autoencoder (Kingma & Welling 2014), the model the texts set GANs against.

Encoder: x (784 pixels in [0, 1]) -> Dense -> ReLU -> (Dense -> μ, Dense -> log σ²).
Reparameterisation: z = μ + σ ε, ε ~ N(0, I) (``layers/reparameterize.py``).
Decoder: z -> Dense -> ReLU -> Dense -> 784 logits of Bernoulli pixels.

Training minimises the negative ELBO of each batch, in nats per image,

    -ELBO(x) = E_q[-log p(x | z)] + KL(q(z | x) || N(0, I))
             ~ BernoulliNLL(decoder(z), x) + GaussianKL(μ, log σ²)     (one z per image)

with pytorch/examples' VAE settings: 784-400-20, Adam lr 1e-3, batch 128,
10 epochs, the grey levels as Bernoulli targets. The run feeds images in
[-1, 1]; the VAE maps them to x = (image + 1) / 2 in [0, 1], for the encoder's
input and the reconstruction's targets alike. See docs/vae.md.
"""
import statistics
from dataclasses import dataclass

import numpy as np

from ..backend import to_device, to_numpy
from ..gan.priors import Gaussian
from ..nn import Sequential, is_int
from ..nn.layers import Dense, Fork, ReLU, Reparameterize, sigmoid
from ..nn.losses import BernoulliNLL, GaussianKL
from ..training.config import OptimizerConfig, integer, number, setting, text
from ..training.model import Model
from . import register

TEST_IMAGES = 10000   # the MNIST test set the negative ELBO is measured on
IMAGE_SHAPE = (1, 28, 28)


def encoder(in_dim=784, hidden=400, z_dim=20, dtype=np.float32, rng=None):
    """x -> Dense -> ReLU -> (μ, log σ²), two Dense heads on one body."""
    return Sequential(Dense(in_dim, hidden, dtype=dtype, rng=rng), ReLU(),
                      Fork(Dense(hidden, z_dim, dtype=dtype, rng=rng), Dense(hidden, z_dim, dtype=dtype, rng=rng)))


def decoder(z_dim=20, hidden=400, out_dim=784, dtype=np.float32, rng=None):
    """z -> Dense -> ReLU -> Dense -> logits of the Bernoulli pixels."""
    return Sequential(Dense(z_dim, hidden, dtype=dtype, rng=rng), ReLU(), Dense(hidden, out_dim, dtype=dtype, rng=rng))


def negative_elbo(encoder, decoder, reparameterize, x, eps, backward=True):
    """The negative ELBO of a batch, one draw z = μ + σ ε per image, ε given (held fixed).

    ``x`` (N, D) in [0, 1] is the encoder's input and the reconstruction's
    target. With ``backward`` every parameter's ``.grad`` is set to the
    gradient of the loss (zeroed first). Returns the 0-d arrays
    ``loss`` (the negative ELBO), ``reconstruction`` and ``kl``, nats per image.
    """
    # --8<-- [start:vae-negative-elbo]
    mu, log_var = encoder(x)                                   # q(z | x) = N(μ, diag σ²)
    z = reparameterize((mu, log_var, eps))                     # z = μ + σ ε
    logits = decoder(z)                                        # p(x | z): Bernoulli with these logits
    reconstruction, dlogits = BernoulliNLL()(logits, x)        # -log p(x | z)
    kl, (dmu_kl, dlog_var_kl) = GaussianKL()(mu, log_var)      # KL(q(z | x) || N(0, I)), closed form
    if backward:
        encoder.zero_grad()
        decoder.zero_grad()
        dz = decoder.backward(dlogits)                         # dL/dz, and dL/dθ_decoder on the way
        dmu, dlog_var, _ = reparameterize.backward(dz)         # through z = μ + σ ε
        encoder.backward((dmu + dmu_kl, dlog_var + dlog_var_kl))  # both terms reach μ and log σ²
    return dict(loss=reconstruction + kl, reconstruction=reconstruction, kl=kl)
    # --8<-- [end:vae-negative-elbo]


def to_unit(images):
    """Images in [-1, 1], (N, 1, 28, 28) -> flat pixels in [0, 1], (N, 784): the Bernoulli targets."""
    return ((images + 1) * images.dtype.type(0.5)).reshape(len(images), -1)


def _test_count(v):
    if not is_int(v) or not 1 <= v <= TEST_IMAGES:
        return f"must be an integer in [1, {TEST_IMAGES}] (the MNIST test images the negative ELBO is measured on)"


@dataclass
class Config(OptimizerConfig):
    """pytorch/examples' VAE: 784-400-20 with ReLU, Adam lr 1e-3, batch 128, 10 epochs."""

    model: str = setting("vae", cli=False, kind="structure")
    epochs: int = setting(10, "passes over the training images", integer(1), kind="run")
    batch_size: int = setting(128, "images per batch", integer(2), kind="structure")
    out: str = setting("runs/vae", "the run folder", text, kind="run")
    eval_samples: int = setting(TEST_IMAGES, "MNIST test images the negative ELBO is measured on at the end",
                                _test_count, kind="run")
    z_dim: int = setting(20, "size of the latent z (2 draws the latent manifold)", integer(1), kind="structure")
    hidden: int = setting(400, "units of the encoder's and the decoder's hidden layer", integer(1), kind="structure")
    lr: float = setting(1e-3, "learning rate", number(0, low_open=True))
    beta1: float = setting(0.9, "Adam's beta1 (PyTorch's default)", number(0, 1, high_open=True))


@register
class VAE(Model):
    """Encoder, reparameterisation, decoder and one Adam over both: one step per batch."""

    name = "vae"
    Config = Config
    description = "Train the variational autoencoder (Kingma & Welling 2014) on MNIST."
    panels = {"nats per image": (["reconstruction", "kl"], None)}
    pictures_written = ("reconstructions", "manifold")

    def __init__(self, cfg):
        super().__init__(cfg)
        rng = np.random.default_rng(cfg.seed)
        self.encoder = encoder(hidden=cfg.hidden, z_dim=cfg.z_dim, rng=rng).to(cfg.backend)
        self.decoder = decoder(z_dim=cfg.z_dim, hidden=cfg.hidden, rng=rng).to(cfg.backend)
        self.reparameterize = Reparameterize()
        self.opt = self.optimizer("opt", self.encoder.parameters() + self.decoder.parameters())
        self.prior = Gaussian(cfg.z_dim)                       # p(z): what sample() and generate.py draw from
        self.noise_rng = np.random.default_rng([cfg.seed, 1])  # ε of the training steps
        self.fixed_latent, self.grid_nrow = self.prior.grid(np.random.default_rng([cfg.seed, 2]), cfg.backend)
        self.test_images = None                                # the MNIST test set, loaded when first needed

    # ---- what a checkpoint holds -----------------------------------------------------------
    def modules(self):
        return {"encoder": self.encoder, "decoder": self.decoder}

    def rngs(self):
        return {"noise": self.noise_rng}

    # ---- training ------------------------------------------------------------------------------
    def draw_eps(self, n, rng, dtype=np.float32):
        """ε ~ N(0, I), (n, z_dim), drawn on the CPU and moved: one seed, the same ε on both backends."""
        return to_device(rng.standard_normal((n, self.cfg.z_dim)).astype(dtype), self.cfg.backend)

    def step(self, batches):
        (images, _), = batches
        x = to_unit(images)                                    # Bernoulli targets in [0, 1]
        eps = self.draw_eps(len(x), self.noise_rng, x.dtype)
        stats = negative_elbo(self.encoder, self.decoder, self.reparameterize, x, eps)
        self.opt.step()
        return stats

    # ---- pictures ---------------------------------------------------------------------------------
    def sample(self, latent):
        """The decoder's mean image sigmoid(logits) for each z, in [-1, 1], (N, 1, 28, 28)."""
        p = sigmoid(self.decoder(latent))
        return (p * 2 - 1).reshape((len(p),) + IMAGE_SHAPE)

    def grid(self):
        return self.sample(self.fixed_latent), self.grid_nrow   # the same 64 draws of p(z) at every step

    def test_set(self):
        """The MNIST test images in [-1, 1] (tests may set ``self.test_images`` to others)."""
        if self.test_images is None:
            from ..data import load_mnist
            self.test_images = load_mnist("test", data_dir=self.cfg.data_dir)[0]
        return self.test_images

    def reconstruct(self, images):
        """Each image through the encoder's mean: decoder(μ(x)), in [-1, 1]."""
        mu, _ = self.encoder(to_unit(images))
        return self.sample(mu)

    def pictures(self):
        """Inputs beside reconstructions (64 test images, pairs side by side); the manifold when z_dim is 2."""
        x = to_device(np.ascontiguousarray(self.test_set()[:64]), self.cfg.backend)
        pairs = np.stack([to_numpy(x), to_numpy(self.reconstruct(x))], axis=1)   # (64, 2, 1, 28, 28)
        out = {"reconstructions": (pairs.reshape((-1,) + IMAGE_SHAPE), 16)}
        if self.cfg.z_dim == 2:
            out["manifold"] = (self.manifold(), 20)
        return out

    def manifold(self, n=20):
        """The decoder over an n x n grid of z in 2-D, spaced by the prior's quantiles (Kingma & Welling, Fig. 4).

        Evenly spaced probabilities (i + 1/2) / n go through N(0, 1)'s inverse CDF,
        so each cell of the grid holds the same prior mass. z_1 grows to the
        right, z_2 upwards.
        """
        q = np.array([statistics.NormalDist().inv_cdf((i + 0.5) / n) for i in range(n)])
        z1, z2 = np.meshgrid(q, q[::-1])
        z = np.stack([z1.ravel(), z2.ravel()], axis=1).astype(np.float32)
        return self.sample(to_device(z, self.cfg.backend))

    # ---- judging ------------------------------------------------------------------------------------
    def test_noise(self, n, seed=0):
        """The ε of the test set's one-draw negative ELBO: (n, z_dim), seeded by (cfg.seed, 6, seed)."""
        return np.random.default_rng([self.cfg.seed, 6, seed]).standard_normal((n, self.cfg.z_dim)).astype(np.float32)

    def test_elbo(self, n, seed=0, batch_size=500):
        """The negative ELBO on the first ``n`` MNIST test images, nats per image, and its two terms.

        One draw z = μ + σ ε per image, as pytorch/examples' test loop does; ε
        is seeded (``seed=0``: the run's own), so the number is reproducible.
        """
        images = self.test_set()[:n]
        n = len(images)
        eps = self.test_noise(n, seed)
        totals = dict(loss=0.0, reconstruction=0.0, kl=0.0)
        for i in range(0, n, batch_size):
            x = to_device(np.ascontiguousarray(images[i:i + batch_size]), self.cfg.backend)
            e = to_device(eps[i:i + batch_size], self.cfg.backend)
            stats = negative_elbo(self.encoder, self.decoder, self.reparameterize, to_unit(x), e, backward=False)
            for k in totals:
                totals[k] += float(stats[k]) * len(x)          # nats per image -> nats of the batch
        return dict(n=n, neg_elbo=totals["loss"] / n, reconstruction=totals["reconstruction"] / n,
                    kl=totals["kl"] / n)

    def generate(self, n, seed=0, batch_size=500):
        """``n`` samples from the prior as a NumPy array, z seeded by (cfg.seed, 4, seed), as a GAN's are."""
        rng = np.random.default_rng([self.cfg.seed, 4, seed])
        return np.concatenate([to_numpy(self.sample(self.prior.sample(min(batch_size, n - i), rng, self.cfg.backend)))
                               for i in range(0, n, batch_size)])

    def evaluate(self, n, seed=0):
        """The test negative ELBO on ``n`` test images, and minigan.metrics of ``n`` samples from the prior.

        The sample metrics (FID, classifier score, digit histogram) are the ones
        the GANs report, so the two kinds of model can be set side by side.
        """
        from .. import metrics

        report = self.test_elbo(n, seed)
        report["samples"] = metrics.evaluate_samples(self.generate(n, seed), data_dir=self.cfg.data_dir)
        return report

    def format_report(self, report):
        from .. import metrics

        return (f"test negative ELBO {report['neg_elbo']:.2f} nats per image on {report['n']} MNIST test images "
                f"(reconstruction {report['reconstruction']:.2f} + KL {report['kl']:.2f})\n"
                + metrics.format_report("samples", report["samples"]))
