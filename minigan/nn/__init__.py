"""The engine a student reads first: parameters, layers and their hand-written backward passes.

- ``core.py``: :class:`Parameter` (``.data`` and ``.grad``), :class:`Layer` (forward, backward,
  double backward, the shape and device checks) and :class:`Sequential`; saving and loading arrays.
- ``layers/``: one file a layer, its forward and backward side by side.
- ``conv.py``: im2col / col2im, the convolution as a matrix product.
- ``init.py``, ``optim.py``, ``losses.py``: starting weights, update rules, losses with their gradients.
- ``gradcheck.py``: finite differences, to check every backward.
- ``fastpath/``: the same arithmetic in fewer passes, chosen by one switch (docs/performance.md).

Nothing here knows about GANs: the GAN game is in ``minigan/gan/``.
"""
from .core import (DamagedFileError, DoubleBackwardError, Layer, Parameter, Sequential, ShapeError, evaluating,
                   input_gradient, is_array, is_int, is_real, load_npz, plain_number, require_int, save_npz_atomic)
