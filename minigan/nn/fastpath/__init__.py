"""Fast paths on the CPU: the same arithmetic as the plain lines, in fewer passes and on every core.

The layer files hold the plain lines, the ones their docs pages derive, and
nothing else. Where those lines leave speed on the table in NumPy, a fast path
computes the same numbers here, in a file named after the plain one:

* ``fastpath/batchnorm.py`` for ``layers/batchnorm.py``: per-channel sums as
  matrix-vector products (BLAS runs them on every core), and the backward
  expanded into a dy + k1 x + k0, four element-wise passes after two sums,
  instead of some ten passes and slow multi-axis reductions;
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

    from minigan.nn import fastpath
    with fastpath.plain():          # only the plain lines, e.g. to compare or to step through
        y = layer(x)
    fastpath.set_threads(1)         # the threads the pieces run on (default: as many as BLAS uses)

``MINIGAN_PLAIN=1`` in the environment turns the fast paths off for a whole run.
Tried and left out, because they were not faster here: splitting LeakyReLU and
im2col's copy over threads (memory-bound: one core nearly saturates the memory
bus, and the pool's hand-offs cost more than the second core gives).
"""
from . import batchnorm, conv, instancenorm  # the fast paths themselves
from .switch import MIN_BYTES, active, enabled, map_pieces, pieces, plain, set_threads, threads
