"""benchmarks/flops.py: the matrix-product FLOPs of a training step, counted while it runs.

Each count is checked against the shapes of the products the layer's code does
(x W, dy W^T, x^T dy: three products of the same m x k x n size), and the counter
must leave the layer classes as it found them.
"""
import importlib.util
import os

import numpy as np

from minigan import Conv2d, ConvTranspose2d, Dense, LeakyReLU, Sequential

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("flops", os.path.join(ROOT, "benchmarks", "flops.py"))
flops = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(flops)


def test_dense_forward_and_backward_are_three_products_of_n_in_out():
    rng = np.random.default_rng(0)
    layer = Dense(5, 3, rng=rng)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    with flops.GemmFlops() as counter:
        y = layer(x)
        assert counter.macs == 4 * 5 * 3                     # y = x W
        layer.backward(np.ones_like(y))
    assert counter.macs == 3 * 4 * 5 * 3                     # + dx = dy W^T, dW = x^T dy
    assert counter.gflop == 2 * 3 * 4 * 5 * 3 / 1e9


def test_a_layer_that_wants_only_dx_skips_the_weight_gradient():
    """The G step asks D for dL/dx only (requires_grad_(False)): one product fewer."""
    rng = np.random.default_rng(0)
    layer = Dense(5, 3, rng=rng)
    layer.requires_grad_(False)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    with flops.GemmFlops() as counter:
        layer.backward(np.ones_like(layer(x)))
    assert counter.macs == 2 * 4 * 5 * 3                     # y = x W, dx = dy W^T


def test_the_penalty_double_backward_counts_two_more_products():
    """WGAN-GP differentiates dx = dy W^T once more: dP/d(dy) = ddx W and dP/dW = ddx^T dy."""
    rng = np.random.default_rng(0)
    layer = Dense(5, 3, rng=rng)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    with flops.GemmFlops() as counter:
        dx = layer.backward(np.ones_like(layer(x)))
        before = counter.macs
        layer.double_backward(np.ones_like(dx))
    assert counter.macs - before == 2 * 4 * 5 * 3


def test_convolutions_count_output_positions_times_kernel_size():
    rng = np.random.default_rng(0)
    conv = Conv2d(2, 4, 4, stride=2, padding=1, rng=rng)         # 8x8 -> 4x4
    up = ConvTranspose2d(4, 2, 4, stride=2, padding=1, rng=rng)  # 4x4 -> 8x8: the adjoint of conv
    x = rng.standard_normal((3, 2, 8, 8)).astype(np.float32)
    net = Sequential(conv, LeakyReLU(0.2), up)
    with flops.GemmFlops() as counter:
        y = net(x)
        net.backward(np.ones_like(y))
    one_forward = 3 * 4 * 4 * 4 * 2 * 4 * 4                      # N Ho Wo C_out C_in kH kW, the same for both
    assert flops.conv_macs(conv, x.shape) == flops.conv_macs(up, (3, 4, 4, 4)) == one_forward
    assert counter.macs == 2 * 3 * one_forward                   # forward, dx, dW of each


def test_the_layers_are_restored_after_counting():
    before = {cls: dict(cls.__dict__) for cls in flops.GemmFlops.classes}
    with flops.GemmFlops():
        assert Dense.__dict__["forward"] is not before[Dense]["forward"]
    for cls in flops.GemmFlops.classes:
        for name in ("forward", "backward", "double_backward"):
            assert cls.__dict__.get(name) is before[cls].get(name)
    rng = np.random.default_rng(0)
    with flops.GemmFlops() as counter:
        pass
    Dense(5, 3, rng=rng)(np.zeros((2, 5), np.float32))           # outside the block: not counted
    assert counter.macs == 0
