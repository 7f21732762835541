"""A strict stand-in for CuPy on the CPU: NumPy arithmetic, CuPy's rules about what may cross to the host.

It exists so that CI, which has no GPU, still catches what breaks ``--backend cupy``: an array that
slips from the device to NumPy, a NumPy array handed to a device function, a name CuPy does not
have. It is *not* a numerical model of a GPU (the numbers are NumPy's, float32 as NumPy rounds it);
docs/backend.md says what it proves and what only a GPU does.

Each rule follows CuPy's documented behaviour, and raises the error CuPy raises:

1. No implicit conversion to NumPy. ``numpy.asarray(x)``, SciPy given ``x``, anything that calls
   ``x.__array__()``: TypeError, "Implicit conversion to a NumPy array is not allowed. Please use
   `.get()` ...". (https://docs.cupy.dev/en/stable/reference/ndarray.html, "Conversion to/from
   NumPy arrays": cupy.ndarray and numpy.ndarray are not implicitly convertible.)
2. Universal functions (and so the operators) take CuPy arrays and scalars only: a NumPy array
   (0-d included) or a list among their arguments is TypeError, "Unsupported type <class ...>"
   (https://docs.cupy.dev/en/stable/user_guide/difference.html, "Universal functions only work
   with CuPy array or scalar"). A comparison accepts a 0-d NumPy array, as CuPy's do.
3. A host array assigned into a device array (``x[...] = numpy_array``) is the same TypeError:
   the assignment is CuPy's elementwise copy, a ufunc; ``x.set(numpy_array)`` is the transfer.
4. Routines take device arrays: NumPy arrays among their arguments are refused, except by the
   transfers ``cupy.array``/``asarray`` (and their kin) and ``cupy.asnumpy``.
5. Only names CuPy has: the module, ``ndarray``, ``cupy.random`` and its ``Generator``,
   ``cupy.cuda``, ``cupyx.scipy.ndimage``/``special`` offer exactly the names of the real wheel
   (``namespace.json``, written by ``scripts/cupy_namespace.py`` from CuPy 14.2.0); anything
   else is AttributeError, as on a GPU (``cupy.errstate``, ``Generator.normal``, ``choice``,
   ``permutation``; an ``ndarray`` has no ``__index__``).
6. NumPy functions given device arrays dispatch to the device namespace (NEP 18
   ``__array_function__`` and NEP 13 ``__array_ufunc__``,
   https://docs.cupy.dev/en/stable/user_guide/interoperability.html#numpy); one CuPy lacks is
   TypeError from NumPy ("no implementation found").
7. Reductions and integer indexing return 0-d device arrays, not NumPy scalars, as CuPy does
   (https://docs.cupy.dev/en/stable/user_guide/difference.html, "Reduction methods return
   zero-dimension array").
8. Random numbers come from another bit generator than NumPy's for the same seed, as CuPy's
   cuRAND streams do (https://docs.cupy.dev/en/stable/reference/random.html): code that needs
   the same numbers on both backends must draw on the host and move them.
"""
import copy as _copy
import json
import pathlib

import numpy as np

NAMES = json.loads((pathlib.Path(__file__).resolve().parents[1] / "namespace.json").read_text())
VERSION = NAMES["cupy_version"]
IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy array "
            "explicitly.")
SCALARS = (bool, int, float, complex, np.generic)
COMPARISONS = {"equal", "not_equal", "less", "less_equal", "greater", "greater_equal"}
TRANSFERS = {"array", "asarray", "asanyarray", "ascontiguousarray", "asfortranarray"}


def unsupported(x):
    return TypeError(f"Unsupported type {type(x)}")


def _device(x, host_ok=False, lists_ok=True, zero_d_ok=False):
    """``x`` with every device array replaced by its NumPy data; host arrays refused (rules 2-4)."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, np.ndarray):
        if host_ok or (zero_d_ok and x.ndim == 0):
            return x
        raise unsupported(x)
    if isinstance(x, (list, tuple)):
        if not lists_ok:
            raise unsupported(x)
        return type(x)(_device(v, host_ok, lists_ok, zero_d_ok) for v in x)
    return x


def _wrap(r):
    """NumPy results back on the 'device': arrays, and scalars as 0-d arrays (rule 7)."""
    if isinstance(r, np.ndarray):
        return ndarray._of(r)
    if isinstance(r, np.generic):
        return ndarray._of(np.asarray(r))
    if isinstance(r, tuple):
        return tuple(_wrap(v) for v in r)
    if isinstance(r, list):
        return [_wrap(v) for v in r]
    return r


def _ufunc_args(name, args):
    """A ufunc's inputs: device arrays and scalars only (rule 2)."""
    out = []
    for a in args:
        if isinstance(a, ndarray):
            out.append(a._a)
        elif isinstance(a, SCALARS) or a is None:
            out.append(a)
        elif isinstance(a, np.ndarray) and a.ndim == 0 and name in COMPARISONS:
            out.append(a)
        else:
            raise unsupported(a)
    return out


def make_ufunc(name):
    np_ufunc = getattr(np, name)

    def ufunc(*args, out=None, **kwargs):
        if out is not None and not (isinstance(out, ndarray) or
                                    (isinstance(out, tuple) and all(isinstance(o, ndarray) for o in out))):
            raise TypeError(f"Output arrays must be cupy.ndarray, got {type(out)}")
        result = np_ufunc(*_ufunc_args(name, args),
                          **({} if out is None else {"out": _device(out)}), **kwargs)
        return out if out is not None else _wrap(result)
    ufunc.__name__ = ufunc.__qualname__ = name
    return ufunc


def make_routine(name, source=np):
    np_function = getattr(source, name)
    host_ok = name in TRANSFERS

    def routine(*args, **kwargs):
        args = [_device(a, host_ok=host_ok) for a in args]
        kwargs = {k: _device(v, host_ok=host_ok) for k, v in kwargs.items()}
        return _wrap(np_function(*args, **kwargs))
    routine.__name__ = routine.__qualname__ = name
    return routine


def _binary(name, reflected=False):
    """An operator: CuPy's ufunc of that name, which refuses host arrays and lists itself."""
    def op(self, other):
        if not isinstance(other, (ndarray, np.ndarray, list, tuple) + SCALARS):
            return NotImplemented
        ufunc = make_ufunc(name)
        return ufunc(other, self) if reflected else ufunc(self, other)
    return op


def _inplace(name):
    def op(self, other):
        make_ufunc(name)(self, other, out=self)
        return self
    return op


class ndarray:
    """A device array of the stand-in: NumPy data behind CuPy's rules (see the module docstring)."""

    __module__ = "cupy"               # as CuPy's: <class 'cupy.ndarray'> in messages; backend.py looks here too
    __array_priority__ = 100          # NumPy defers its operators to this class, as to CuPy's

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        self._a = np.empty(shape, dtype=dtype, order=order)

    @classmethod
    def _of(cls, a):
        obj = cls.__new__(cls)
        obj._a = a
        return obj

    # ---- what crosses to the host ------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError(IMPLICIT)                                        # rule 1

    def get(self, stream=None, order="C", out=None, blocking=True):
        """The explicit transfer to the host: a NumPy copy."""
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order)

    def set(self, arr, stream=None):
        """The explicit transfer from the host: copy NumPy ``arr`` into this array."""
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"Only numpy.ndarray can be set to cupy.ndarray, got {type(arr)}")
        if arr.shape != self._a.shape:
            raise ValueError(f"Shape mismatch. Old shape: {self._a.shape}, new shape: {arr.shape}")
        self._a[...] = arr

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __complex__(self):
        return complex(self._a)

    def __bool__(self):
        return bool(self._a)

    # ---- NumPy's protocols: dispatch to the device namespace (rule 6) ---------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or ufunc.__name__ not in NAMES["cupy"]:
            return NotImplemented
        return make_ufunc(ufunc.__name__)(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        module = func.__module__ or "numpy"
        space = {"numpy": "cupy", "numpy.linalg": "cupy.linalg", "numpy.fft": "cupy.fft"}.get(module)
        if space is None or func.__name__ not in NAMES[space]:
            return NotImplemented
        import cupy
        target = {"cupy": cupy, "cupy.linalg": cupy.linalg, "cupy.fft": cupy.fft}[space]
        return getattr(target, func.__name__)(*args, **kwargs)

    # ---- attributes --------------------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: ndarray._of(self._a.T))
    mT = property(lambda self: ndarray._of(np.swapaxes(self._a, -1, -2)))
    real = property(lambda self: ndarray._of(self._a.real))
    imag = property(lambda self: ndarray._of(self._a.imag))
    device = property(lambda self: _Device(0))

    def __getattr__(self, name):
        """The methods CuPy's ndarray has, computed by NumPy's (rule 5: only those names)."""
        if name.startswith("_") or name not in NAMES["cupy.ndarray"] or not hasattr(np.ndarray, name):
            raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}'")
        method = getattr(self._a, name)

        def call(*args, **kwargs):
            out = kwargs.pop("out", None)
            args = [_device(a) for a in args]
            kwargs = {k: _device(v) for k, v in kwargs.items()}
            if out is not None:
                method(*args, out=_device(out), **kwargs)
                return out
            return _wrap(method(*args, **kwargs))
        call.__name__ = name
        return call

    # ---- indexing ----------------------------------------------------------------------------------
    def __getitem__(self, key):
        return _wrap(self._a[_device(key, host_ok=True)])                 # CuPy moves a host index array

    def __setitem__(self, key, value):
        if isinstance(value, (np.ndarray, list, tuple)) and not isinstance(value, ndarray):
            raise unsupported(value)                                      # rule 3
        self._a[_device(key, host_ok=True)] = _device(value)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(row) for row in self._a)

    def __copy__(self):
        return ndarray._of(self._a.copy())

    def __deepcopy__(self, memo):
        return ndarray._of(_copy.deepcopy(self._a, memo))

    def __repr__(self):
        return repr(self._a)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        return format(self._a.item() if self._a.ndim == 0 else self._a, spec)

    # ---- arithmetic: CuPy's ufuncs (rule 2) ------------------------------------------------------------
    __add__, __radd__, __iadd__ = _binary("add"), _binary("add", True), _inplace("add")
    __sub__, __rsub__, __isub__ = _binary("subtract"), _binary("subtract", True), _inplace("subtract")
    __mul__, __rmul__, __imul__ = _binary("multiply"), _binary("multiply", True), _inplace("multiply")
    __truediv__, __rtruediv__, __itruediv__ = (_binary("true_divide"), _binary("true_divide", True),
                                               _inplace("true_divide"))
    __floordiv__, __rfloordiv__ = _binary("floor_divide"), _binary("floor_divide", True)
    __mod__, __rmod__ = _binary("remainder"), _binary("remainder", True)
    __pow__, __rpow__, __ipow__ = _binary("power"), _binary("power", True), _inplace("power")
    __matmul__, __rmatmul__ = _binary("matmul"), _binary("matmul", True)
    __and__, __or__, __xor__ = _binary("bitwise_and"), _binary("bitwise_or"), _binary("bitwise_xor")
    __rand__, __ror__, __rxor__ = (_binary("bitwise_and", True), _binary("bitwise_or", True),
                                   _binary("bitwise_xor", True))
    __eq__, __ne__ = _binary("equal"), _binary("not_equal")
    __lt__, __le__, __gt__, __ge__ = _binary("less"), _binary("less_equal"), _binary("greater"), \
        _binary("greater_equal")
    __hash__ = None

    def __neg__(self):
        return make_ufunc("negative")(self)

    def __pos__(self):
        return make_ufunc("positive")(self)

    def __abs__(self):
        return make_ufunc("absolute")(self)

    def __invert__(self):
        return make_ufunc("invert")(self)


class _Device:
    """``cupy.cuda.Device``: one device, id 0, whose work is always done (NumPy is synchronous)."""

    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)

    def synchronize(self):
        pass

    def use(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __int__(self):
        return self.id

    def __repr__(self):
        return f"<CUDA Device {self.id} (minigan's CuPy stand-in)>"


def fill_module(space, namespace, build):
    """Put into ``namespace`` (a stand-in module's globals) every name of ``space`` that ``build`` can make;
    a name of ``space`` it cannot make is left out, and one not in ``space`` never goes in (rule 5)."""
    for name in NAMES[space]:
        if name.startswith("__") or name in namespace:
            continue
        value = build(name)
        if value is not None:
            namespace[name] = value

    def __getattr__(name):
        if name in NAMES[space]:
            raise AttributeError(f"module '{space}' has no attribute '{name}' in minigan's CuPy stand-in "
                                 "(CuPy has it; the stand-in does not model it yet: tests/cupy_standin/)")
        raise AttributeError(f"module '{space}' has no attribute '{name}'")
    namespace["__getattr__"] = __getattr__
