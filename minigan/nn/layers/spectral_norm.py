r"""Spectral normalisation (Miyato et al. 2018): a layer's weight divided by its largest singular value.

    W_sn = W / σ(W),    σ(W) = max_{|v| = 1} |W v| = u^T W v

for the top singular pair (u, v). One power iteration per training step keeps
(u, v) close to it, cheaply, because W moves little from step to step:

    v <- W^T u / |W^T u|,    u <- W v / |W v|,    σ = u^T W v.

A normalised Dense layer is then 1-Lipschitz: its output cannot change faster
than its input. A normalised Conv2d is not quite: σ is the largest singular
value of the kernel's (C_out, C_in kH kW) matrix, and the convolution, which
applies that matrix to overlapping windows, has an operator norm of up to
about sqrt(ceil(kH/s) ceil(kW/s)) σ (3 for a 3x3 kernel at stride 1, 2 for a
4x4 at stride 2; docs/layers/spectral_norm.md). So a discriminator of such
layers and 1-Lipschitz activations (LeakyReLU) has a bounded Lipschitz
constant, which keeps its gradients useful for G, but with convolutions it is
not 1-Lipschitz. That is the paper's normalisation, and PyTorch's.

Backward, with u and v held fixed (as in the paper: they are a by-product
of the previous steps, not a function of W to differentiate through): with
G = dL/dW_sn from the wrapped layer's own backward,

    dL/dW = (G - <G, W_sn> u v^T) / σ.
"""

from ...backend import get_array_module
from .. import init
from ..core import Layer, require_int
from .convolution import Conv2d
from .dense import Dense


class ComputedWeight:
    """A weight computed from another (W / σ) rather than learned: ``data`` and ``grad`` like a
    Parameter's, but not a Parameter, so no optimizer moves it and no checkpoint stores it."""

    def __init__(self, data):
        self.data = data
        self.grad = get_array_module(data).zeros_like(data)

    @property
    def shape(self):
        return self.data.shape


class SpectralNorm(Layer):
    """Wrap a Dense or Conv2d so that it computes with W / σ(W).

    The learned weight W moves from the wrapped layer to this one (``weight``);
    the wrapped layer computes with the normalised copy. Buffers: ``u`` and
    ``v``, the power iteration's singular vectors (saved with the model, so
    resume is exact). The first training forward runs 15 iterations (as
    PyTorch does when it attaches the normalisation), later ones
    ``n_power_iterations``; evaluation uses the stored u, v unchanged.

    Matrix view, as PyTorch's: Dense's (in, out) weight as its (out, in)
    transpose, Conv2d's (C_out, C_in, kH, kW) as (C_out, C_in*kH*kW).
    """

    buffers = ("u", "v")
    counters = ("updates",)
    init_kind = "linear"  # dcgan_init draws the learned W here, and zeroes the wrapped layer's bias
    FIRST_ITERATIONS = 15

    def __init__(self, layer, n_power_iterations=1, eps=1e-12, rng=None):
        if not isinstance(layer, (Dense, Conv2d)):
            raise TypeError(f"SpectralNorm wraps a Dense or Conv2d layer, got {layer!r}")
        self.n_power_iterations = require_int("SpectralNorm", "n_power_iterations", n_power_iterations, 1)
        self.eps = eps
        self.layer = layer
        self.weight = layer.weight                                   # the learned W
        layer.weight = ComputedWeight(self.weight.data.copy())       # what the layer computes with
        layer.init_kind = None
        h, w = self._matrix(self.weight.data).shape
        dtype = self.weight.data.dtype
        self.u = self._normalize(init.normal((h,), dtype=dtype, r=rng))
        self.v = self._normalize(init.normal((w,), dtype=dtype, r=rng))
        self.updates = 0

    @property
    def bias(self):
        return self.layer.bias

    # ---- the matrix view of W ---------------------------------------------------------------
    def _matrix(self, w):
        return w.T if isinstance(self.layer, Dense) else w.reshape(w.shape[0], -1)

    def _unmatrix(self, m, shape):
        return m.T if isinstance(self.layer, Dense) else m.reshape(shape)

    def _normalize(self, a):
        return a / (get_array_module(a).sqrt((a * a).sum()) + a.dtype.type(self.eps))

    # ---- forward and backward -----------------------------------------------------------------
    def check_input(self, x):
        super().check_input(x)
        self.layer.check_input(x)

    def forward(self, x):
        w = self.weight.data
        wm = self._matrix(w)
        # --8<-- [start:spectralnorm-forward]
        if self.training:
            u = self.u
            for _ in range(self.FIRST_ITERATIONS if self.updates == 0 else self.n_power_iterations):
                v = self._normalize(wm.T @ u)                       # v <- W^T u / |W^T u|
                u = self._normalize(wm @ v)                         # u <- W v / |W v|
            self.u, self.v = u, v
            self.updates += 1
        self.sigma = self.u @ wm @ self.v                           # σ = u^T W v
        # --8<-- [end:spectralnorm-forward]
        computed = self.layer.weight
        if get_array_module(computed.data) is not get_array_module(w) or computed.data.dtype != w.dtype:
            computed = self.layer.weight = ComputedWeight(w / self.sigma)   # after model.to(...)
        else:
            get_array_module(w).divide(w, self.sigma, out=computed.data)   # W_sn = W / σ
        return self.layer.forward(x)

    def _chain_to_weight(self):
        """Move dL/dW_sn (gathered in the wrapped layer) to dL/dW = (G - <G, W_sn> u v^T) / σ."""
        # --8<-- [start:spectralnorm-chain-to-weight]
        g = self.layer.weight.grad                                  # G = dL/dW_sn
        xp = get_array_module(g)
        uv = self._unmatrix(xp.outer(self.u, self.v), g.shape)      # dσ/dW = u v^T (in W's layout)
        self.weight.grad += (g - (g * self.layer.weight.data).sum() * uv) / self.sigma
        g[...] = 0
        # --8<-- [end:spectralnorm-chain-to-weight]

    def backward(self, dy):
        dx = self.layer.backward(dy)                                # dL/dx with W_sn; G into the layer
        if self.requires_grad:
            self._chain_to_weight()
        return dx

    def double_backward(self, ddx):
        ddy, dx_extra = self.layer.double_backward(ddx)            # the mixed term dP/dW_sn into the layer
        if self.requires_grad:
            self._chain_to_weight()                                 # ... and on to dP/dW
        return ddy, dx_extra

    def __repr__(self):
        return f"SpectralNorm({self.layer!r})"


def spectral_normalize(model, rng=None, n_power_iterations=1):
    """Wrap every Dense and Conv2d inside ``model`` (containers included) in :class:`SpectralNorm`; return it.

    ``model`` itself is returned wrapped if it is a Dense or Conv2d. Weights are
    kept as they are (initialise first, then normalise).
    """
    def wrap(layer):
        if isinstance(layer, (Dense, Conv2d)):
            return SpectralNorm(layer, n_power_iterations, rng=rng)
        for name, value in list(vars(layer).items()):
            if isinstance(value, Layer) and not isinstance(value, SpectralNorm):
                setattr(layer, name, wrap(value))
            elif isinstance(value, list) and value and all(isinstance(v, Layer) for v in value):
                setattr(layer, name, [v if isinstance(v, SpectralNorm) else wrap(v) for v in value])
        return layer

    return wrap(model)
