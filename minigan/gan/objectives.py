r"""What D and G minimise, as objects: the original GAN's two G losses, the Wasserstein one, the hinge.

Every GAN objective here splits D's loss into a term on real outputs and a
term on fake outputs,

    L_D = l_real(D(x)) + l_fake(D(G(z))),        L_G = l_g(D(G(z))),

and each method returns ``(loss, dloss/dout)``, the gradient to feed
``D.backward``. The split is not a detail: a layer keeps one cache (its last
forward), so the step runs D on the real batch, backpropagates, then runs D
on the fake batch and backpropagates again (the gradients add up in
``.grad``). :meth:`Objective.stats` says what to log beside the losses; the
log's columns and the curves follow its keys, and ``panels`` groups them into
the plots.

Outputs are D's raw outputs of shape (N, 1): logits for the BCE objectives,
critic values for the Wasserstein one.
"""
from ..backend import get_array_module
from ..nn.layers.activations import sigmoid
from ..nn.losses import BCEWithLogits


class Objective:
    """Base class: ``d_real``, ``d_fake`` and ``g`` each return (mean loss, gradient w.r.t. D's output)."""

    #: plot panels beyond the losses: {title: (stat keys, reference line or None)}
    panels = {}

    def d_real(self, out):
        raise NotImplementedError

    def d_fake(self, out):
        raise NotImplementedError

    def g(self, out):
        raise NotImplementedError

    def stats(self, out_real, out_fake):
        """What to log about D's outputs (0-d arrays: read once per logging interval, not per step)."""
        return {}


class NonSaturating(Objective):
    r"""The original GAN's D loss, and G's non-saturating loss (Goodfellow et al. 2014).

    D maximises :math:`\log D(x) + \log(1 - D(G(z)))` with :math:`D = \sigma(\text{logit})`:
    binary cross-entropy with real labelled 1 (or ``1 - label_smoothing``) and fake 0.
    G minimises :math:`-\log D(G(z))` = BCE(logit, 1): same fixed point as the
    minimax loss, and strong gradients while G is bad.
    """

    panels = {"D output": (("d_real", "d_fake"), 0.5), "D accuracy": (("d_acc",), 0.5)}

    def __init__(self, label_smoothing=0.0):
        if not 0 <= label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}")
        self.label_smoothing = label_smoothing
        self.bce = BCEWithLogits()

    def _bce(self, out, target):
        xp = get_array_module(out)
        return self.bce(out, xp.full(out.shape, target, dtype=out.dtype))

    def d_real(self, out):
        return self._bce(out, 1 - self.label_smoothing)          # -log D(x) (one-sided smoothing)

    def d_fake(self, out):
        return self._bce(out, 0.0)                               # -log(1 - D(G(z)))

    def g(self, out):
        return self._bce(out, 1.0)                               # -log D(G(z))

    def stats(self, out_real, out_fake):
        acc = ((out_real > 0).mean() + (out_fake < 0).mean()) / 2   # D's accuracy at threshold 1/2
        return dict(d_real=sigmoid(out_real).mean(), d_fake=sigmoid(out_fake).mean(), d_acc=acc)


class Minimax(NonSaturating):
    r"""G minimises :math:`\log(1 - D(G(z)))` itself: the game as written, flat while D wins."""

    def g(self, out):
        loss, grad = self._bce(out, 0.0)                         # -log(1 - D(G(z)))
        return -loss, -grad                                      # log(1 - D(G(z))), to be minimised


class Wasserstein(Objective):
    r"""The WGAN critic (Arjovsky et al. 2017): no sigmoid, no logs.

    The critic maximises :math:`E[D(x)] - E[D(G(z))]`, an estimate of the
    Wasserstein-1 distance when D is 1-Lipschitz; so it minimises
    :math:`-E[D(x)] + E[D(G(z))]`, and G minimises :math:`-E[D(G(z))]`. For a
    mean over N outputs each gradient entry is :math:`\pm 1/N`.
    """

    panels = {"Wasserstein estimate E[D(x)] - E[D(G(z))]": (("wasserstein",), None)}

    @staticmethod
    def _mean(out, sign):
        xp = get_array_module(out)
        return sign * out.mean(), xp.full(out.shape, sign / out.size, dtype=out.dtype)   # d(±mean)/d out = ±1/N

    def d_real(self, out):
        return self._mean(out, -1.0)                             # -E[D(x)]

    def d_fake(self, out):
        return self._mean(out, 1.0)                              # +E[D(G(z))]

    def g(self, out):
        return self._mean(out, -1.0)                             # -E[D(G(z))]

    def stats(self, out_real, out_fake):
        return dict(wasserstein=out_real.mean() - out_fake.mean())


class Hinge(Objective):
    r"""The hinge loss of SNGAN, SAGAN and BigGAN (Lim & Ye 2017; Miyato et al. 2018).

    D minimises :math:`E[\max(0, 1 - D(x))] + E[\max(0, 1 + D(G(z)))]`: a real
    output above 1 or a fake one below -1 costs nothing, so D stops pushing on
    samples it already separates by a margin. G minimises :math:`-E[D(G(z))]`,
    as in WGAN. Each term's gradient is :math:`\mp 1/N` where its hinge is
    active and 0 elsewhere.
    """

    panels = {"D output (raw)": (("d_real", "d_fake"), 0.0), "D accuracy": (("d_acc",), 0.5)}

    def d_real(self, out):
        active = out < 1                                         # where 1 - D(x) > 0
        n = out.dtype.type(out.size)
        return (active * (1 - out)).sum() / n, -active.astype(out.dtype) / n   # d/dout = -[D(x) < 1] / N

    def d_fake(self, out):
        active = out > -1                                        # where 1 + D(G(z)) > 0
        n = out.dtype.type(out.size)
        return (active * (1 + out)).sum() / n, active.astype(out.dtype) / n    # d/dout = [D(G(z)) > -1] / N

    def g(self, out):
        return Wasserstein._mean(out, -1.0)                      # -E[D(G(z))]

    def stats(self, out_real, out_fake):
        acc = ((out_real > 0).mean() + (out_fake < 0).mean()) / 2
        return dict(d_real=out_real.mean(), d_fake=out_fake.mean(), d_acc=acc)


class LeastSquares(Objective):
    r"""The least-squares GAN (Mao et al. 2017), CycleGAN's objective: D regresses real to 1, fake to 0.

    D minimises :math:`\tfrac12 E[(D(x) - 1)^2] + \tfrac12 E[D(G(z))^2]` and G
    minimises :math:`\tfrac12 E[(D(G(z)) - 1)^2]`, on D's raw outputs (no
    sigmoid). A fake that D scores far on the real side of the boundary still
    costs G, so G keeps moving its samples towards the data instead of
    stopping once D is fooled. The mean is over every output entry, so a
    PatchGAN's (N, 1, h, w) map is averaged over its patches.
    """

    panels = {"D output (raw)": (("d_real", "d_fake"), 0.5)}

    @staticmethod
    def _half_squared(out, target):
        diff = out - out.dtype.type(target)
        n = out.dtype.type(out.size)
        return (diff * diff).sum() / (2 * n), diff / n           # d/dout (1/2n) sum (D - target)^2 = (D - target)/n

    def d_real(self, out):
        return self._half_squared(out, 1.0)                      # 1/2 E[(D(x) - 1)^2]

    def d_fake(self, out):
        return self._half_squared(out, 0.0)                      # 1/2 E[D(G(z))^2]

    def g(self, out):
        return self._half_squared(out, 1.0)                      # 1/2 E[(D(G(z)) - 1)^2]

    def stats(self, out_real, out_fake):
        return dict(d_real=out_real.mean(), d_fake=out_fake.mean())


#: The objectives a ``--g-loss`` flag may name.
BCE_OBJECTIVES = {"nonsaturating": NonSaturating, "minimax": Minimax}
#: The objectives of the original GAN's family a ``--g-loss`` flag may name (BCE for D, or the hinge).
GAN_OBJECTIVES = {"nonsaturating": NonSaturating, "minimax": Minimax, "hinge": Hinge}


def from_settings(name, label_smoothing=0.0):
    """The objective ``--objective`` names, with ``--label-smoothing`` for the BCE ones."""
    if name in BCE_OBJECTIVES:
        return BCE_OBJECTIVES[name](label_smoothing=label_smoothing)
    return GAN_OBJECTIVES[name]()
