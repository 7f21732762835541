"""Copying minigan's weights into a PyTorch twin, layer by layer (the benchmarks' yardstick).

PyTorch is imported here: only benchmarks and optional parity tests use this
package; minigan itself never imports PyTorch. A twin of a model is a module
of this folder (``twins/<model>.py``) that builds the same networks in PyTorch
and one training step written the way PyTorch code usually writes it.
"""
import statistics

import numpy as np
import torch
from timing import alternate, ratio_spread
from torch import nn

from minigan import BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d, Dense, InstanceNorm2d, PReLU, to_numpy

#: minigan layer type -> its PyTorch twin type (a twin module may add pairs: TWINS[LayerNorm] = nn.LayerNorm).
#: InstanceNorm2d(affine=True) keeps weight and bias (C,) as nn.InstanceNorm2d does; PReLU its slopes as
#: ``weight`` (C,) or (1,), as nn.PReLU does: both copy over as they are, like batchnorm's.
TWINS = {Dense: nn.Linear, Conv2d: nn.Conv2d, ConvTranspose2d: nn.ConvTranspose2d,
         BatchNorm1d: nn.BatchNorm1d, BatchNorm2d: nn.BatchNorm2d, InstanceNorm2d: nn.InstanceNorm2d,
         PReLU: nn.PReLU}


def torch_twin(layer):
    return TWINS[type(layer)]


def paired_layers(mg_model, t_model):
    """minigan's layers with parameters, each with its PyTorch twin (same order, checked types)."""
    ours = [m for m in mg_model.modules() if type(m) in TWINS]
    theirs = [m for m in t_model.modules() if isinstance(m, tuple(TWINS.values()))]
    if len(ours) != len(theirs):
        raise ValueError(f"minigan has {len(ours)} layers with parameters, PyTorch {len(theirs)}")
    for a, b in zip(ours, theirs):
        if not isinstance(b, torch_twin(a)):
            raise TypeError(f"minigan {a!r} is paired with PyTorch {b}")
    return list(zip(ours, theirs))


def paired_params(mg_model, t_model):
    """(label, minigan Parameter, PyTorch Parameter, transpose?) for every learnable array.

    minigan's Dense stores W as (in, out); nn.Linear as (out, in). Conv weights share a layout.
    """
    for a, b in paired_layers(mg_model, t_model):
        for name in ("weight", "bias"):
            p = getattr(a, name, None)
            if p is not None:
                yield f"{a!r}.{name}", p, getattr(b, name), isinstance(a, Dense) and name == "weight"


def copy_weights(mg_model, t_model):
    """Overwrite the PyTorch model's parameters and batchnorm statistics with minigan's."""
    def put(dst, src, transpose=False):
        src = to_numpy(src)
        src = src.T if transpose else src
        if tuple(src.shape) != tuple(dst.shape):
            raise ValueError(f"shape {src.shape} does not fit PyTorch's {tuple(dst.shape)}")
        dst.copy_(torch.from_numpy(np.ascontiguousarray(src)))

    with torch.no_grad():
        for _, p, t, transpose in paired_params(mg_model, t_model):
            put(t, p.data, transpose)
        for a, b in paired_layers(mg_model, t_model):
            if isinstance(a, (BatchNorm1d, BatchNorm2d)):
                put(b.running_mean, a.running_mean)
                put(b.running_var, a.running_var)


def rel_error(a, b):
    """max |a - b| / max |b| for minigan's a and PyTorch's b, CPU or CUDA.

    A gradient PyTorch never made counts as 0.
    """
    a = np.asarray(to_numpy(a), dtype=np.float64)
    b = np.zeros_like(a) if b is None else b
    b = np.asarray(b.detach().cpu().numpy() if hasattr(b, "detach") else b, dtype=np.float64)
    if not np.abs(b).max() and not np.abs(a).max():
        return 0.0
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-30))


def network_errors(name, mg_net, t_net, noise_floor=1e-4, moved=1e-3):
    """After one step of both: [(what, relative error)] of the network's gradients and of its weights.

    The gradients: the worst array's ``rel_error``. The weights after the step: the network's as one vector,
    relative to its largest entry (as wgan.py compares them; an array that starts at 0, a bias, holds only
    Adam's first move, about lr, so an error relative to that array alone says little of the arithmetic).
    Adam's first step moves a weight by about lr in its gradient's direction, whatever the gradient's size
    and the betas: the weights check the rate and each move's direction, the gradients are the close look.
    Left out: an array whose gradient is under ``noise_floor`` of the network's largest, from both (a bias
    just before a normalisation: its gradient is 0 up to rounding on both sides, and Adam turns that noise
    into full-size moves of either sign); and, from the weights only, the entries of an array whose gradient
    is under ``moved`` of the array's largest (rounding noise can flip their direction in the same way).
    PyTorch's ``.grad`` must still hold the step's gradients (``zero_grad`` comes before a backward).
    """
    pairs = []
    for _, p, t, transpose in paired_params(mg_net, t_net):
        g, w = to_numpy(p.grad), to_numpy(p.data)
        pairs.append((g.T if transpose else g, w.T if transpose else w, t))
    scale = max(float(np.abs(g).max()) for g, _, _ in pairs)
    kept = [(g, w, t) for g, w, t in pairs if np.abs(g).max() >= noise_floor * scale]
    grad = max(rel_error(g, t.grad) for g, _, t in kept)
    ours, theirs = [], []
    for g, w, t in kept:
        mask = np.abs(g) > moved * np.abs(g).max()
        ours.append(w[mask])
        theirs.append(t.detach().cpu().numpy()[mask])
    return [(f"dL/dθ_{name} (worst array)", grad),
            (f"θ_{name} after the step", rel_error(np.concatenate(ours), np.concatenate(theirs)))]


def time_pair(ours, theirs, rounds=5):
    """minigan's and PyTorch's step timed as bench.py times them: alternating blocks over ``rounds`` rounds.

    Returns minigan's and PyTorch's ms (medians over the rounds) and the ratio as bench.py prints
    it, ``1.18x (1.15-1.21)``: median and min-max of the per-round ratios.
    """
    ms_ours, ms_theirs = alternate([ours, theirs], rounds=rounds)
    ratio = ratio_spread(ms_ours, ms_theirs)
    line = f"{ratio.median:.2f}x ({ratio.min:.2f}-{ratio.max:.2f})"
    return statistics.median(ms_ours), statistics.median(ms_theirs), line
