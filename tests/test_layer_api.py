"""The layer API fails loudly and early, naming the layer.

backward before forward, a dL/dy of the wrong shape, dtype, backend or type, an
input that is not an array, and constructor arguments out of range: each is a
clear error that names the layer. The checks sit in one place (``nn.py`` wraps
every layer's forward and backward), so a new layer gets them for free.
"""
import numpy as np
import pytest

from minigan import (BatchNorm1d, BatchNorm2d, Concat, Conv2d, ConvTranspose2d, Dense, DeviceMismatchError, Dropout,
                     Embedding, Flatten, Fork, Identity, InstanceNorm2d, LeakyReLU, OneHot, Parallel, PixelShuffle,
                     PReLU, ReflectionPad2d, ReLU, Reshape, Residual, Sequential, ShapeError, Sigmoid, Tanh, Upsample2d)
from minigan.nn import Layer

# (layer factory, a good input)
LAYERS = {
    "Dense": (lambda: Dense(4, 3), (2, 4)),
    "Conv2d": (lambda: Conv2d(2, 3, 3, padding=1), (2, 2, 5, 5)),
    "ConvTranspose2d": (lambda: ConvTranspose2d(2, 3, 4, stride=2, padding=1), (2, 2, 3, 3)),
    "BatchNorm1d": (lambda: BatchNorm1d(4), (3, 4)),
    "BatchNorm2d": (lambda: BatchNorm2d(2), (2, 2, 3, 3)),
    "LeakyReLU": (lambda: LeakyReLU(0.2), (2, 4)),
    "ReLU": (lambda: ReLU(), (2, 4)),
    "Tanh": (lambda: Tanh(), (2, 4)),
    "Sigmoid": (lambda: Sigmoid(), (2, 4)),
    "Dropout": (lambda: Dropout(0.5, seed=0), (2, 4)),
    "Flatten": (lambda: Flatten(), (2, 2, 2)),
    "Reshape": (lambda: Reshape(2, 2), (2, 4)),
    "Upsample2d": (lambda: Upsample2d(2), (2, 1, 2, 2)),
    "Identity": (lambda: Identity(), (2, 4)),
    "Sequential": (lambda: Sequential(Dense(4, 3), LeakyReLU(0.2)), (2, 4)),
    "InstanceNorm2d": (lambda: InstanceNorm2d(2, affine=True), (2, 2, 3, 3)),
    "PReLU": (lambda: PReLU(2), (2, 2, 3)),
    "PixelShuffle": (lambda: PixelShuffle(2), (2, 4, 2, 2)),
    "ReflectionPad2d": (lambda: ReflectionPad2d(1), (2, 1, 3, 3)),
    "Residual": (lambda: Residual(Conv2d(2, 2, 3, padding=1)), (2, 2, 3, 3)),
}


def good_input(shape):
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("name", LAYERS)
def test_backward_before_forward_is_a_clear_error(name):
    factory, shape = LAYERS[name]
    layer = factory()
    with pytest.raises(RuntimeError, match="backward\\(\\) was called before forward\\(\\)") as err:
        layer.backward(np.ones(shape, np.float32))
    assert repr(layer) in str(err.value)


@pytest.mark.parametrize("name", LAYERS)
def test_dy_of_the_wrong_shape_names_both_shapes(name):
    factory, shape = LAYERS[name]
    layer = factory()
    y = layer(good_input(shape))
    wrong = np.ones(y.shape[:-1] + (y.shape[-1] + 1,), np.float32)
    with pytest.raises(ShapeError) as err:
        layer.backward(wrong)
    msg = str(err.value)
    assert repr(layer) in msg and str(tuple(wrong.shape)) in msg and str(tuple(y.shape)) in msg


@pytest.mark.parametrize("name", LAYERS)
def test_float64_dy_into_a_float32_layer_is_refused_not_upcast(name):
    factory, shape = LAYERS[name]
    layer = factory()
    y = layer(good_input(shape))
    with pytest.raises(TypeError, match="dtype float64.*float32"):
        layer.backward(np.ones(y.shape, np.float64))


@pytest.mark.parametrize("name", LAYERS)
def test_a_list_is_refused_with_the_fix(name):
    factory, shape = LAYERS[name]
    layer = factory()
    with pytest.raises(TypeError, match="expected a NumPy or CuPy array, got list.*np.asarray"):
        layer(good_input(shape).tolist())
    y = layer(good_input(shape))
    with pytest.raises(TypeError, match="got list"):
        layer.backward(np.ones(y.shape, np.float32).tolist())


class FakeCupyArray(np.ndarray):
    """A NumPy array that reports the CuPy backend (no GPU needed to test the check)."""


FakeCupyArray.__module__ = "cupy"


def test_a_dy_on_the_other_backend_is_a_device_mismatch():
    layer = Dense(4, 3)
    y = layer(good_input((2, 4)))
    with pytest.raises(DeviceMismatchError, match=r"Dense\(4, 3.*cupy.*numpy"):
        layer.backward(np.ones(y.shape, np.float32).view(FakeCupyArray))


def test_the_contract_backward_reads_the_latest_forward_and_a_mismatch_is_caught():
    """Two forwards, one backward: the backward belongs to the second; a dy shaped for the first is refused."""
    layer = Dense(4, 3).to(dtype=np.float64)
    x1, x2 = np.random.default_rng(1).standard_normal((5, 4)), np.random.default_rng(2).standard_normal((2, 4))
    layer(x1)
    layer(x2)
    with pytest.raises(ShapeError, match=r"latest forward returned shape \(2, 3\)"):
        layer.backward(np.ones((5, 3)))
    layer.zero_grad()
    layer.backward(np.ones((2, 3)))
    np.testing.assert_allclose(layer.weight.grad, x2.T @ np.ones((2, 3)))


@pytest.mark.parametrize("build, words", [
    (lambda: Dense(0, 5), "Dense: in_features must be an integer >= 1, got 0"),
    (lambda: Dense(-1, 5), "Dense: in_features must be an integer >= 1, got -1"),
    (lambda: Dense(4, 2.5), "Dense: out_features must be an integer >= 1, got 2.5"),
    (lambda: Conv2d(1, 8, 3, stride=0), "Conv2d: stride must be an integer >= 1, got 0"),
    (lambda: Conv2d(1, 8, 3, padding=-1), "Conv2d: padding must be an integer >= 0, got -1"),
    (lambda: Conv2d(0, 8, 3), "Conv2d: in_channels must be an integer >= 1, got 0"),
    (lambda: Conv2d(1, 8, 0), "Conv2d: kernel_size must be an integer >= 1, got 0"),
    (lambda: ConvTranspose2d(1, 8, 4, stride=0), "ConvTranspose2d: stride must be an integer >= 1, got 0"),
    (lambda: ConvTranspose2d(1, 8, 4, output_padding=-1), "ConvTranspose2d: output_padding must be an integer >= 0"),
    (lambda: BatchNorm2d(0), "BatchNorm2d: num_features must be an integer >= 1, got 0"),
    (lambda: BatchNorm1d(4, momentum=2), "BatchNorm1d: momentum must be in [0, 1], got 2"),
    (lambda: BatchNorm1d(4, eps=0), "BatchNorm1d: eps must be > 0, got 0"),
    (lambda: Dropout(1.0), "Dropout: p must be in [0, 1), got 1.0"),
    (lambda: Dropout(-0.1), "Dropout: p must be in [0, 1), got -0.1"),
    (lambda: Reshape(0, 4), "Reshape: every size must be an integer >= 1, got 0"),
    (lambda: Upsample2d(0), "Upsample2d: scale_factor must be an integer >= 1, got 0"),
    (lambda: Embedding(0, 4), "Embedding: num_embeddings must be an integer >= 1, got 0"),
    (lambda: OneHot(0), "OneHot: num_classes must be an integer >= 1, got 0"),
    (lambda: LeakyReLU("0.2"), "LeakyReLU: negative_slope must be a number"),
    (lambda: Sequential(Dense(2, 2), "relu"), "Sequential: item 1 is str, not a minigan Layer"),
])
def test_constructor_arguments_out_of_range_are_refused(build, words):
    with pytest.raises((ValueError, TypeError)) as err:
        build()
    assert words in str(err.value)


def test_a_new_layer_gets_the_checks_without_writing_them():
    class Double(Layer):
        def forward(self, x):
            return 2 * x

        def backward(self, dy):
            return 2 * dy                                   # dL/dx = 2 dL/dy

    layer = Double()
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones(3, np.float32))
    layer(np.ones(3, np.float32))
    with pytest.raises(ShapeError):
        layer.backward(np.ones(4, np.float32))
    np.testing.assert_array_equal(layer.backward(np.ones(3, np.float32)), 2 * np.ones(3))


def test_tuple_outputs_take_a_tuple_of_gradients_with_none_for_an_unused_head():
    fork = Fork(Dense(4, 1), Dense(4, 2))
    heads = fork(good_input((3, 4)))
    with pytest.raises(TypeError, match="returned 2 outputs.*tuple of 2 gradients"):
        fork.backward(np.ones((3, 1), np.float32))
    with pytest.raises(ShapeError, match=r"dL/dy\[1\]"):
        fork.backward((np.ones((3, 1), np.float32), np.ones((3, 3), np.float32)))
    dx = fork.backward((np.ones_like(heads[0]), None))
    assert dx.shape == (3, 4)
    with pytest.raises(TypeError, match="tuple of 2 inputs, got 3"):
        Parallel(Identity(), Identity())((np.ones(2), np.ones(2), np.ones(2)))
    with pytest.raises(TypeError, match="expected a tuple of arrays"):
        Concat()(np.ones((2, 2), np.float32))
