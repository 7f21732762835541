"""Numerical gradients by centred finite differences, for checking backward passes.

    df/dx_i  ~  (f(x + h e_i) - f(x - h e_i)) / (2 h)

The error of this estimate is O(h^2); in float64 with h = 1e-5 it agrees with a
correct analytic gradient to about 1e-8 relative error or better. Use float64:
in float32 the rounding error of f swamps the difference.

Shipped for users: check your own layer with :func:`check_layer`.
"""
import numpy as np

from ..backend import get_array_module, to_numpy


def rel_error(a, b, eps=1e-12):
    """max |a - b| / max(max |a|, max |b|): one number for how far apart two arrays are."""
    # --8<-- [start:rel-error]
    a, b = to_numpy(a).astype(np.float64), to_numpy(b).astype(np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)), eps))
    # --8<-- [end:rel-error]


def numerical_gradient(f, x, h=1e-5):
    """d f / d x for a scalar function ``f()`` that reads the array ``x``.

    ``x`` is perturbed in place, one entry at a time, and restored.
    """
    xp = get_array_module(x)
    grad = xp.zeros_like(x)
    if not x.flags.c_contiguous:
        raise ValueError("numerical_gradient: x must be C-contiguous so it can be perturbed in place")
    # --8<-- [start:numerical-gradient]
    flat, gflat = x.reshape(-1), grad.reshape(-1)   # views of x and grad
    for i in range(flat.size):
        old = flat[i].item()
        flat[i] = old + h
        f_plus = float(f())
        flat[i] = old - h
        f_minus = float(f())
        flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2 * h)
    return grad
    # --8<-- [end:numerical-gradient]


def numerical_gradient_layer(forward, x, dy, h=1e-5):
    """d <forward(x), dy> / d x: the gradient a backward given ``dy`` must return."""
    xp = get_array_module(x)
    return numerical_gradient(lambda: xp.sum(forward() * dy), x, h)


def check_parameters(net, loss, entries=5, h=1e-6, seed=0):
    """Each parameter's ``.grad`` at a few random entries against centred differences of ``loss()``.

    For a whole model's step, where the loss is not ``sum(layer(x) * dy)``: call the step's
    gradient method first (it fills ``.grad``), then this with ``loss`` recomputing the same loss
    from forward passes alone. Returns ``{name: relative error}``; a parameter whose analytic and
    numerical gradients are both under 1e-8 (a bias just before batchnorm, which cannot move the
    loss) is left out. Run it in float64.
    """
    errors = {}
    for name, p in net.named_parameters():
        picked = np.random.default_rng(seed).choice(p.data.size, size=min(entries, p.data.size), replace=False)
        idx = [np.unravel_index(i, p.data.shape) for i in picked]
        analytic = np.array([float(p.grad[i]) for i in idx])
        numeric = []
        for i in idx:
            old = float(p.data[i])
            p.data[i] = old + h
            up = float(loss())
            p.data[i] = old - h
            down = float(loss())
            p.data[i] = old
            numeric.append((up - down) / (2 * h))
        if max(np.abs(analytic).max(), np.abs(numeric).max()) >= 1e-8:
            errors[name] = rel_error(analytic, np.array(numeric))
    return errors


def check_layer(layer, x, dy=None, h=1e-5, seed=0):
    """Compare ``layer.backward`` with finite differences for the input and every parameter.

    Uses the scalar L = sum(layer(x) * dy), whose gradient with respect to the
    output is ``dy`` (random if not given). Returns ``{"x": err, "weight": err, ...}``
    of relative errors. Run it in float64: ``layer.to(dtype=np.float64)``.
    """
    xp = get_array_module(x)
    x = x.copy()
    y = layer(x)
    if dy is None:
        dy = xp.asarray(np.random.default_rng(seed).standard_normal(y.shape)).astype(y.dtype)
    layer.zero_grad()
    layer(x)
    dx = layer.backward(dy)
    analytic = {"x": dx}
    analytic.update({name: p.grad.copy() for name, p in layer.named_parameters()})

    def loss():
        return xp.sum(layer(x) * dy)

    # --8<-- [start:check-layer]
    errors = {"x": rel_error(dx, numerical_gradient(loss, x, h))}
    for name, p in layer.named_parameters():
        errors[name] = rel_error(analytic[name], numerical_gradient(loss, p.data, h))
    return errors
    # --8<-- [end:check-layer]


def check_double_backward(layer, x, dy=None, ddx=None, h=1e-5, seed=0):
    """Compare ``layer.double_backward`` with finite differences of ``layer.backward``.

    Backward is a function dx = B(x, θ, dy). Take the scalar
    P = sum(B(x, θ, dy) * ddx), whose gradient with respect to dx is ``ddx``
    (random if not given, like ``dy``): double backward must return
    dP/d(dy) and the second-order term dP/dx, and add dP/dθ into ``.grad``.
    Each is compared with centred differences of P. Returns
    ``{"dy": err, "x": err, "weight": err, ...}``. Run it in float64.
    """
    xp = get_array_module(x)
    r = np.random.default_rng(seed)
    x = x.copy()
    y = layer(x)
    if dy is None:
        dy = xp.asarray(r.standard_normal(y.shape)).astype(y.dtype)
    dy = dy.copy()
    if ddx is None:
        ddx = xp.asarray(r.standard_normal(x.shape)).astype(x.dtype)

    def first_backward():
        """B(x, θ, dy) from a fresh forward, leaving .grad alone."""
        layer.requires_grad_(False)
        try:
            layer(x)
            return layer.backward(dy)
        finally:
            layer.requires_grad_(True)

    layer.zero_grad()
    first_backward()
    ddy, dx_extra = layer.double_backward(ddx)                  # adds dP/dθ into .grad
    analytic = {"dy": ddy, "x": xp.zeros_like(x) if dx_extra is None else dx_extra}
    analytic.update({name: p.grad.copy() for name, p in layer.named_parameters()})

    def P():
        return xp.sum(first_backward() * ddx)

    errors = {"dy": rel_error(analytic["dy"], numerical_gradient(P, dy, h)),
              "x": rel_error(analytic["x"], numerical_gradient(P, x, h))}
    for name, p in layer.named_parameters():
        errors[name] = rel_error(analytic[name], numerical_gradient(P, p.data, h))
    return errors
