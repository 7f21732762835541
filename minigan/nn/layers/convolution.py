"""Conv2d and ConvTranspose2d, both as one matrix product over im2col windows.

Conv2d:           y = W * x + b      (each output pixel: a dot product of a kernel with a window)
ConvTranspose2d:  the adjoint of Conv2d: its forward is Conv2d's input gradient,
                  and its input gradient is Conv2d's forward.
"""
import numpy as np

from .. import fastpath, init
from ..conv import col2im, flipped_input_gradient, im2col, kernel_matrix, kernel_tensor
from ..core import Layer, Parameter, ShapeError, is_int, plain_number, require_int


def _pair(k):
    return (int(k), int(k)) if is_int(k) else tuple(plain_number(v) for v in k)


def _check_conv_args(name, in_channels, out_channels, kernel_size, stride, padding):
    """The sizes a convolution is built from, each an integer in its range, or a ValueError naming it."""
    require_int(name, "in_channels", in_channels, 1)
    require_int(name, "out_channels", out_channels, 1)
    for k in _pair(kernel_size):
        require_int(name, "kernel_size", k, 1)
    require_int(name, "stride", stride, 1)
    require_int(name, "padding", padding, 0)


class Conv2d(Layer):
    """2-D convolution (cross-correlation, as in every deep-learning library).

    Shapes: x (N, C_in, H, W), weight (C_out, C_in, kH, kW), bias (C_out,),
    y (N, C_out, Ho, Wo) with Ho = floor((H + 2p - kH) / s) + 1.

    With ``cols = im2col(x)`` of shape (N*Ho*Wo, kH*kW*C_in) and the kernels
    flattened in the same (u, v, c) order to ``Wm`` of shape (C_out, kH*kW*C_in),
    the layer is ``y = cols Wm^T + b`` followed by a reshape to NCHW.
    """

    init_kind = "linear"

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 dtype=np.float32, rng=None):
        _check_conv_args("Conv2d", in_channels, out_channels, kernel_size, stride, padding)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = _pair(kernel_size), int(stride), int(padding)
        kh, kw = self.kernel_size
        # --8<-- [start:conv2d-init]
        fan_in = in_channels * kh * kw
        self.weight = Parameter(init.default_uniform((out_channels, in_channels, kh, kw), fan_in, dtype=dtype, r=rng))
        # --8<-- [end:conv2d-init]
        self.bias = Parameter(init.default_uniform((out_channels,), fan_in, dtype=dtype, r=rng)) if bias else None

    def check_input(self, x):
        super().check_input(x)
        self.expect_shape(x, (None, self.in_channels, None, None), f"(N, {self.in_channels}, H, W)")
        kh, kw = self.kernel_size
        if x.shape[2] + 2 * self.padding < kh or x.shape[3] + 2 * self.padding < kw:
            raise ShapeError(f"{self!r}: expected input of shape (N, {self.in_channels}, H, W) with "
                             f"H + 2*padding >= {kh} and W + 2*padding >= {kw}, got {tuple(x.shape)}")

    def forward(self, x):
        n = x.shape[0]
        self.x_shape = x.shape
        self.dy_mat = None                                   # the previous backward's dy is stale: let it go
        self.cols, (ho, wo) = im2col(x, self.kernel_size, self.stride, self.padding)  # (N*Ho*Wo, kH*kW*C_in)
        w_mat = kernel_matrix(self.weight.data)                                          # (C_out, kH*kW*C_in)
        y = self.cols @ w_mat.T                                                          # (N*Ho*Wo, C_out)
        if self.bias is not None:
            y += self.bias.data
        return y.reshape(n, ho, wo, self.out_channels).transpose(0, 3, 1, 2)            # (N, C_out, Ho, Wo)

    def backward(self, dy):
        # --8<-- [start:conv2d-dy-mat]
        dy_mat = dy.transpose(0, 2, 3, 1).reshape(-1, self.out_channels)                 # (N*Ho*Wo, C_out)
        self.dy_mat = dy_mat                                                  # double_backward's dP/dWm needs it
        # --8<-- [end:conv2d-dy-mat]
        # --8<-- [start:conv2d-weight-grad]
        w_mat = kernel_matrix(self.weight.data)
        if self.requires_grad:
            # dL/dWm = dL/dy^T cols, computed as (cols^T dL/dy)^T: the order OpenBLAS runs faster
            self.weight.grad += kernel_tensor((self.cols.T @ dy_mat).T, self.weight.shape)
        # --8<-- [end:conv2d-weight-grad]
            # --8<-- [start:conv2d-bias-grad]
            if self.bias is not None:
                self.bias.grad += dy_mat.sum(axis=0)                               # dL/db = sum over N, Ho, Wo
            # --8<-- [end:conv2d-bias-grad]
        if not self.input_grad:                                                # nobody reads dL/dx (no_input_grad)
            return None
        # --8<-- [start:conv2d-flipped-dispatch]
        if fastpath.active(dy) and fastpath.conv.has_flipped_path(self.in_channels, self.out_channels,
                                                                  self.kernel_size, self.stride, self.padding):
            return flipped_input_gradient(dy, self.weight.data, self.padding)   # the same dL/dx, faster here (conv.py)
        # --8<-- [end:conv2d-flipped-dispatch]
        # --8<-- [start:conv2d-input-grad]
        # --8<-- [start:conv2d-dcols]
        dcols = dy_mat @ w_mat                                                 # dL/dcols = dL/dy Wm
        # --8<-- [end:conv2d-dcols]
        # --8<-- [start:conv2d-col2im]
        return col2im(dcols, self.x_shape, self.kernel_size, self.stride, self.padding)  # dL/dx: windows added back
        # --8<-- [end:conv2d-col2im]
        # --8<-- [end:conv2d-input-grad]

    def double_backward(self, ddx):
        """Differentiate backward's dx = col2im(dy_mat Wm) once more, given ddx = dP/d(dx) (docs/wgan_gp.md).

        dx is linear in dy and in the kernels and does not depend on x. The
        adjoint of col2im is im2col, so dP/d(dcols) = im2col(ddx): it gives
        dP/d(dy) (the forward's convolution of ddx, no bias) and dP/dWm (the
        mixed term). No second-order term for x.
        """
        # --8<-- [start:conv2d-double-backward]
        n = ddx.shape[0]
        ddx_cols, (ho, wo) = im2col(ddx, self.kernel_size, self.stride, self.padding)   # dP/d(dcols) = im2col(ddx)
        w_mat = kernel_matrix(self.weight.data)
        if self.requires_grad:
            self.weight.grad += kernel_tensor(self.dy_mat.T @ ddx_cols, self.weight.shape)  # dP/dWm = dy^T im2col(ddx)
        ddy = ddx_cols @ w_mat.T                                                 # dP/d(dy) = im2col(ddx) Wm^T
        return ddy.reshape(n, ho, wo, self.out_channels).transpose(0, 3, 1, 2), None  # (N, C_out, Ho, Wo)
        # --8<-- [end:conv2d-double-backward]

    def __repr__(self):
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding})")


class ConvTranspose2d(Layer):
    """Transposed convolution: the adjoint (transpose) of Conv2d.

    Shapes: x (N, C_in, H, W), weight (C_in, C_out, kH, kW), bias (C_out,),
    y (N, C_out, Ho, Wo) with Ho = (H - 1) s - 2p + kH + output_padding.

    Think of the Conv2d that maps an (N, C_out, Ho, Wo) image to (N, C_in, H, W)
    with this very weight. That conv is ``z = cols(y) Wm^T`` with ``Wm`` of shape
    (C_in, kH*kW*C_out); its input gradient is ``col2im(dz Wm)``. This layer's
    forward is exactly that input gradient, with ``x`` in the place of ``dz``:

        y = col2im(x_mat Wm) + b

    and so its backward is that conv's forward: ``dx = im2col(dy) Wm^T``.
    """

    init_kind = "linear"

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 bias=True, dtype=np.float32, rng=None):
        _check_conv_args("ConvTranspose2d", in_channels, out_channels, kernel_size, stride, padding)
        require_int("ConvTranspose2d", "output_padding", output_padding, 0)
        if output_padding >= stride and output_padding > 0:
            raise ValueError(f"output_padding ({output_padding}) must be smaller than stride ({stride})")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = _pair(kernel_size), int(stride), int(padding)
        self.output_padding = output_padding
        kh, kw = self.kernel_size
        # --8<-- [start:convtranspose2d-init]
        fan_in = out_channels * kh * kw  # PyTorch's convention for transposed convs
        # --8<-- [end:convtranspose2d-init]
        self.weight = Parameter(init.default_uniform((in_channels, out_channels, kh, kw), fan_in, dtype=dtype, r=rng))
        self.bias = Parameter(init.default_uniform((out_channels,), fan_in, dtype=dtype, r=rng)) if bias else None

    def output_shape(self, x_shape):
        n, _, h, w = x_shape
        kh, kw = self.kernel_size
        s, p, op = self.stride, self.padding, self.output_padding
        # --8<-- [start:convtranspose2d-output-shape]
        return n, self.out_channels, (h - 1) * s - 2 * p + kh + op, (w - 1) * s - 2 * p + kw + op
        # --8<-- [end:convtranspose2d-output-shape]

    def check_input(self, x):
        super().check_input(x)
        self.expect_shape(x, (None, self.in_channels, None, None), f"(N, {self.in_channels}, H, W)")
        _, _, ho, wo = self.output_shape(x.shape)
        if ho < 1 or wo < 1:
            raise ShapeError(f"{self!r}: expected input of shape (N, {self.in_channels}, H, W) large enough "
                             f"for a non-empty output, got {tuple(x.shape)} (output would be {ho} x {wo})")

    def forward(self, x):
        n, c, h, w = x.shape
        self.x_mat = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)        # (N*H*W, C_in)
        w_mat = kernel_matrix(self.weight.data)                           # (C_in, kH*kW*C_out)
        self.y_shape = self.output_shape(x.shape)
        cols = self.x_mat @ w_mat                                         # (N*H*W, kH*kW*C_out)
        y = col2im(cols, self.y_shape, self.kernel_size, self.stride, self.padding)  # (N, C_out, Ho, Wo)
        if self.bias is not None:
            y = y + self.bias.data.reshape(1, -1, 1, 1)
        return y

    def backward(self, dy):
        n = dy.shape[0]
        # --8<-- [start:convtranspose2d-im2col-dy]
        cols, (h, w) = im2col(dy, self.kernel_size, self.stride, self.padding)  # (N*H*W, kH*kW*C_out)
        # --8<-- [end:convtranspose2d-im2col-dy]
        # --8<-- [start:convtranspose2d-weight-grad]
        w_mat = kernel_matrix(self.weight.data)
        if self.requires_grad:
            # dL/dWm = x_mat^T im2col(dy), computed as (im2col(dy)^T x_mat)^T: the order OpenBLAS runs faster
            self.weight.grad += kernel_tensor((cols.T @ self.x_mat).T, self.weight.shape)
        # --8<-- [end:convtranspose2d-weight-grad]
            # --8<-- [start:convtranspose2d-bias-grad]
            if self.bias is not None:
                self.bias.grad += dy.sum(axis=(0, 2, 3))                            # dL/db = sum over N, Ho, Wo
            # --8<-- [end:convtranspose2d-bias-grad]
        if not self.input_grad:                                                 # nobody reads dL/dx (no_input_grad)
            return None
        # --8<-- [start:convtranspose2d-input-grad]
        dx_mat = cols @ w_mat.T                                                 # dL/dx = im2col(dy) Wm^T
        return dx_mat.reshape(n, h, w, self.in_channels).transpose(0, 3, 1, 2)
        # --8<-- [end:convtranspose2d-input-grad]

    def __repr__(self):
        return (f"ConvTranspose2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, output_padding={self.output_padding})")
