r"""One GAN training step, from the objective to the update.

Goodfellow et al. (2014) train D and G on the minimax game

    min_G max_D  V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))].

D ascends V: with logits l and D = sigmoid(l), that is binary cross-entropy
with real images labelled 1 and fakes labelled 0:

    L_D = BCE(l(x), 1) + BCE(l(G(z)), 0).

G descends V, i.e. minimises E_z[log(1 - D(G(z)))] ("minimax" loss). Early on
D rejects fakes easily, D(G(z)) ~ 0, where that curve is flat and G learns
nothing. The "non-saturating" loss maximises log D(G(z)) instead, which is
BCE(l(G(z)), 1): same fixed point, strong gradients when G is bad.

:class:`GANStep` does exactly this, one readable line per idea.
"""
from dataclasses import dataclass

import numpy as np

from .backend import get_array_module, to_device
from .layers.activations import sigmoid
from .losses import BCEWithLogits


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; training must stop."""


@dataclass
class StepStats:
    """What one training step measured (0-d arrays until read, so a GPU is not synced per step)."""

    d_loss: object
    g_loss: object
    d_real: object      # mean D(x) on the real batch
    d_fake: object      # mean D(G(z)) on the fake batch, before D's update
    d_acc: object       # fraction of real and fake images D classifies right

    def as_floats(self):
        return {k: float(v) for k, v in vars(self).items()}


class GANStep:
    """D and G, their optimizers, and the update rule of the original GAN.

    Parameters
    ----------
    G, D : Layer
        G maps noise (N, z_dim) to images; D maps images to logits (N, 1).
    opt_G, opt_D : Optimizer over ``G.parameters()`` and ``D.parameters()``.
    z_dim : int
    g_loss : "nonsaturating" (default) or "minimax".
    k : D steps per G step.
    label_smoothing : real labels become 1 - label_smoothing (one-sided: fakes stay 0).
    noise_rng : NumPy Generator for z (drawn on the CPU, then moved: the same seed
        gives the same noise on both backends, and its state goes into checkpoints).
    """

    def __init__(self, G, D, opt_G, opt_D, z_dim, g_loss="nonsaturating", k=1, label_smoothing=0.0,
                 noise_rng=None, backend="numpy"):
        if g_loss not in ("nonsaturating", "minimax"):
            raise ValueError(f"g_loss must be 'nonsaturating' or 'minimax', got {g_loss!r}")
        self.G, self.D, self.opt_G, self.opt_D = G, D, opt_G, opt_D
        self.z_dim, self.g_loss, self.k, self.label_smoothing = z_dim, g_loss, k, label_smoothing
        self.noise_rng = noise_rng if noise_rng is not None else np.random.default_rng(0)
        self.backend = backend
        self.bce = BCEWithLogits()

    def sample_z(self, n, dtype=np.float32):
        """z ~ N(0, I), shape (n, z_dim), on this step's backend."""
        return to_device(self.noise_rng.standard_normal((n, self.z_dim)).astype(dtype), self.backend)

    def d_step(self, real):
        """One update of D on a real batch and a fresh fake batch. Returns (stats, fake)."""
        fake = self.G(self.sample_z(real.shape[0], real.dtype))   # G runs forward only: no G update here
        stats = self.d_gradients(real, fake)
        self._check_finite(stats["d_loss"], "D")
        self.opt_D.step()
        return stats, fake

    def d_gradients(self, real, fake):
        """L_D = BCE(D(x), 1) + BCE(D(G(z)), 0); set D's .grad to dL_D/dθ_D. Returns stats."""
        xp = get_array_module(real)
        n = real.shape[0]
        ones = xp.full((n, 1), 1 - self.label_smoothing, dtype=real.dtype)
        zeros = xp.zeros((n, 1), dtype=real.dtype)
        self.D.zero_grad()
        logits_real = self.D(real)
        loss_real, dlogits = self.bce(logits_real, ones)       # -log D(x)
        self.D.backward(dlogits)                               # adds dL/dθ_D from the real half
        logits_fake = self.D(fake)
        loss_fake, dlogits = self.bce(logits_fake, zeros)      # -log(1 - D(G(z)))
        self.D.backward(dlogits)                               # ... plus the fake half
        d_acc = ((logits_real > 0).mean() + (logits_fake < 0).mean()) / 2
        return dict(d_loss=loss_real + loss_fake, d_real=sigmoid(logits_real).mean(),
                    d_fake=sigmoid(logits_fake).mean(), d_acc=d_acc)

    def g_step(self, fake):
        """One update of G through a D whose parameters do not move.

        ``fake`` is the batch G just produced in the D step: G's caches still
        hold that forward pass, so we can backpropagate into G without running
        it again (as the PyTorch DCGAN example does).
        """
        g_loss = self.g_gradients(fake)
        self._check_finite(g_loss, "G")
        self.opt_G.step()                                      # only G moves
        return g_loss

    def g_gradients(self, fake):
        """L_G on D(fake); set G's .grad to dL_G/dθ_G, flowing back through D. Returns L_G."""
        xp = get_array_module(fake)
        n = fake.shape[0]
        logits = self.D(fake)                                  # D after its update
        if self.g_loss == "nonsaturating":
            g_loss, dlogits = self.bce(logits, xp.ones((n, 1), dtype=fake.dtype))   # -log D(G(z))
        else:
            bce, dbce = self.bce(logits, xp.zeros((n, 1), dtype=fake.dtype))
            g_loss, dlogits = -bce, -dbce                      # log(1 - D(G(z))), to be minimised
        self.D.requires_grad_(False)                           # D does not move: skip dL/dθ_D
        try:
            dfake = self.D.backward(dlogits)                   # dL/dG(z), D's input gradient
        finally:
            self.D.requires_grad_(True)
        self.G.zero_grad()
        self.G.backward(dfake)                                 # dL/dθ_G = dL/dG(z) dG(z)/dθ_G
        return g_loss

    def step(self, real_batches):
        """k D steps (one real batch each) then one G step. Returns :class:`StepStats`."""
        for real in real_batches:
            stats, fake = self.d_step(real)
        g_loss = self.g_step(fake)
        return StepStats(g_loss=g_loss, **stats)

    def _check_finite(self, loss, who):
        if not np.isfinite(float(loss)):
            raise NonFiniteLossError(f"the {who} loss is {float(loss)}")
