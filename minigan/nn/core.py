"""The three building blocks every model is made of: Parameter, Layer, Sequential.

A :class:`Parameter` is a pair of arrays, ``data`` and ``grad``. A :class:`Layer`
turns ``x`` into ``y`` in :meth:`Layer.forward`, remembers what it needs, and in
:meth:`Layer.backward` turns ``dL/dy`` into ``dL/dx`` while *adding* ``dL/dθ``
into each parameter's ``grad`` (so two backward passes accumulate, as in
PyTorch, and :meth:`Layer.zero_grad` clears them).

The contract between the two passes: a layer keeps one cache, written by each
forward; ``backward`` reads the cache of the *latest* forward. So run
``backward`` after the forward it belongs to, before the layer sees another
input. What can be checked is checked, in one place (:func:`_checked_backward`,
wrapped around every subclass's ``backward`` when the class is defined): a
backward before any forward, a ``dL/dy`` that is not an array, or whose shape,
dtype or backend differs from the latest output, and a double backward before
the backward it differentiates, each raise an error that names the layer.
"""
import collections
import contextlib
import functools
import numbers
import os
import tempfile

import numpy as np

from ..backend import DeviceMismatchError, backend_of, check_same_device, get_array_module, to_device, to_numpy


class ShapeError(ValueError):
    """An input whose shape does not fit the layer."""


class DamagedFileError(ValueError):
    """An ``.npz`` file that cannot be read in full: damaged, cut short, or not an ``.npz`` of arrays."""


class DoubleBackwardError(NotImplementedError):
    """A layer without a double backward was asked for one (a gradient penalty through it)."""


def is_int(value):
    """True for a Python or NumPy integer (``3``, ``np.int64(3)``), False for a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def is_real(value):
    """True for a Python or NumPy real number (``0.2``, ``np.float32(0.2)``, ``np.int64(3)``), False for a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def plain_number(value):
    """A NumPy scalar as the Python number it holds (``np.float32(0.2)`` -> ``0.2``); anything else as it is."""
    return value.item() if isinstance(value, np.generic) else value


def require_int(where, name, value, minimum):
    """``value`` as an int >= ``minimum``, or a ValueError naming ``where`` and ``name``."""
    if not is_int(value) or value < minimum:
        raise ValueError(f"{where}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def is_array(x):
    """True for a NumPy or CuPy array (anything with a shape, a dtype and a backend)."""
    return hasattr(x, "shape") and hasattr(x, "dtype") and hasattr(x, "ndim")


_Output = collections.namedtuple("_Output", "shape dtype backend")


def _meta(y):
    """What backward will check ``dL/dy`` against: an :data:`_Output`, or a list of them for a tuple."""
    if isinstance(y, tuple):
        return [_meta(v) for v in y]
    return _Output(tuple(y.shape), y.dtype, backend_of(y)) if is_array(y) else None


def _check_gradient(layer, dy, meta, what="dL/dy"):
    """Raise a clear error unless ``dy`` fits the output the latest forward returned."""
    if isinstance(meta, list):
        if not isinstance(dy, (tuple, list)) or len(dy) != len(meta):
            raise TypeError(f"{layer!r}: the latest forward returned {len(meta)} outputs, so backward "
                            f"takes a tuple of {len(meta)} gradients (None for an output with none), "
                            f"got {type(dy).__name__}")
        for i, (d, m) in enumerate(zip(dy, meta)):
            if d is not None:
                _check_gradient(layer, d, m, f"{what}[{i}]")
        return
    if meta is None:
        return  # the output was not an array (a layer of another kind): nothing to compare
    shape, dtype, backend = meta
    if not is_array(dy):
        raise TypeError(f"{layer!r}: backward expects {what} as an array of shape {shape}, got {type(dy).__name__}")
    if backend_of(dy) != backend:
        raise DeviceMismatchError(f"{layer!r}: backward got {what} on {backend_of(dy)}, but the latest forward "
                                  f"ran on {backend}; move it with minigan.to_device(dy, '{backend}')")
    if tuple(dy.shape) != shape:
        raise ShapeError(f"{layer!r}: backward got {what} of shape {tuple(dy.shape)}, but the latest forward "
                         f"returned shape {shape}")
    if dy.dtype != dtype:
        raise TypeError(f"{layer!r}: backward got {what} of dtype {dy.dtype}, but the latest forward returned "
                        f"{dtype}; convert it with dy.astype('{dtype}')")


def _remember_output(forward):
    """Wrap a layer's forward so the layer remembers the shape, dtype and backend of its output."""
    @functools.wraps(forward)
    def wrapped(self, *args):
        y = forward(self, *args)
        self._y_meta = _meta(y)
        self._backward_ran = False   # a new forward: its backward has not run yet
        return y
    return wrapped


def _checked_backward(backward):
    """Wrap a layer's backward with the checks of the module docstring."""
    @functools.wraps(backward)
    def wrapped(self, dy):
        meta = self.__dict__.get("_y_meta", _NOT_RUN)
        if meta is _NOT_RUN:
            raise RuntimeError(f"{self!r}: backward() was called before forward(): run y = layer(x) first "
                               "(backward uses what the latest forward remembered)")
        _check_gradient(self, dy, meta)
        dx = backward(self, dy)
        self._backward_ran = True
        return dx
    return wrapped


def _checked_double_backward(double_backward):
    """Wrap a layer's double backward: it differentiates the latest backward, so that must have run."""
    @functools.wraps(double_backward)
    def wrapped(self, ddx):
        if "_y_meta" not in self.__dict__:
            raise RuntimeError(f"{self!r}: double_backward() was called before forward(): run y = layer(x), "
                               "then dx = layer.backward(dy), then double_backward")
        if not self.__dict__.get("_backward_ran", False):
            raise RuntimeError(f"{self!r}: double_backward() was called before backward(): run "
                               "dx = layer.backward(dy) after the forward first (double backward differentiates "
                               "that backward and reads what it remembered)")
        return double_backward(self, ddx)
    return wrapped


_NOT_RUN = object()


class Parameter:
    """A learnable array ``data`` and the gradient ``grad`` accumulated into it."""

    def __init__(self, data):
        # --8<-- [start:parameter-init]
        self.data = data
        self.grad = get_array_module(data).zeros_like(data)  # same shape, dtype, backend
        # --8<-- [end:parameter-init]

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
    counters = ()       # plain integers kept with the state (Dropout's count of masks drawn)
    init_kind = None    # "linear" (a weight that mixes inputs) or "norm" (a normalisation's scale)
    training = True
    requires_grad = True  # False: backward computes dL/dx only and leaves .grad alone
    input_grad = True     # False: backward may skip dL/dx and return None (see no_input_grad)

    def __init_subclass__(cls, **kwargs):
        """Every layer's forward remembers its output and every backward checks dL/dy against it."""
        super().__init_subclass__(**kwargs)
        if "forward" in cls.__dict__:
            cls.forward = _remember_output(cls.forward)
        if "backward" in cls.__dict__:
            cls.backward = _checked_backward(cls.backward)
        if "double_backward" in cls.__dict__:
            cls.double_backward = _checked_double_backward(cls.double_backward)

    # ---- the two methods every layer writes -------------------------------
    def forward(self, x):
        raise NotImplementedError

    def backward(self, dy):
        raise NotImplementedError

    # ---- the derivative of backward, for gradient penalties (WGAN-GP, R1) ----
    double_backward_hint = ""

    def double_backward(self, ddx):
        """Differentiate this layer's backward once more.

        ``backward`` is a function dx = B(x, θ, dy). Given ``ddx`` = dP/d(dx) for
        a scalar P computed from dx (a gradient penalty), return
        ``(ddy, dx_extra)``: ddy = dP/d(dy), and dx_extra = (dB/dx)^T ddx, the
        second-order term for this layer's input (None where it is zero);
        add dP/dθ through B into each parameter's ``.grad``. Called after a
        forward and a backward, and reading both caches.
        """
        raise DoubleBackwardError(
            f"{self!r} has no double backward, which a gradient penalty (WGAN-GP, R1) needs in every layer "
            f"of the critic it differentiates{'; ' + self.double_backward_hint if self.double_backward_hint else ''}")

    # ---- checks ------------------------------------------------------------
    def __call__(self, x):
        self.check_array(x)
        self.check_input(x)
        return self.forward(x)

    def check_array(self, x):
        """A NumPy or CuPy array, or a clear TypeError (containers of several inputs accept tuples)."""
        if not is_array(x):
            raise TypeError(f"{self!r}: expected a NumPy or CuPy array, got {type(x).__name__}; convert it "
                            "first, e.g. np.asarray(x, dtype=np.float32)")

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

    def named_counters(self, prefix=""):
        for k in self.counters:
            yield prefix + k, getattr(self, k)
        for name, child in self.children():
            yield from child.named_counters(prefix + name + ".")

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

    @contextlib.contextmanager
    def no_input_grad(self):
        """Inside this block, ``backward`` may skip dL/dx (it returns None): only dL/dθ is wanted.

        D's own step is such a case. Nobody reads the gradient of a batch of
        images, so D's first layer (a Dense or a Conv2d) can skip its input
        gradient: a matrix product, and for a convolution a col2im. PyTorch
        skips it too, since its images don't require grad.
        """
        before, self.input_grad = self.input_grad, False
        try:
            yield self
        finally:
            self.input_grad = before

    # ---- moving between backends and dtypes --------------------------------
    def to(self, backend=None, dtype=None):
        """Move every parameter and buffer to ``backend`` and/or cast to ``dtype``. Returns self."""
        # --8<-- [start:layer-to-move]
        def move(a):
            a = to_device(a, backend) if backend else a
            return a.astype(dtype) if dtype is not None else a

        for layer in self.modules():
            for v in vars(layer).values():
                if isinstance(v, Parameter):
                    v.data = move(v.data)
                    v.grad = move(v.grad)
            for k in layer.buffers:
                setattr(layer, k, move(getattr(layer, k)))
            if dtype is not None and "dtype" in vars(layer):   # a layer that makes arrays of its own (OneHot)
                layer.dtype = np.dtype(dtype)
        return self
        # --8<-- [end:layer-to-move]

    def modules(self):
        yield self
        for _, child in self.children():
            yield from child.modules()

    # ---- saving and loading ------------------------------------------------
    def state_dict(self):
        """Parameters, buffers and counters as NumPy arrays, keyed like PyTorch (``0.weight``)."""
        state = {name: to_numpy(p.data).copy() for name, p in self.named_parameters()}
        state.update({name: to_numpy(b).copy() for name, b in self.named_buffers()})
        state.update({name: np.array(c, dtype=np.int64) for name, c in self.named_counters()})
        return state

    def load_state_dict(self, state):
        """Copy arrays from ``state`` into this model, checking names and shapes.

        Counters missing from ``state`` (files written before they were saved) keep their value.
        """
        own = dict(self.named_parameters())
        own_buffers = dict(self.named_buffers())
        own_counters = dict(self.named_counters())
        expected = set(own) | set(own_buffers)
        missing, unexpected = expected - set(state), set(state) - expected - set(own_counters)
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
            for k in layer.counters:
                if layer_prefix + k in state:
                    setattr(layer, k, int(state[layer_prefix + k]))
        return self

    def _named_modules(self, prefix=""):
        yield prefix, self
        for name, child in self.children():
            yield from child._named_modules(prefix + name + ".")

    def save(self, path):
        """Write :meth:`state_dict` to ``path`` (``.npz``) atomically."""
        save_npz_atomic(path, self.state_dict())

    def load(self, path):
        """Read ``path`` (written by :meth:`save`) into this model; see :func:`load_npz` and :meth:`load_state_dict`."""
        return self.load_state_dict(load_npz(path))

    def __repr__(self):
        return type(self).__name__ + "()"


class Sequential(Layer):
    """Layers applied one after another; backward runs them in reverse.

    What flows between two layers may be an array or a tuple of arrays (see
    ``layers/combine.py``): a model with two inputs is a Sequential that starts
    with a layer taking a tuple.
    """

    def __init__(self, *layers):
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: item {i} is {type(layer).__name__}, not a minigan Layer")
        self.layers = list(layers)

    def children(self):
        return [(str(i), layer) for i, layer in enumerate(self.layers)]

    def check_array(self, x):
        pass  # the first layer checks its own input

    def check_input(self, x):
        pass

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, dy):
        first = self.layers[0]
        before, first.input_grad = first.input_grad, first.input_grad and self.input_grad  # see no_input_grad
        try:
            for layer in reversed(self.layers):
                dy = layer.backward(dy)
        finally:
            first.input_grad = before
        return dy

    def double_backward(self, ddx):
        """Each layer's double backward from the input end; then the second-order terms run back.

        With x_l = f_l(x_{l-1}) and the first backward g_{l-1} = B_l(x_{l-1}, g_l),
        dP/dg_l = J_l dP/dg_{l-1} travels towards the output (layer by layer,
        from the input end), and each layer's term dP/dx_{l-1} through B_l then
        travels back through the ordinary backward, adding dP/dθ through the
        forward pass on its way.
        """
        extras = []
        for layer in self.layers:
            ddx, extra = layer.double_backward(ddx)
            extras.append(extra)
        dx = None
        for layer, extra in zip(reversed(self.layers), reversed(extras)):
            if dx is not None:
                dx = layer.backward(dx)                       # dP/dx_{l-1} += J_l^T dP/dx_l
            dx = extra if dx is None else (dx if extra is None else dx + extra)
        return ddx, dx

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        inner = "\n".join(f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"


def input_gradient(net, dout):
    """``net``'s backward for dL/d(input) only: the net does not move in this step, so its dL/dθ is skipped.

    What a generator's step asks of the discriminator: the gradient of G's loss
    with respect to the image D was shown, with D's parameters held still.
    """
    net.requires_grad_(False)
    try:
        return net.backward(dout)
    finally:
        net.requires_grad_(True)


@contextlib.contextmanager
def evaluating(*nets):
    """Inside this block ``nets`` run in eval mode (batchnorm's running statistics, no dropout), then train again."""
    for net in nets:
        net.eval()
    try:
        yield nets[0] if len(nets) == 1 else nets
    finally:
        for net in nets:
            net.train()


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


_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")   # a zip archive's first bytes (the second: an empty one)


def load_npz(path, keys=None):
    """The arrays of the ``.npz`` file ``path`` (those named in ``keys``, default all), each read in full now.

    Reading every byte at once finds damage here, in one place, rather than
    half-way through loading a model. Nothing but plain arrays is read (no
    Python objects, which only pickle could load, and pickle can run code).

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        As ``open`` does.
    DamagedFileError
        The file is cut short, has damaged bytes, is not an ``.npz``, or lacks one of ``keys``;
        the message says which, in words that fit after "the file ... is damaged: ".
    """
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic not in _ZIP_MAGIC:
        raise DamagedFileError("it is not an .npz file, a zip archive of arrays")
    try:
        with np.load(path) as f:
            missing = sorted(set(keys or ()) - set(f.files))
            if missing:
                raise DamagedFileError(f"it holds no {', '.join(missing)}")
            return {k: f[k] for k in (f.files if keys is None else keys)}
    except DamagedFileError:
        raise
    except Exception as exc:  # zipfile, zlib, the .npy header's parser and numpy raise many kinds
        if "pickle" in str(exc):  # numpy's advice here would be to load it unsafely: never
            raise DamagedFileError("it holds Python objects, not plain arrays, and is not loaded") from None
        raise DamagedFileError(f"{type(exc).__name__}: {exc}") from None
