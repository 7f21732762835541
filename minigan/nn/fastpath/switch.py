"""The fast paths' one switch (:func:`active`, :func:`plain`) and the threads their pieces run on.

Apart from the fast paths themselves, so that each of them can use :func:`map_pieces` and the
package can import them all without a cycle.
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

