r"""Gradient penalties: a function of the critic's input gradient, differentiated by hand once more.

WGAN-GP (Gulrajani et al. 2017) and R1 (Mescheder et al. 2018) add to the
critic's loss a penalty on :math:`g_n = \nabla_x D(x_n)`, the gradient of the
critic's output with respect to its input, sample by sample:

    WGAN-GP:  P = λ mean_n (‖g_n‖ - 1)²     at x̂ = εx + (1-ε)G(z)
    R1:       P = γ/2 mean_n ‖g_n‖²         at real images x

Both share one core, :func:`penalize_input_gradient`, in three passes:

1. **forward** D(x), then D's ordinary **backward** with dL/dD = 1 for every
   sample. Row n of the result is the gradient of sum_m D(x_m) with respect
   to x_n: sample n's own gradient g_n when no layer mixes samples (Dense,
   Conv2d, LayerNorm, the activations, SpectralNorm). MinibatchStd mixes the
   samples of a group; with it, row n also holds the other samples'
   dependence on x_n, and the penalty is on that (docs/layers/minibatch_std.md).
   This backward needs no parameter gradients: they are switched off for it.
2. the penalty P(g) and its gradient dP/dg, which is closed-form (below).
3. D's **double backward** with ddx = dP/dg: each layer differentiates its
   own backward once more and adds dP/dθ into ``.grad`` (``nn.py``).

Batchnorm mixes the samples of a batch, so step 1 would not give per-sample
gradients, and it has no double backward: a critic holding one is refused
before any work, with an error that names the layer.
"""
import numpy as np

from ..backend import get_array_module
from ..nn import Layer, is_real


def layer_without_double_backward(D):
    """The first layer of ``D`` (itself included) that has no double backward, or None."""
    for layer in D.modules():
        if type(layer).double_backward is Layer.double_backward:
            return layer
    return None


def check_critic(D):
    """Raise :class:`~minigan.nn.DoubleBackwardError` naming the first layer of ``D`` without a double backward."""
    layer = layer_without_double_backward(D)
    if layer is not None:
        layer.double_backward(None)   # the layer's own error: its name, and its hint (batchnorm says why)


def check_weight(where, weight):
    """A penalty weight is a finite number >= 0, or a ValueError naming ``where``."""
    if not is_real(weight) or not 0 <= weight < np.inf:
        raise ValueError(f"{where}: weight must be a finite number >= 0, got {weight!r}")
    return float(weight)


def per_sample_norms(g):
    """‖g_n‖₂ over every axis but the batch axis: shape (N,)."""
    return get_array_module(g).sqrt((g * g).reshape(len(g), -1).sum(axis=1))


def _per_sample(v, g):
    """(N,) numbers shaped to broadcast against g's (N, ...)."""
    return v.reshape((len(g),) + (1,) * (g.ndim - 1))


def wgan_gp_term(g, norms, weight):
    r"""P = λ mean_n (‖g_n‖ - 1)² and dP/dg_n = (2λ/N) (‖g_n‖ - 1) g_n / ‖g_n‖.

    At g_n = 0 the norm has no gradient; its subgradient 0 is used (as PyTorch's norm does).
    """
    xp = get_array_module(g)
    gap = norms - 1                                                     # ‖g_n‖ - 1
    value = g.dtype.type(weight) * (gap * gap).mean()
    unit = g / _per_sample(xp.maximum(norms, np.finfo(g.dtype).tiny), g)   # g_n / ‖g_n‖ (0 where g_n = 0)
    coef = g.dtype.type(2 * weight / len(g)) * gap                      # 2λ/N (‖g_n‖ - 1)
    return value, _per_sample(coef, g) * unit                           # dP/dg_n = coef_n g_n / ‖g_n‖


def r1_term(g, norms, weight):
    r"""P = γ/2 mean_n ‖g_n‖² and dP/dg_n = (γ/N) g_n."""
    value = g.dtype.type(weight / 2) * (norms * norms).mean()
    return value, g * g.dtype.type(weight / len(g))                     # dP/dg_n = γ/N g_n


def penalize_input_gradient(D, x, term, weight):
    """The shared core: P = term(∇ₓD(x)); dP/dθ_D is *added* into D's ``.grad``.

    Parameters
    ----------
    D : Layer whose output is one number per sample, shape (N, 1) or (N,),
        and whose every layer has a double backward.
    x : (N, ...) the points the gradient is taken at.
    term : ``term(g, norms, weight) -> (P, dP/dg)`` (:func:`wgan_gp_term`, :func:`r1_term`).
    weight : the penalty's weight, >= 0.

    Returns
    -------
    (P, norms): the penalty (a 0-d array) and the per-sample norms ‖∇ₓD(x_n)‖, shape (N,).
    """
    # --8<-- [start:penalize-input-gradient]
    check_critic(D)
    xp = get_array_module(x)
    out = D(x)
    if out.shape not in ((len(x), 1), (len(x),)):
        raise ValueError(f"a gradient penalty needs one critic value per sample, shape ({len(x)}, 1); "
                         f"{D!r} returned shape {tuple(out.shape)}")
    flags = [(layer, layer.requires_grad) for layer in D.modules()]
    D.requires_grad_(False)                          # step 1 needs dD/dx only, not dD/dθ
    try:
        g = D.backward(xp.ones_like(out))            # g_n = ∇_{x_n} sum_m D(x_m): ∇ₓD(x_n) unless a layer mixes samples
    finally:
        for layer, flag in flags:
            layer.requires_grad = flag
    norms = per_sample_norms(g)
    value, dg = term(g, norms, weight)               # P and dP/dg
    D.double_backward(dg)                            # adds dP/dθ_D into .grad
    return value, norms
    # --8<-- [end:penalize-input-gradient]


def gradient_penalty(D, x_hat, weight=10.0):
    """WGAN-GP's penalty λ E[(‖∇D(x̂)‖₂ - 1)²], its gradient added into D's ``.grad``. Returns the penalty.

    ``x_hat`` (N, ...) are the points between real and fake images,
    x̂ = εx + (1-ε)G(z) with ε ~ U[0, 1] per sample; ``weight`` is λ (the
    paper's 10). Like ``backward``, the gradient is *added*: zero D's
    gradients first, or call it after the critic's loss backward to get the
    sum of both.
    """
    value, _ = penalize_input_gradient(D, x_hat, wgan_gp_term, check_weight("gradient_penalty", weight))
    return value


def r1_penalty(D, real, weight=10.0):
    """R1's penalty γ/2 E[‖∇D(x)‖₂²] on real images, its gradient added into D's ``.grad``.

    Returns the penalty; ``weight`` is γ (Mescheder et al. 2018). As :func:`gradient_penalty`, the gradient is *added*.
    """
    value, _ = penalize_input_gradient(D, real, r1_term, check_weight("r1_penalty", weight))
    return value
