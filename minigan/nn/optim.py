"""Optimizers over a list of parameters, gradient clipping, and WGAN's weight clipping.

Each ``step()`` reads ``p.grad`` and updates ``p.data`` in place; the
optimizer never calls backward. Formulas follow PyTorch's documentation, so
the same hyperparameters mean the same thing.
"""
import math

import numpy as np

from ..backend import backend_of, get_array_module, to_device, to_numpy


class Optimizer:
    state_names = ()  # per-parameter state arrays, e.g. ("m", "v")

    def __init__(self, params, lr):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        self.lr = lr
        self.t = 0  # steps taken
        self.state = {name: [None] * len(self.params) for name in self.state_names}

    def zero_grad(self):
        for p in self.params:
            p.zero_grad()

    def _buf(self, name, i):
        """State array ``name`` for parameter i, created as zeros on first use."""
        if self.state[name][i] is None:
            data = self.params[i].data
            self.state[name][i] = get_array_module(data).zeros_like(data)
        return self.state[name][i]

    def step(self):
        self.t += 1
        for i, p in enumerate(self.params):
            self.update(i, p)

    def update(self, i, p):
        raise NotImplementedError

    def state_dict(self):
        """The step count, the learning rate and every state array, as NumPy arrays."""
        out = {"t": np.array(self.t), "lr": np.array(self.lr)}
        for name, bufs in self.state.items():
            for i, b in enumerate(bufs):
                if b is not None:
                    out[f"{name}.{i}"] = to_numpy(b).copy()
        return out

    def load_state_dict(self, state):
        self.t, self.lr = int(state["t"]), float(state["lr"])
        for name in self.state:
            for i, p in enumerate(self.params):
                key = f"{name}.{i}"
                if key in state:
                    value = np.asarray(state[key])
                    if value.shape != p.data.shape:
                        raise ValueError(f"{type(self).__name__} state {key}: shape {value.shape} "
                                         f"does not fit parameter {p.data.shape}")
                    self.state[name][i] = to_device(value.astype(p.data.dtype), backend_of(p.data))
                else:
                    self.state[name][i] = None
        return self


class SGD(Optimizer):
    """v = mu v + g;  p -= lr * (g + mu v if nesterov else v).  (mu = 0: plain SGD)"""

    state_names = ("velocity",)

    def __init__(self, params, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        if nesterov and momentum <= 0:
            raise ValueError("SGD: Nesterov momentum needs momentum > 0")
        super().__init__(params, lr)
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, weight_decay

    def update(self, i, p):
        # --8<-- [start:weight-decay]
        g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
        # --8<-- [end:weight-decay]
        # --8<-- [start:sgd-update]
        if self.momentum:
            v = self._buf("velocity", i)
            v *= self.momentum
            v += g                                        # v = mu v + g
            g = g + self.momentum * v if self.nesterov else v
        p.data -= self.lr * g
        # --8<-- [end:sgd-update]


class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba, 2015).

        m = b1 m + (1 - b1) g          v = b2 v + (1 - b2) g^2
        m_hat = m / (1 - b1^t)         v_hat = v / (1 - b2^t)
        p -= lr m_hat / (sqrt(v_hat) + eps)

    The fast path (``inplace=True``, the default) computes the very same
    operations in the same order, writing every intermediate into one scratch
    buffer per parameter instead of allocating six temporaries: the same bits,
    about a quarter less time. ``inplace=False`` runs the plain lines above.
    """

    state_names = ("m", "v")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, inplace=True):
        super().__init__(params, lr)
        self.betas, self.eps, self.weight_decay, self.inplace = tuple(betas), eps, weight_decay, inplace
        self._scratch = [None] * len(self.params)

    def update(self, i, p):
        xp = get_array_module(p.data)
        b1, b2 = self.betas
        g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
        # --8<-- [start:adam-update]
        m, v = self._buf("m", i), self._buf("v", i)
        step = self.lr / (1 - b1 ** self.t)               # lr / bias correction of m
        root_bc2 = math.sqrt(1 - b2 ** self.t)            # sqrt of the bias correction of v
        if self.inplace:
            return self._update_inplace(xp, i, p, g, m, v, step, root_bc2)
        m *= b1
        m += (1 - b1) * g                                 # first moment
        v *= b2
        v += (1 - b2) * (g * g)                           # second moment
        denom = xp.sqrt(v) / root_bc2 + self.eps          # sqrt(v_hat) + eps
        p.data -= step * (m / denom)
        # --8<-- [end:adam-update]

    def _update_inplace(self, xp, i, p, g, m, v, step, root_bc2):
        """The lines of :meth:`update`, each written into the scratch buffer ``s``."""
        # --8<-- [start:adam-update-inplace]
        if self._scratch[i] is None:
            self._scratch[i] = xp.empty_like(p.data)
        s = self._scratch[i]
        b1, b2 = self.betas
        m *= b1
        xp.multiply(g, 1 - b1, out=s)
        m += s                                            # m = b1 m + (1 - b1) g
        v *= b2
        xp.multiply(g, g, out=s)
        s *= 1 - b2
        v += s                                            # v = b2 v + (1 - b2) g^2
        xp.sqrt(v, out=s)
        s /= root_bc2
        s += self.eps                                     # s = sqrt(v_hat) + eps
        xp.divide(m, s, out=s)
        s *= step
        p.data -= s                                       # p -= step m / s
        # --8<-- [end:adam-update-inplace]


class RMSprop(Optimizer):
    """v = a v + (1 - a) g^2;  p -= lr g / (sqrt(v) + eps)  (with optional momentum)."""

    state_names = ("square_avg", "momentum_buffer")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr)
        self.alpha, self.eps, self.momentum, self.weight_decay = alpha, eps, momentum, weight_decay

    def update(self, i, p):
        xp = get_array_module(p.data)
        g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
        # --8<-- [start:rmsprop-update]
        v = self._buf("square_avg", i)
        v *= self.alpha
        v += (1 - self.alpha) * (g * g)
        scaled = g / (xp.sqrt(v) + self.eps)
        if self.momentum:
            buf = self._buf("momentum_buffer", i)
            buf *= self.momentum
            buf += scaled
            scaled = buf
        p.data -= self.lr * scaled
        # --8<-- [end:rmsprop-update]


def clip_grad_value(params, clip_value):
    """Clip every gradient entry into [-clip_value, clip_value], in place."""
    for p in params:
        xp = get_array_module(p.grad)
        # --8<-- [start:clip-grad-value]
        xp.clip(p.grad, -clip_value, clip_value, out=p.grad)
        # --8<-- [end:clip-grad-value]


def clip_grad_norm(params, max_norm):
    """Scale all gradients together so their global L2 norm is at most ``max_norm``.

    Returns the norm before clipping (a 0-d array on the gradients' backend).
    """
    params = list(params)
    xp = get_array_module(params[0].grad)
    # --8<-- [start:clip-grad-norm]
    total = xp.sqrt(sum((p.grad * p.grad).sum() for p in params))
    scale = xp.minimum(1.0, max_norm / (total + 1e-6))
    for p in params:
        p.grad *= scale
    return total
    # --8<-- [end:clip-grad-norm]


def clip_weights(params, c):
    r"""Clamp every entry of every parameter into [-c, c], in place: WGAN's critic constraint.

    Not a gradient clip: this moves the *weights* ``p.data`` back into the box
    :math:`[-c, c]^{|\theta|}` after the optimizer's step (Arjovsky et al.
    2017, Algorithm 1, line 7). A network whose weights all lie in a compact box
    is K-Lipschitz for some K that depends only on c and the architecture, which
    is what makes :math:`E[D(x)] - E[D(G(z))]` a (scaled) Wasserstein-1 estimate
    (docs/wgan.md). Every parameter is clamped, biases and batchnorm's scale and
    shift included, as in the paper's code (``p.data.clamp_(-c, c)`` for all
    ``netD.parameters()``); gradients and optimizer state are left alone.
    """
    if not c > 0:
        raise ValueError(f"clip_weights: c must be > 0, got {c!r}")
    # --8<-- [start:clip-weights]
    for p in params:
        xp = get_array_module(p.data)
        xp.clip(p.data, -c, c, out=p.data)                # θ <- clip(θ, -c, c)
    # --8<-- [end:clip-weights]
