"""Weight initialisers, drawn from a seeded NumPy generator and then moved.

Every layer draws its starting weights on the CPU from a NumPy
``Generator``: the one passed as ``rng=``, or else the library's default one,
which :func:`seed` resets. The arrays are then moved to the current backend, so
the same seed gives bit-identical starting weights on NumPy and on CuPy.

``fan_in`` of a weight is the number of inputs each output sums over
(``in_features`` for Dense, ``in_channels * kH * kW`` for Conv2d).
"""
import math

import numpy as np

from ..backend import backend_of, to_device

_default_rng = np.random.default_rng(0)


def seed(s):
    """Reset the default generator used to draw initial weights (and by :func:`rng`)."""
    global _default_rng
    _default_rng = np.random.default_rng(s)


def rng(r=None):
    """``r`` itself if given, else the library's default NumPy generator."""
    return _default_rng if r is None else r


def uniform(shape, bound, dtype=np.float32, r=None, backend=None):
    """U(-bound, bound), drawn in float64 on the CPU, cast, then moved."""
    a = rng(r).uniform(-bound, bound, size=shape).astype(dtype)
    return to_device(a, backend)


def normal(shape, mean=0.0, std=1.0, dtype=np.float32, r=None, backend=None):
    """N(mean, std^2), drawn on the CPU, cast, then moved."""
    a = rng(r).normal(mean, std, size=shape).astype(dtype)
    return to_device(a, backend)


def fan_in_out(shape, transposed=False):
    """(fan_in, fan_out) of a weight. Dense: (in, out). Conv2d: (out, in, kH, kW)."""
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[2:]))
    out, inp = (shape[1], shape[0]) if transposed else (shape[0], shape[1])
    return inp * receptive, out * receptive


def glorot_uniform(shape, gain=1.0, **kw):
    """Glorot/Xavier: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    fi, fo = fan_in_out(shape)
    return uniform(shape, gain * math.sqrt(6.0 / (fi + fo)), **kw)


def glorot_normal(shape, gain=1.0, **kw):
    """Glorot/Xavier: N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out))."""
    fi, fo = fan_in_out(shape)
    return normal(shape, 0.0, gain * math.sqrt(2.0 / (fi + fo)), **kw)


def he_normal(shape, negative_slope=0.0, fan_in=None, **kw):
    """He/Kaiming for (leaky) ReLU: N(0, 2 / ((1 + a^2) fan_in))."""
    fi = fan_in or fan_in_out(shape)[0]
    return normal(shape, 0.0, math.sqrt(2.0 / ((1 + negative_slope ** 2) * fi)), **kw)


def he_uniform(shape, negative_slope=0.0, fan_in=None, **kw):
    """He/Kaiming uniform: U(-b, b), b = sqrt(6 / ((1 + a^2) fan_in))."""
    fi = fan_in or fan_in_out(shape)[0]
    return uniform(shape, math.sqrt(6.0 / ((1 + negative_slope ** 2) * fi)), **kw)


def default_uniform(shape, fan_in, **kw):
    """PyTorch's default for Dense/Conv weights and biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    return uniform(shape, 1.0 / math.sqrt(fan_in), **kw)


def dcgan_init(model, r=None):
    """The DCGAN paper's initialisation, in place on every layer of ``model``.

    Conv, transposed-conv and dense weights ~ N(0, 0.02); batchnorm scale
    (gamma) ~ N(1, 0.02); all biases 0. A layer says which it is with its
    ``init_kind`` ("linear" or "norm"); others are left alone.
    """
    # --8<-- [start:dcgan-init]
    for layer in model.modules():
        if layer.init_kind == "linear":
            _fill(layer.weight, normal(layer.weight.shape, 0.0, 0.02, r=r, backend="numpy"))
        elif layer.init_kind == "norm":
            _fill(layer.weight, normal(layer.weight.shape, 1.0, 0.02, r=r, backend="numpy"))
        else:
            continue
        if getattr(layer, "bias", None) is not None:
            layer.bias.data[...] = 0
    # --8<-- [end:dcgan-init]
    return model


def _fill(param, values_numpy):
    """Overwrite a parameter's data with NumPy ``values``, keeping its dtype and backend."""
    values = values_numpy.astype(param.data.dtype)
    param.data[...] = to_device(values, backend_of(param.data))
