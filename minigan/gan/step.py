r"""The pieces every GAN step is made of, written once: a term of D's loss, and G's loss through D.

A GAN's discriminator learns from a loss with one term per kind of input,

    L_D = l_real(D(x)) + l_fake(D(G(z)))        (+ more terms: a matching-aware D's wrong captions, ...)

and its generator from a loss on D's judgement of its own images, L_G = l_g(D(G(z))). Every
model's step, in its own file, is these pieces in the order the maths runs:

- :func:`add_d_term`: D on one batch, one term of L_D, its gradient *added* into D's ``.grad``
  (as every backward adds), without dL/d(input): nobody reads the gradient of a batch of images.
- :func:`add_d_loss`: the two terms of the game, the real batch's and the fake batch's. A layer
  keeps one cache (its last forward), so D runs on the real batch and back, then on the fake
  batch and back.
- :func:`loss_through_d`: G's loss on D's output, and its gradient with respect to what D was
  shown, D held still: what ``G.backward`` is handed.

Each loss is a function ``out -> (mean loss, dloss/dout)``: an objective's ``d_real``,
``d_fake`` or ``g`` (``objectives.py``). ``weight`` scales a term (pix2pix halves D's loss,
SRGAN weighs the adversarial term by 10^-3). D's inputs may be a tuple (image, condition): D
takes what it was built to take.
"""
from ..nn import input_gradient


def add_d_term(D, loss, x, weight=None):
    """D's .grad += weight * d l(D(x)) / dθ_D. Returns (l(D(x)), D(x)); ``x`` is held fixed."""
    out = D(x)
    value, dout = loss(out)
    if weight is not None:
        dout = dout * out.dtype.type(weight)
    with D.no_input_grad():                                     # only dL/dθ_D: skip dL/d(images)
        D.backward(dout)
    return value, out


def add_d_loss(D, objective, real, fake, weight=None):
    """D's .grad += dL_D/dθ_D, L_D = l_real(D(real)) + l_fake(D(fake)). Returns (L_D, D(real), D(fake))."""
    loss_real, out_real = add_d_term(D, objective.d_real, real, weight)     # -log D(x) for the BCE game
    loss_fake, out_fake = add_d_term(D, objective.d_fake, fake, weight)     # -log(1 - D(G(z)))
    loss = loss_real + loss_fake
    return (loss if weight is None else weight * loss), out_real, out_fake


def loss_through_d(D, loss, x, weight=None):
    """(l(D(x)), dl/dx): a loss of D's output and its gradient with respect to D's input, θ_D held still.

    With ``x`` a tuple (image, condition), dl/dx is a tuple too, the image's part first.
    """
    out = D(x)
    value, dout = loss(out)
    if weight is not None:
        dout = out.dtype.type(weight) * dout
    return value, input_gradient(D, dout)                       # D's backward for dL/dx only
