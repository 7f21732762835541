"""Walking a generator's latent space: interpolation, digit latents, vector arithmetic.

Every function takes the generator ``G`` (in eval mode, as
:func:`minigan.training.run.load_generator` returns it) and works on G's backend:
latent vectors are moved to the backend and dtype of G's first parameter, and
images come back there too. Random latents are drawn from a NumPy generator,
so one seed gives the same latents on NumPy and on CuPy.

>>> G, task = load_generator("runs/mlp_gan")
>>> zs = find_digit_latents(G, task.cfg.z_dim, digit=3, n=1)
>>> images = interpolate(G, zs[0], find_digit_latents(G, task.cfg.z_dim, 4, 1)[0], steps=10)

See ``docs/latent.md``.
"""
import numpy as np

from ..backend import backend_of, get_array_module, to_device, to_numpy
from ..nn import Layer


def _on_g(G, z):
    """``z`` on the backend and in the dtype of G's first parameter."""
    w = G.parameters()[0].data
    return to_device(z, backend_of(w)).astype(w.dtype, copy=False)


def decode(G, z):
    """Images ``G(z)`` with G in eval mode (its mode is restored afterwards).

    Parameters
    ----------
    G : minigan.nn.Layer
    z : array (N, z_dim), NumPy or CuPy
        Moved to G's backend and dtype.

    Returns
    -------
    array (N, 1, 28, 28) on G's backend
    """
    was_training = G.training
    G.eval()
    try:
        return G(_on_g(G, z))
    finally:
        G.train(was_training)


def classify(images, classifier=None):
    """Class probabilities of images, as a float64 NumPy array (N, 10).

    Parameters
    ----------
    images : array (N, 1, 28, 28) in [-1, 1]
    classifier : Layer or callable, optional
        ``None`` (the committed MNIST classifier) or a minigan network: run
        through :func:`minigan.metrics.classifier_outputs`. Any other callable
        is called as ``classifier(images)`` and must return probabilities.
    """
    if classifier is None or isinstance(classifier, Layer):
        from .. import metrics  # imported here: interpolation needs no classifier
        return metrics.classifier_outputs(images, classifier)[1]
    return np.asarray(to_numpy(classifier(images)), dtype=np.float64)


def slerp(z0, z1, t):
    """Spherical linear interpolation from ``z0`` (t = 0) to ``z1`` (t = 1).

    .. math::

        \\mathrm{slerp}(z_0, z_1; t) = \\frac{\\sin((1 - t)\\,\\Omega)}{\\sin \\Omega} z_0
            + \\frac{\\sin(t\\,\\Omega)}{\\sin \\Omega} z_1,
        \\qquad \\cos \\Omega = \\frac{z_0 \\cdot z_1}{\\lVert z_0 \\rVert \\lVert z_1 \\rVert}

    Between vectors of equal norm the path keeps that norm (a great-circle
    arc), where a straight line would cut through the low-density middle of
    the Gaussian. When the vectors are (anti)parallel, ``sin Ω`` is 0 and the
    linear interpolation is returned.

    Parameters
    ----------
    z0, z1 : array (D,), NumPy or CuPy
    t : float or array (T,)

    Returns
    -------
    array (D,) for a scalar ``t``, (T, D) for an array
    """
    xp = get_array_module(z0, z1)
    dtype = xp.result_type(z0, z1)
    z0, z1 = z0.astype(xp.float64), z1.astype(xp.float64)  # computed in float64, returned in the input dtype
    t = xp.asarray(t, dtype=xp.float64)
    t = t[:, None] if t.ndim else t
    norms = float(xp.linalg.norm(z0) * xp.linalg.norm(z1))
    omega = np.arccos(np.clip(float(xp.dot(z0, z1)) / norms, -1.0, 1.0)) if norms > 0 else 0.0
    sin = np.sin(omega)
    if sin < 1e-6:  # (anti)parallel, or a zero vector
        return ((1 - t) * z0 + t * z1).astype(dtype)
    return ((xp.sin((1 - t) * omega) * z0 + xp.sin(t * omega) * z1) / sin).astype(dtype)


def interpolate(G, z0, z1, steps=10, mode="slerp"):
    """Decode ``steps`` points on the path from ``z0`` to ``z1`` (both ends included).

    Parameters
    ----------
    G : minigan.nn.Layer
        The generator.
    z0, z1 : array (z_dim,)
    steps : int, >= 2
    mode : {"slerp", "linear"}

    Returns
    -------
    array (steps, 1, 28, 28) on G's backend; the first image is ``G(z0)``, the last ``G(z1)``.
    """
    if mode not in ("slerp", "linear"):
        raise ValueError(f"mode must be 'slerp' or 'linear', got {mode!r}")
    if steps < 2:
        raise ValueError(f"steps must be at least 2, got {steps}")
    z0, z1 = _on_g(G, z0), _on_g(G, z1)
    xp = get_array_module(z0)
    t = xp.linspace(0, 1, steps, dtype=z0.dtype)
    z = slerp(z0, z1, t) if mode == "slerp" else (1 - t[:, None]) * z0 + t[:, None] * z1
    return decode(G, z)


def find_digit_latents(G, z_dim, digit, n, classifier=None, rng=None, confidence=0.9, batch_size=256,
                       max_batches=100):
    """Latent vectors whose images the classifier labels ``digit`` with probability >= ``confidence``.

    Draws batches of ``z ~ N(0, I)`` until ``n`` are found.

    Parameters
    ----------
    G : minigan.nn.Layer
    z_dim : int
    digit : int, 0..9
    n : int
    classifier : Layer or callable, optional
        See :func:`classify` (default: the committed MNIST classifier).
    rng : numpy.random.Generator, optional
        Draws the latents (default: a fresh unseeded generator).
    confidence : float
    batch_size : int
    max_batches : int
        Give up after this many batches.

    Returns
    -------
    array (n, z_dim) on G's backend

    Raises
    ------
    RuntimeError
        Fewer than ``n`` were found in ``max_batches`` batches (the generator
        rarely draws this digit, or not confidently enough).
    """
    rng = np.random.default_rng() if rng is None else rng
    found = []
    for _ in range(max_batches):
        z = _on_g(G, rng.standard_normal((batch_size, z_dim)))
        probs = classify(decode(G, z), classifier)
        keep = np.flatnonzero((probs.argmax(axis=1) == digit) & (probs[:, digit] >= confidence))
        found += [z[i] for i in keep.tolist()]
        if len(found) >= n:
            return get_array_module(z).stack(found[:n])
    raise RuntimeError(f"found only {len(found)} of {n} latents the classifier labels {digit} with "
                       f"probability >= {confidence} in {max_batches * batch_size} samples; lower the "
                       f"confidence (--confidence), draw more (max_batches, --max-batches), or train the "
                       f"generator longer")


def digit_means(G, z_dim, digits, per_digit=32, classifier=None, rng=None, confidence=0.9, **kwargs):
    """The mean latent vector of ``per_digit`` latents of each digit.

    Parameters
    ----------
    G, z_dim, classifier, rng, confidence
        As in :func:`find_digit_latents` (``kwargs`` go there too).
    digits : iterable of int
    per_digit : int

    Returns
    -------
    dict
        ``{digit: array (z_dim,) on G's backend}``.
    """
    rng = np.random.default_rng() if rng is None else rng
    return {d: find_digit_latents(G, z_dim, d, per_digit, classifier, rng, confidence, **kwargs).mean(axis=0)
            for d in digits}


def latent_arithmetic(G, means, a, b, c, classifier=None):
    """Decode ``means[a] - means[b] + means[c]`` and say which digit the classifier sees.

    The vector arithmetic of Radford et al. (2015), on averaged latents.

    Parameters
    ----------
    G : minigan.nn.Layer
    means : dict
        ``{digit: mean latent}``, e.g. from :func:`digit_means`.
    a, b, c : int
        Keys of ``means``.
    classifier : Layer or callable, optional
        See :func:`classify`.

    Returns
    -------
    dict
        ``z``: array (4, z_dim) on G's backend, the rows ``means[a]``,
        ``means[b]``, ``means[c]`` and ``a - b + c``; ``images``: their
        images (4, 1, 28, 28); ``predicted``: the classifier's digit for each
        (list of 4 ints); ``confidence``: its probability (list of 4 floats).
    """
    za, zb, zc = (_on_g(G, means[k]) for k in (a, b, c))
    z = get_array_module(za).stack([za, zb, zc, za - zb + zc])
    images = decode(G, z)
    probs = classify(images, classifier)
    return {"z": z, "images": images, "predicted": probs.argmax(axis=1).tolist(),
            "confidence": probs.max(axis=1).tolist()}
