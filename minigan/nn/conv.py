"""im2col and col2im: the one place with index gymnastics.

A convolution slides a ``C x kH x kW`` window over the padded image. ``im2col``
lays every window out as one row of a matrix, so the whole convolution becomes
one matrix product with the flattened kernels::

    cols[n*Ho*Wo + i*Wo + j, (u*kW + v)*C + c] = x_pad[n, c, i*stride + u, j*stride + v]

Within a row the channel index ``c`` varies fastest (the "channels-last"
order). Both functions then work on an (N, H, W, C) copy of the image, where
the C numbers a kernel offset touches are adjacent in memory: the copies and
the additions run over contiguous runs of memory, several times faster than
in NCHW order. The layers flatten their kernels in the same (u, v, c) order.

``col2im`` is its adjoint: it adds each row back onto the window it came from
(overlapping windows add up). It is what the convolution's input gradient and
the transposed convolution's forward need. On NumPy arrays col2im hands its
windows to a faster twin (``fastpath/conv.py``: the same sums, in whole cells,
on every core) where that applies; the lines here are the plain ones. Last, the
kernels as a matrix in the same order (``kernel_matrix``), and the stride-1 input
gradient as a convolution with the flipped kernels, which the CPU runs faster.
"""

from ..backend import get_array_module
from . import fastpath


def conv_output_size(size, kernel_size, stride, padding):
    """Output length of a convolution along one axis: floor((n + 2p - k) / s) + 1."""
    return (size + 2 * padding - kernel_size) // stride + 1


def im2col(x, kernel_size, stride=1, padding=0):
    """Lay out every convolution window of ``x`` as a row.

    Parameters
    ----------
    x : array (N, C, H, W)
    kernel_size : (kH, kW)

    Returns
    -------
    cols : array (N*Ho*Wo, kH*kW*C), a fresh contiguous array, columns in (u, v, c) order
    (Ho, Wo) : the output's spatial size
    """
    xp = get_array_module(x)
    kh, kw = kernel_size
    n, c, h, w = x.shape
    ho, wo = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
    # --8<-- [start:im2col-windows]
    p = padding
    x_pad = xp.zeros((n, h + 2 * p, w + 2 * p, c), dtype=x.dtype)     # channels last, zero border
    x_pad[:, p:p + h, p:p + w, :] = x.transpose(0, 2, 3, 1)
    sn, sh, sw, sc = x_pad.strides
    # A view (N, Ho, Wo, kH, kW, C) into x_pad: window (i, j) starts at pixel (i*stride, j*stride).
    windows = xp.lib.stride_tricks.as_strided(
        x_pad, shape=(n, ho, wo, kh, kw, c), strides=(sn, sh * stride, sw * stride, sh, sw, sc)
    )
    return windows.reshape(n * ho * wo, kh * kw * c), (ho, wo)  # the reshape copies: windows overlap
    # --8<-- [end:im2col-windows]


def col2im(cols, x_shape, kernel_size, stride=1, padding=0):
    """The adjoint of :func:`im2col`: add every row back onto its window.

    Parameters
    ----------
    cols : array (N*Ho*Wo, kH*kW*C), columns in (u, v, c) order
    x_shape : (N, C, H, W), the shape of the image the windows were taken from

    Returns
    -------
    array (N, C, H, W) with ``sum over windows`` at each pixel (an NCHW view of
    a channels-last array)
    """
    xp = get_array_module(cols)
    kh, kw = kernel_size
    n, c, h, w = x_shape
    ho, wo = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
    # --8<-- [start:col2im-plain]
    windows = cols.reshape(n, ho, wo, kh, kw, c)
    # --8<-- [start:col2im-dispatch]
    if fastpath.active(cols) and fastpath.conv.has_whole_cells(c, kernel_size, stride):  # minigan/nn/fastpath/conv.py
        return fastpath.conv.col2im(windows, stride, padding, (h, w))                # the same sums, in whole cells
    # --8<-- [end:col2im-dispatch]
    x_pad = xp.zeros((n, h + 2 * padding, w + 2 * padding, c), dtype=cols.dtype)
    # One loop over the kernel's kH*kW offsets (16 for a 4x4 kernel), never over pixels:
    # offset (u, v) of every window lands on the strided grid starting at (u, v).
    for u in range(kh):
        for v in range(kw):
            x_pad[:, u:u + stride * ho:stride, v:v + stride * wo:stride, :] += windows[:, :, :, u, v, :]
    return x_pad[:, padding:padding + h, padding:padding + w, :].transpose(0, 3, 1, 2)
    # --8<-- [end:col2im-plain]


def kernel_matrix(weight):
    """(A, B, kH, kW) kernels -> (A, kH*kW*B) matrix, columns in im2col's (u, v, c) order."""
    a = weight.shape[0]
    return weight.transpose(0, 2, 3, 1).reshape(a, -1)


def kernel_tensor(matrix, shape):
    """The inverse of :func:`kernel_matrix`: (A, kH*kW*B) -> (A, B, kH, kW)."""
    a, b, kh, kw = shape
    return matrix.reshape(a, kh, kw, b).transpose(0, 3, 1, 2)


def flipped_input_gradient(dy, weight, padding):
    """Conv2d's dL/dx at stride 1, as the convolution of dy (padded by k - 1 - p) with the flipped kernels.

    dL/dx[n, c, a, b] = sum_{o,u,v} W[o, c, u, v] dy[n, o, a + p - u, b + p - v]: with u' = k - 1 - u,
    a correlation of dy with W'[c, o, u', v'] = W[o, c, k-1-u', k-1-v'] (C_out in, C_in out). It equals
    col2im(dy_mat Wm) exactly, in another order of the same additions; ``Conv2d.backward`` takes it where
    ``fastpath.conv.has_flipped_path`` says it is faster.
    """
    n, c_out = dy.shape[:2]
    c_in, k = weight.shape[1], weight.shape[2]
    cols, (h, w) = im2col(dy, (k, k), 1, k - 1 - padding)      # (N*H*W, k*k*C_out), H = Ho + k - 1 - 2p
    flipped = weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)    # W'[c, o, u', v'] = W[o, c, k-1-u', k-1-v']
    w_mat = kernel_matrix(flipped)                              # (C_in, k*k*C_out), im2col's (u', v', o) order
    dx = cols @ w_mat.T                                         # (N*H*W, C_in)
    return dx.reshape(n, h, w, c_in).transpose(0, 3, 1, 2)       # (N, C_in, H, W), channels last in memory
