"""Fast paths on the CPU: the same arithmetic as the plain lines, in fewer passes and on every core.

The layer files hold the plain lines, the ones their docs pages derive, and
nothing else. Where those lines leave speed on the table in NumPy, a fast path
computes the same numbers here, in a file named after the plain one:

* ``fastpath/batchnorm.py`` for ``layers/batchnorm.py``: per-channel sums as
  matrix-vector products (BLAS runs them on every core), and the backward
  expanded into one multiply-add sweep, instead of some ten passes and slow
  multi-axis reductions;
* ``fastpath/instancenorm.py`` for ``layers/instancenorm.py``: the same, with
  statistics per sample and channel;
* ``fastpath/conv.py`` for ``conv.py``'s ``col2im``: fewer, longer additions,
  with the batch split over threads; and for ``Conv2d``'s input gradient at
  stride 1, a convolution of dy with the flipped kernels instead of col2im.

NumPy runs a matrix product on all the cores it may use, but an element-wise
operation on one thread only; it releases Python's lock while a ufunc runs, so
plain Python threads can run them side by side, each on its own samples
(:func:`map_pieces`).

One dispatch, the same everywhere: the plain function's first lines ask
:func:`active` and, where it holds, hand the call to the function of the same
name here, e.g. in ``layers/batchnorm.py``::

    def forward(self, x):
        self.fast = fastpath.active(x)            # backward follows the path forward took
        if self.fast:
            return fastpath.batchnorm.forward(self, x)
        ...                                       # the plain lines

A layer remembers the path its forward took (``self.fast``) and its backward
takes the same one, so flipping the switch between the two cannot pair one
path's cache with the other's formulas. Why an ``if`` in the layer and not a
registry consulted by ``Layer.__call__`` or a decorator: ``backward`` and
``col2im`` are not reached through ``__call__``, a decorator puts a wrapper
between a debugger and the plain lines, and either hides from the reader of a
layer file that a faster twin exists and where it lives. The ``if`` says both,
and a debugger steps from it straight into whichever path runs.

``tests/test_fastpath.py`` holds each pair to the same numbers, and every test of
those layers runs on both (the ``both_paths`` fixture in ``tests/conftest.py``).
Fast paths are taken for NumPy arrays only; on CuPy the plain lines already run
on the GPU's many cores.

    from minigan import fastpath
    with fastpath.plain():          # only the plain lines, e.g. to compare or to step through
        y = layer(x)
    fastpath.set_threads(1)         # the threads the pieces run on (default: as many as BLAS uses)

``MINIGAN_PLAIN=1`` in the environment turns the fast paths off for a whole run.
Tried and left out, because they were not faster here: splitting LeakyReLU and
im2col's copy over threads (memory-bound: one core nearly saturates the memory
bus, and the pool's hand-offs cost more than the second core gives).
"""
import contextlib
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..core import is_int

MIN_BYTES = 1 << 20        # below this the pool costs more than it saves: one piece, on this thread

_enabled = os.environ.get("MINIGAN_PLAIN", "") in ("", "0")
_threads = None            # None: decided on first use
_pool = None


def _default_threads():
    """The BLAS thread count the user set (bench.py sets all three), else the CPUs this process may use."""
    for var in ("MINIGAN_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads():
    """How many threads the fast paths use."""
    global _threads
    if _threads is None:
        _threads = _default_threads()
    return _threads


def set_threads(n):
    """Use ``n`` threads (>= 1) for the fast paths from now on."""
    global _threads, _pool
    if not is_int(n) or n < 1:
        raise ValueError(f"fastpath.set_threads: n must be an integer >= 1, got {n!r}")
    if _pool is not None and int(n) != _threads:
        _pool.shutdown(wait=True)
        _pool = None
    _threads = int(n)


def enabled():
    """True unless the fast paths were turned off (:func:`plain`, ``MINIGAN_PLAIN=1``)."""
    return _enabled


def active(*arrays):
    """True where a layer should take its fast path: turned on, and every array a NumPy array."""
    return _enabled and all(type(a) is np.ndarray for a in arrays)


@contextlib.contextmanager
def plain(on=True):
    """Inside this block the layers run their plain lines only (``plain(False)``: the fast paths)."""
    global _enabled
    before, _enabled = _enabled, not on
    try:
        yield
    finally:
        _enabled = before


def pieces(n, item_bytes):
    """Slices covering range(n): one per thread, or one in all for less than :data:`MIN_BYTES` of work."""
    if n * item_bytes < MIN_BYTES or n < 2:
        return [slice(0, n)]
    k = min(n, threads())
    bounds = [round(i * n / k) for i in range(k + 1)]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def map_pieces(fn, n, item_bytes):
    """``[fn(piece) for piece in pieces(n, item_bytes)]``, the pieces computed on :func:`threads` threads.

    ``fn`` takes a slice of the batch axis and works on that slice only (it may
    write into its own rows of a shared output array); the results come back in
    order. One piece, or one thread, runs here without the pool.
    """
    global _pool
    parts = pieces(n, item_bytes)
    if len(parts) == 1 or threads() == 1:
        return [fn(p) for p in parts]
    if _pool is None:
        _pool = ThreadPoolExecutor(threads(), thread_name_prefix="minigan-fastpath")
    return list(_pool.map(fn, parts))


from . import batchnorm, conv, instancenorm  # noqa: E402, F401  (the fast paths themselves; they use map_pieces above)
