"""The three building blocks every model is made of: Parameter, Layer, Sequential.

A :class:`Parameter` is a pair of arrays, ``data`` and ``grad``. A :class:`Layer`
turns ``x`` into ``y`` in :meth:`Layer.forward`, remembers what it needs, and in
:meth:`Layer.backward` turns ``dL/dy`` into ``dL/dx`` while *adding* ``dL/dθ``
into each parameter's ``grad`` (so two backward passes accumulate, as in
PyTorch, and :meth:`Layer.zero_grad` clears them).
"""
import os
import tempfile

import numpy as np

from .backend import backend_of, check_same_device, get_array_module, to_device, to_numpy


class ShapeError(ValueError):
    """An input whose shape does not fit the layer."""


class Parameter:
    """A learnable array ``data`` and the gradient ``grad`` accumulated into it."""

    def __init__(self, data):
        self.data = data
        self.grad = get_array_module(data).zeros_like(data)  # same shape, dtype, backend

    @property
    def shape(self):
        return self.data.shape

    def zero_grad(self):
        self.grad[...] = 0

    def __repr__(self):
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype}, backend={backend_of(self.data)})"


class Layer:
    """Base class: parameter bookkeeping, train/eval mode, input checks, moves, saving.

    Subclasses write ``forward(x)`` and ``backward(dy)``. Call a layer as
    ``layer(x)``: that checks the input (backend, dtype, shape) and then runs
    ``forward``. Array buffers that are not learned (batchnorm's running
    statistics) are named in the class attribute ``buffers``.
    """

    buffers = ()
    training = True
    requires_grad = True  # False: backward computes dL/dx only and leaves .grad alone

    # ---- the two methods every layer writes -------------------------------
    def forward(self, x):
        raise NotImplementedError

    def backward(self, dy):
        raise NotImplementedError

    # ---- checks ------------------------------------------------------------
    def __call__(self, x):
        self.check_input(x)
        return self.forward(x)

    def check_input(self, x):
        """Raise a clear error for an input this layer cannot take."""
        first = next(iter(self.parameters()), None)
        if first is None:
            return
        w = first.data
        check_same_device(f"{self!r} (parameters on {backend_of(w)}, input on {backend_of(x)})", w, x)
        if x.dtype != w.dtype:
            raise TypeError(
                f"{self!r}: input dtype {x.dtype} does not match the parameters' dtype {w.dtype}; "
                f"convert the input with x.astype('{w.dtype}') or the model with model.to(dtype=...)"
            )

    def expect_shape(self, x, pattern, hint):
        """Check ``x.shape`` against ``pattern`` (a tuple; ``None`` matches any size)."""
        ok = x.ndim == len(pattern) and all(p is None or p == s for p, s in zip(pattern, x.shape))
        if not ok:
            raise ShapeError(f"{self!r}: expected input of shape {hint}, got {tuple(x.shape)}")

    # ---- walking the tree of layers and parameters -------------------------
    def children(self):
        """``(name, layer)`` for each sub-layer held as an attribute."""
        return [(k, v) for k, v in vars(self).items() if isinstance(v, Layer)]

    def named_parameters(self, prefix=""):
        for k, v in vars(self).items():
            if isinstance(v, Parameter):
                yield prefix + k, v
        for name, child in self.children():
            yield from child.named_parameters(prefix + name + ".")

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix=""):
        for k in self.buffers:
            yield prefix + k, getattr(self, k)
        for name, child in self.children():
            yield from child.named_buffers(prefix + name + ".")

    def zero_grad(self):
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode=True):
        self.training = mode
        for _, child in self.children():
            child.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, flag=True):
        """Switch parameter gradients on or off for this layer and every sub-layer.

        With ``False``, ``backward`` still returns dL/dx but skips dL/dθ: what
        the generator's step needs from the discriminator, at a third less work.
        """
        for layer in self.modules():
            layer.requires_grad = flag
        return self

    # ---- moving between backends and dtypes --------------------------------
    def to(self, backend=None, dtype=None):
        """Move every parameter and buffer to ``backend`` and/or cast to ``dtype``. Returns self."""
        def move(a):
            a = to_device(a, backend) if backend else a
            return a.astype(dtype) if dtype is not None else a

        for layer in self.modules():
            for k, v in vars(layer).items():
                if isinstance(v, Parameter):
                    v.data = move(v.data)
                    v.grad = move(v.grad)
            for k in layer.buffers:
                setattr(layer, k, move(getattr(layer, k)))
        return self

    def modules(self):
        yield self
        for _, child in self.children():
            yield from child.modules()

    # ---- saving and loading ------------------------------------------------
    def state_dict(self):
        """Parameters and buffers as NumPy arrays, keyed like PyTorch (``0.weight``)."""
        state = {name: to_numpy(p.data).copy() for name, p in self.named_parameters()}
        state.update({name: to_numpy(b).copy() for name, b in self.named_buffers()})
        return state

    def load_state_dict(self, state):
        """Copy arrays from ``state`` into this model, checking names and shapes."""
        own = dict(self.named_parameters())
        own_buffers = dict(self.named_buffers())
        expected = set(own) | set(own_buffers)
        missing, unexpected = expected - set(state), set(state) - expected
        if missing or unexpected:
            raise KeyError(f"state does not fit the model: missing {sorted(missing)}, unexpected {sorted(unexpected)}")
        # Check every shape (parameters and buffers) before copying anything, so a bad
        # state leaves the model untouched instead of half loaded.
        for name, current in list(own.items()) + list(own_buffers.items()):
            current = current.data if isinstance(current, Parameter) else current
            value_shape = np.shape(state[name])
            if value_shape != current.shape:
                raise ShapeError(f"{name}: model has shape {current.shape}, state has {value_shape}")
        for name, p in own.items():
            value = np.asarray(state[name])
            p.data[...] = to_device(value.astype(p.data.dtype), backend_of(p.data))
        for layer_prefix, layer in self._named_modules():
            for k in layer.buffers:
                old = getattr(layer, k)
                value = np.asarray(state[layer_prefix + k])
                setattr(layer, k, to_device(value.astype(old.dtype), backend_of(old)))
        return self

    def _named_modules(self, prefix=""):
        yield prefix, self
        for name, child in self.children():
            yield from child._named_modules(prefix + name + ".")

    def save(self, path):
        """Write :meth:`state_dict` to ``path`` (``.npz``) atomically."""
        save_npz_atomic(path, self.state_dict())

    def load(self, path):
        with np.load(path) as f:
            return self.load_state_dict(dict(f))

    def __repr__(self):
        return type(self).__name__ + "()"


class Sequential(Layer):
    """Layers applied one after another; backward runs them in reverse."""

    def __init__(self, *layers):
        self.layers = list(layers)

    def children(self):
        return [(str(i), layer) for i, layer in enumerate(self.layers)]

    def check_input(self, x):
        pass  # each layer checks its own input

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, dy):
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        inner = "\n".join(f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"


def save_npz_atomic(path, arrays, compressed=False):
    """Write ``arrays`` to ``path`` via a temporary file and a rename: never half a file."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".npz")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
    try:
        with os.fdopen(fd, "wb") as f:
            (np.savez_compressed if compressed else np.savez)(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
