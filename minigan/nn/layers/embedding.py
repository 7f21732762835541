"""Class labels into vectors: OneHot (fixed) and Embedding (learned).

Both take integer labels y of shape (N,). A label has no gradient (it is not
a number on a continuous scale), so their backward returns ``None``.

    onehot(y)[n, k] = 1 if y_n = k else 0
    Embedding(y)    = onehot(y) W              (row y_n of the (K, D) table W)
"""
import numpy as np

from ...backend import backend_of, check_same_device, get_array_module
from .. import init
from ..core import Layer, Parameter, ShapeError, require_int


def one_hot(labels, num_classes, dtype=np.float32):
    """(N,) integers -> (N, K) rows of zeros with a 1 at each label, on the labels' backend."""
    xp = get_array_module(labels)
    return (labels[:, None] == xp.arange(num_classes)).astype(dtype)


def _check_labels(layer, y, k):
    if y.dtype.kind not in "iu":
        raise TypeError(f"{layer!r}: expected integer class labels, got dtype {y.dtype}")
    if y.ndim != 1:
        raise ShapeError(f"{layer!r}: expected labels of shape (N,), got {tuple(y.shape)}")
    # Range check on the CPU only: on a GPU reading the labels back would stop the device once per
    # call, and there the labels come from minigan's own sampler or from MNIST.
    if isinstance(y, np.ndarray) and y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"{layer!r}: labels must lie in [0, {k - 1}], got values in [{y.min()}, {y.max()}]")


class OneHot(Layer):
    """y (N,) -> onehot(y) (N, num_classes), in ``dtype``."""

    def __init__(self, num_classes, dtype=np.float32):
        self.num_classes = require_int("OneHot", "num_classes", num_classes, 1)
        self.dtype = np.dtype(dtype)

    def check_input(self, y):
        _check_labels(self, y, self.num_classes)

    def forward(self, y):
        return one_hot(y, self.num_classes, self.dtype)

    def backward(self, dy):
        return None                                           # labels have no gradient

    def __repr__(self):
        return f"OneHot({self.num_classes})"


class Embedding(Layer):
    """A learned vector per class: y (N,) -> W[y] (N, embedding_dim), W of shape (K, D).

    As in PyTorch's ``nn.Embedding``, W starts as N(0, 1).
    """

    init_kind = None  # dcgan_init leaves the table alone, as PyTorch's DCGAN init does

    def __init__(self, num_embeddings, embedding_dim, dtype=np.float32, rng=None):
        self.num_embeddings = require_int("Embedding", "num_embeddings", num_embeddings, 1)
        self.embedding_dim = require_int("Embedding", "embedding_dim", embedding_dim, 1)
        self.weight = Parameter(init.normal((num_embeddings, embedding_dim), 0.0, 1.0, dtype=dtype, r=rng))

    def check_input(self, y):
        w = self.weight.data
        check_same_device(f"{self!r} (table on {backend_of(w)}, labels on {backend_of(y)})", w, y)
        _check_labels(self, y, self.num_embeddings)

    def forward(self, y):
        # --8<-- [start:embedding-lookup]
        self.y = y                                            # backward needs which rows were read
        return self.weight.data[y]                            # W[y] = onehot(y) W
        # --8<-- [end:embedding-lookup]

    def backward(self, dy):
        # --8<-- [start:embedding-backward]
        if self.requires_grad:
            onehot = one_hot(self.y, self.num_embeddings, dy.dtype)
            self.weight.grad += onehot.T @ dy                  # dL/dW = onehot(y)^T dL/dE   (K, D)
        return None                                           # labels have no gradient
        # --8<-- [end:embedding-backward]

    def __repr__(self):
        return f"Embedding({self.num_embeddings}, {self.embedding_dim})"
