"""How many floating-point operations minigan's matrix products do: per layer, and over a whole step.

A GEMM rate (GFLOP/s of a big matrix product) is the most a machine can do for a
network whose work is matrix products. To hold a training step against it, count
the step's products. Dense, Conv2d and ConvTranspose2d are where they are:

    Dense (N, in) -> (N, out)               N * in * out multiply-adds (MACs) forward
    Conv2d, input (N, C_in, H, W)           N * Ho * Wo * C_out * C_in * kH * kW
    ConvTranspose2d, input (N, C_in, H, W)  N * H * W * C_in * C_out * kH * kW  (the conv it is the adjoint of)

A backward costs the forward's MACs again for dL/dx, and once more for dL/dW
(when the layer's ``requires_grad`` is set); a double backward (the gradient
penalty's) the same two. One MAC is 2 FLOPs. Everything else in a step
(batchnorm, activations, im2col copies, Adam) does no counted FLOPs: it is what
keeps a step from running at the GEMM rate.

No PyTorch here: bench.py imports this module; tests/test_flops.py checks it.
"""
from minigan import Conv2d, ConvTranspose2d, Dense
from minigan.nn.conv import conv_output_size


def conv_macs(layer, x_shape):
    """Multiply-adds of one convolution forward (a transposed conv: those of the conv it is the adjoint of)."""
    n, _, h, w = x_shape
    kh, kw = layer.kernel_size
    if isinstance(layer, ConvTranspose2d):
        return n * h * w * layer.in_channels * layer.out_channels * kh * kw
    ho = conv_output_size(h, kh, layer.stride, layer.padding)
    wo = conv_output_size(w, kw, layer.stride, layer.padding)
    return n * ho * wo * layer.out_channels * layer.in_channels * kh * kw


def forward_macs(layer, x_shape):
    """Multiply-adds of one forward of a Dense, Conv2d or ConvTranspose2d on an input of ``x_shape``."""
    if isinstance(layer, Dense):
        return x_shape[0] * layer.in_features * layer.out_features
    return conv_macs(layer, x_shape)


class GemmFlops:
    """Counts the FLOPs of minigan's matrix products (Dense, Conv2d, ConvTranspose2d) while active.

        with GemmFlops() as flops:
            step()
        flops.gflop      # 2 x the multiply-adds of every forward, backward and double backward

    A forward counts the layer's MACs; a backward its input gradient's MACs (the same number)
    when the layer's ``input_grad`` is set (D's first layer skips it in D's own step, see
    ``Layer.no_input_grad``), plus the weight gradient's when its ``requires_grad`` is; a double backward the
    same two. Counting wraps the three classes' methods for the duration of the ``with`` block
    and restores them after. PyTorch does the same products, so bench.py credits both
    frameworks with this count.
    """

    classes = (Dense, Conv2d, ConvTranspose2d)

    def __init__(self):
        self.macs, self._saved, self._x_shape = 0, [], {}

    def _count(self, cls, name):
        original = cls.__dict__[name]
        self._saved.append((cls, name, original))
        counter = self

        def counted(layer, arr):
            if name == "forward":
                counter._x_shape[id(layer)] = tuple(arr.shape)
                counter.macs += forward_macs(layer, arr.shape)              # y = x W
            else:  # backward: dy, sized by the forward's x; double_backward: ddx, which has x's shape
                x_shape = counter._x_shape[id(layer)] if name == "backward" else tuple(arr.shape)
                first = layer.input_grad or name == "double_backward"                     # dx (or ddy) ...
                counter.macs += forward_macs(layer, x_shape) * (bool(first) + bool(layer.requires_grad))  # ... + dW
            return original(layer, arr)
        setattr(cls, name, counted)

    def __enter__(self):
        for cls in self.classes:
            for name in ("forward", "backward", "double_backward"):
                if name in cls.__dict__:
                    self._count(cls, name)
        return self

    def __exit__(self, *exc):
        for cls, name, original in reversed(self._saved):
            setattr(cls, name, original)
        self._saved = []

    @property
    def gflop(self):
        return 2 * self.macs / 1e9
