r"""InfoGAN (Chen et al. 2016): a GAN whose input carries codes that G is made to keep readable.

G is fed noise z, a 10-way categorical code c and two continuous codes u
(``priors.InfoGANPrior``). D's convolutional body ends in two heads
(:class:`~minigan.layers.Fork`): D's real/fake logit, and Q, which guesses
the codes from the image (10 logits for c, a mean for each u_j). The game
gains a term, the variational lower bound on the mutual information
I(c, u; G(z, c, u)), and G and Q both maximise it:

    min_{G, Q} max_D  V(D, G) - λ L_I(G, Q)
    L_I ≤ I(c, u; G(z, c, u)),   -L_I + H(c, u) = λ_cat CE(Q_c(x), c) + λ_cont NLL(Q_u(x), u)   (weighted)

so the step adds :class:`InfoLoss` to D's step (Q's head and the shared body
learn to read the codes off fakes) and to G's step (G learns to draw what Q
can read) (:meth:`InfoGAN.step`). Everything else is the original GAN's (``gan/model.py``). See
docs/infogan.md for the derivation.

G: (z, c, u) -> [z, onehot(c), u] -> Dense(1024) -> BN -> ReLU -> Dense(128*7*7) -> BN -> ReLU
   -> ConvT(128 -> 64) -> BN -> ReLU -> ConvT(64 -> 1) -> tanh.
D: image -> Conv(1 -> 64) -> LReLU -> Conv(64 -> 128) -> BN -> LReLU -> Dense(1024) -> BN -> LReLU
   -> Fork( Dense(1) = D's logit,  Dense(128) -> BN -> LReLU -> Dense(10 + 2) = Q ).
The paper's MNIST networks (its appendix C.1), with tanh images in [-1, 1].
"""
import math
from dataclasses import dataclass

import numpy as np

from .. import metrics as _metrics
from ..backend import get_array_module, to_numpy
from ..gan.model import BCEGANConfig, GANModel
from ..gan.priors import InfoGANPrior
from ..nn import Sequential, init, input_gradient
from ..nn.layers import (BatchNorm1d, BatchNorm2d, Concat, Conv2d, ConvTranspose2d, Dense, Flatten, Fork, Identity,
                         LeakyReLU, OneHot, Parallel, ReLU, Reshape, Tanh)
from ..nn.losses import GaussianNLL, SoftmaxCrossEntropy
from ..training.config import integer, number, setting, text
from . import register

CATEGORIES = 10  # values of the categorical code (MNIST's ten digits, if training finds them)
CONTINUOUS = 2   # continuous codes (on MNIST they tend to find width and slant)


# ---- the networks -----------------------------------------------------------------------------


def generator(z_dim=62, categories=CATEGORIES, continuous=CONTINUOUS, hidden=1024, base=64, dtype=np.float32,
              rng=None):
    """(z, c, u) -> [z, onehot(c), u] -> Dense(h) -> BN -> ReLU -> Dense(2b*7*7) -> BN -> ReLU -> 2 x ConvT -> tanh."""
    c2, c1 = 2 * base, base
    g = Sequential(
        # --8<-- [start:infogan-g-input]
        Parallel(Identity(), OneHot(categories, dtype=dtype), Identity()), Concat(),   # G's input as one vector
        # --8<-- [end:infogan-g-input]
        Dense(z_dim + categories + continuous, hidden, bias=False, dtype=dtype, rng=rng),   # no bias before BN
        BatchNorm1d(hidden, dtype=dtype), ReLU(),
        Dense(hidden, c2 * 7 * 7, bias=False, dtype=dtype, rng=rng), BatchNorm1d(c2 * 7 * 7, dtype=dtype), ReLU(),
        Reshape(c2, 7, 7),
        ConvTranspose2d(c2, c1, 4, stride=2, padding=1, bias=False, dtype=dtype, rng=rng), BatchNorm2d(c1, dtype=dtype),
        ReLU(),
        ConvTranspose2d(c1, 1, 4, stride=2, padding=1, dtype=dtype, rng=rng), Tanh(),
    )
    return init.dcgan_init(g, rng)


def discriminator(categories=CATEGORIES, continuous=CONTINUOUS, hidden=1024, q_hidden=128, base=64, slope=0.1,
                  dtype=np.float32, rng=None):
    """image -> 2 strided convs -> Dense(h) -> BN -> LReLU -> Fork(D's logit, Q's code guesses).

    Q's output, shape (N, categories + continuous): the first ``categories``
    columns are the logits of c, the rest the means of u.
    """
    c1, c2 = base, 2 * base
    q_head = Sequential(Dense(hidden, q_hidden, bias=False, dtype=dtype, rng=rng), BatchNorm1d(q_hidden, dtype=dtype),
                        LeakyReLU(slope), Dense(q_hidden, categories + continuous, dtype=dtype, rng=rng))
    d = Sequential(                                      # no bias before batchnorm: it would be cancelled
        Conv2d(1, c1, 4, stride=2, padding=1, dtype=dtype, rng=rng), LeakyReLU(slope),
        Conv2d(c1, c2, 4, stride=2, padding=1, bias=False, dtype=dtype, rng=rng), BatchNorm2d(c2, dtype=dtype),
        LeakyReLU(slope),
        Flatten(), Dense(c2 * 7 * 7, hidden, bias=False, dtype=dtype, rng=rng), BatchNorm1d(hidden, dtype=dtype),
        LeakyReLU(slope),
        # --8<-- [start:infogan-fork]
        Fork(Dense(hidden, 1, dtype=dtype, rng=rng), q_head),                        # -> (D's logit, Q's output)
        # --8<-- [end:infogan-fork]
    )
    return init.dcgan_init(d, rng)


# ---- the information term -----------------------------------------------------------------------


class InfoLoss:
    r"""L_I's part that depends on G and Q: λ_cat CE(Q_c(x), c) + λ_cont NLL(Q_u(x), u), on fakes x = G(z, c, u).

    The variational bound is I(c, u; x) >= H(c) + H(u) - E[-log Q(c | x)] - E[-log Q(u | x)];
    the entropies do not move, so maximising the bound is minimising the two
    negative log-likelihoods: a softmax cross-entropy for c (``losses.py``)
    and a Gaussian one with σ = 1 for u.

    ``__call__(q, codes)`` returns (loss, dL/dq, stats), q = Q's output (N, K + D).
    """

    def __init__(self, categories=CATEGORIES, continuous=CONTINUOUS, lambda_cat=1.0, lambda_cont=1.0):
        self.categories, self.continuous = categories, continuous
        self.lambda_cat, self.lambda_cont = lambda_cat, lambda_cont
        self.cross_entropy, self.gaussian_nll = SoftmaxCrossEntropy(), GaussianNLL(sigma=1.0)

    def __call__(self, q, codes):
        c, u = codes
        xp = get_array_module(q)
        k = self.categories
        # --8<-- [start:infoloss-split]
        logits, mean = q[:, :k], q[:, k:]                                       # Q's guess of c, of u
        ce, dlogits = self.cross_entropy(logits, c)                             # E[-log Q(c | x)]
        nll, dmean = self.gaussian_nll(mean, u)                                 # E[-log Q(u | x)]
        loss = self.lambda_cat * ce + self.lambda_cont * nll
        dq = xp.concatenate([self.lambda_cat * dlogits, self.lambda_cont * dmean], axis=1)  # dL_I/dq, by columns
        # --8<-- [end:infoloss-split]
        stats = dict(mi_cat=math.log(k) - ce,                                   # the bound on I(c; x), <= log K
                     nll_cont=nll,
                     q_acc=(logits.argmax(axis=1) == c).mean())                 # Q reads c right this often
        return loss, dq, stats


# ---- the step --------------------------------------------------------------------------------------


# ---- settings and the model ----------------------------------------------------------------------


@dataclass
class Config(BCEGANConfig):
    model: str = setting("infogan", cli=False, kind="structure")
    out: str = setting("runs/infogan", "the run folder", text, kind="run")
    epochs: int = setting(5, "passes over the training images", integer(1), kind="run")
    z_dim: int = setting(62, "size of the noise vector z (beside 10 + 2 code entries)", integer(1), kind="structure")
    lr_g: float = setting(1e-3, "G's learning rate (unset: --lr)", number(0, low_open=True, none_ok=True))
    lambda_cat: float = setting(1.0, "weight λ of the categorical code's information term", number(0))
    lambda_cont: float = setting(1.0, "weight λ of the continuous codes' information term", number(0))
    d_hidden: int = setting(1024, "width of the Dense layer D's two heads share", integer(1), kind="structure")
    q_hidden: int = setting(128, "width of Q's hidden layer", integer(1), kind="structure")
    g_hidden: int = setting(1024, "width of G's first Dense layer", integer(1), kind="structure")

    def check(self):
        if self.d_dropout:
            return f"--d-dropout {self.d_dropout!r}: InfoGAN's D has no dropout (Q reads the codes through its body)"
        return super().check()


@register
class InfoGAN(GANModel):
    """InfoGAN on MNIST: a categorical code that finds the digits, two continuous codes for style."""

    name = "infogan"
    Config = Config
    description = "Train InfoGAN (a categorical and two continuous codes beside the noise) on MNIST."
    #: the Config's defaults are the paper's code's (Adam, lr_D 2e-4, lr_G 1e-3, λ = 1); these are what 5 CPU epochs
    #: need (docs/infogan.md); ``--anchor`` goes back to the Config's defaults
    tuned = dict(lambda_cat=2.0, lambda_cont=3.0, ema=0.999)
    anchor = "the InfoGAN paper's code (Adam, lr_D 2e-4, lr_G 1e-3, λ = 1)"
    pictures_written = tuple(f"sweep_u{j + 1}" for j in range(CONTINUOUS)) + ("categories",)

    def __init__(self, cfg):
        super().__init__(cfg, prior=InfoGANPrior(cfg.z_dim, CATEGORIES, CONTINUOUS))   # G is fed (z, c, u)
        self.info = InfoLoss(lambda_cat=cfg.lambda_cat, lambda_cont=cfg.lambda_cont)
        self.panels.update({"I(c; x) bound (nats), Q's accuracy": (("mi_cat", "q_acc"), math.log(CATEGORIES)),
                            "Gaussian NLL of u (nats)": (("nll_cont",), None)})

    # ---- the step: the original GAN's, with λ L_I on D/Q's side and on G's ------------------------
    def step(self, batches):
        """``d_steps`` updates of D and Q, then one of G; Q reads back, off each fake, the codes G was fed."""
        for real, _ in batches:
            z, c, u = latent = self.draw(len(real), real.dtype)
            fake = self.G(latent)
            stats = self.d_gradients(real, fake, (c, u))
            self.opt_D.step()                                    # D's body and both heads
        stats.update(self.g_gradients(fake, (c, u)))
        self.opt_G.step()
        self.update_average()
        return stats

    def d_gradients(self, real, fake, codes):
        """L_D + λ L_I: D's logit says real or fake; Q's guess of the codes counts on fakes only. Sets D's .grad."""
        self.D.zero_grad()
        logit_real, _ = self.D(real)                             # D's output is (logit, Q's guess)
        loss_real, dlogit = self.objective.d_real(logit_real)    # -log D(x); Q's guess on a real image is not used
        with self.D.no_input_grad():
            self.D.backward((dlogit, None))
        logit_fake, q = self.D(fake)
        loss_fake, dlogit = self.objective.d_fake(logit_fake)    # -log(1 - D(G(z, c, u)))
        info, dq, _ = self.info(q, codes)                        # λ L_I: Q learns to read (c, u) off the fake
        with self.D.no_input_grad():
            self.D.backward((dlogit, dq))                        # the Fork adds both heads' gradients in the body
        return dict(d_loss=loss_real + loss_fake, q_loss=info, **self.objective.stats(logit_real, logit_fake))

    def g_gradients(self, fake, codes):
        """L_G + λ L_I: G is fooling D and drawing what Q can read. Sets G's .grad, back through D and Q."""
        logit, q = self.D(fake)
        g_loss, dlogit = self.objective.g(logit)                 # -log D(G(z, c, u))
        info, dq, info_stats = self.info(q, codes)               # λ L_I on Q's guess of the codes G was fed
        dfake = input_gradient(self.D, (dlogit, dq))             # dL/dG(z, c, u), through both heads
        self.G.zero_grad()
        self.G.backward(dfake)
        return dict(g_loss=g_loss, g_info_loss=info, **info_stats)

    def networks(self, rng):
        cfg = self.cfg
        G = generator(z_dim=cfg.z_dim, hidden=cfg.g_hidden, rng=rng)
        D = discriminator(hidden=cfg.d_hidden, q_hidden=cfg.q_hidden, rng=rng)
        return G, D

    # ---- pictures ----------------------------------------------------------------------------------
    def pictures(self):
        """Each continuous code's sweep (rows = c, columns = u_j from -2 to 2), and c against (z, u) draws."""
        out = {}
        for j in range(CONTINUOUS):
            latent, nrow = self.prior.sweep(j, np.random.default_rng([self.cfg.seed, 2]), self.cfg.backend)
            out[f"sweep_u{j + 1}"] = (self.sample(latent), nrow)
        latent, nrow = self.prior.categories_grid(np.random.default_rng([self.cfg.seed, 6]), self.cfg.backend)
        out["categories"] = (self.sample(latent), nrow)
        return out

    # ---- samples with their codes, and the matched accuracy ----------------------------------------
    def generate_with_codes(self, n, seed=0, batch_size=500):
        """``n`` samples and the categorical code of each (NumPy), from the draws :meth:`generate` makes."""
        rng = np.random.default_rng([self.cfg.seed, 4, seed])
        images, codes = [], []
        for i in range(0, n, batch_size):
            latent = self.prior.sample(min(batch_size, n - i), rng, self.cfg.backend)
            images.append(to_numpy(self.sample(latent)))
            codes.append(to_numpy(latent[1]))
        return np.concatenate(images), np.concatenate(codes)

    def generate(self, n, seed=0, batch_size=500):
        return self.generate_with_codes(n, seed, batch_size)[0]

    def evaluate(self, n, seed=0):
        """GANModel's metrics, and how well the categorical code names digits (``metrics.matched_accuracy``)."""
        images, codes = self.generate_with_codes(n, seed)
        report = _metrics.evaluate_samples(images, data_dir=self.cfg.data_dir)
        report["real_floor"] = _metrics.real_floor(n, data_dir=self.cfg.data_dir)
        digits = _metrics.classifier_outputs(images)[1].argmax(axis=1)
        report["code"] = _metrics.matched_accuracy(codes, digits, CATEGORIES)
        return report

    def format_report(self, report):
        return super().format_report(report) + "\n" + format_code(report["code"])


def format_code(code):
    """How well the categorical code names digits, in two lines; said plainly when it names fewer than ten.

    The matched accuracy pairs each value with its commonest digit, so values that share a digit
    all score: when every sample is an 8 it reads 1.000. Only a code that names ten different
    digits gets that number; otherwise the line says how few it names and gives the accuracy
    with one digit per value.
    """
    match = " ".join(f"{k}->{d}" for k, d in enumerate(code["code_to_digit"]))
    values = sum(d is not None for d in code["code_to_digit"])
    named = code["digits_matched"]
    one_to_one = code.get("one_to_one")
    if named >= min(values, 10):
        head = f"matched accuracy {code['accuracy']:.3f}, {named} different digits matched"
    else:
        digits = sorted({d for d in code["code_to_digit"] if d is not None})
        what = (f"every value draws the same digit ({digits[0]}): the code names no digit" if named == 1 else
                f"its {values} values name only {named} different digits ({', '.join(map(str, digits))})")
        head = what + ("" if one_to_one is None else f"; accuracy with one digit per value {one_to_one:.3f}")
    return f"      code: {head}\n            code -> digit: {match}"
