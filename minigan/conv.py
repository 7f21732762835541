"""im2col and col2im: the one place with index gymnastics.

A convolution slides a ``C x kH x kW`` window over the padded image. ``im2col``
lays every window out as one row of a matrix, so the whole convolution becomes
one matrix product with the flattened kernels::

    cols[n*Ho*Wo + i*Wo + j, c*kH*kW + u*kW + v] = x_pad[n, c, i*stride + u, j*stride + v]

``col2im`` is its adjoint: it adds each row back onto the window it came from
(overlapping windows add up). It is what the convolution's input gradient and
the transposed convolution's forward need.
"""
from .backend import get_array_module


def conv_output_size(size, kernel_size, stride, padding):
    """Output length of a convolution along one axis: floor((n + 2p - k) / s) + 1."""
    return (size + 2 * padding - kernel_size) // stride + 1


def pad2d(x, padding):
    """Zero-pad the last two axes of an NCHW array by ``padding`` on each side."""
    if padding == 0:
        return x
    xp = get_array_module(x)
    p = padding
    return xp.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))


def im2col(x, kernel_size, stride=1, padding=0):
    """Lay out every convolution window of ``x`` as a row.

    Parameters
    ----------
    x : array (N, C, H, W)
    kernel_size : (kH, kW)

    Returns
    -------
    cols : array (N*Ho*Wo, C*kH*kW), a fresh contiguous array
    (Ho, Wo) : the output's spatial size
    """
    xp = get_array_module(x)
    kh, kw = kernel_size
    n, c, h, w = x.shape
    ho, wo = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
    x_pad = xp.ascontiguousarray(pad2d(x, padding))
    sn, sc, sh, sw = x_pad.strides
    # A view (N, Ho, Wo, C, kH, kW) into x_pad: no copy until the reshape below.
    windows = xp.lib.stride_tricks.as_strided(
        x_pad, shape=(n, ho, wo, c, kh, kw), strides=(sn, sh * stride, sw * stride, sc, sh, sw)
    )
    # copy() (C order) before the reshape: where the window view is already C-contiguous
    # (1x1 kernel, stride 1, one channel) reshape alone would return a view into x itself.
    return windows.copy().reshape(n * ho * wo, c * kh * kw), (ho, wo)


def col2im(cols, x_shape, kernel_size, stride=1, padding=0):
    """The adjoint of :func:`im2col`: add every row back onto its window.

    Parameters
    ----------
    cols : array (N*Ho*Wo, C*kH*kW)
    x_shape : (N, C, H, W), the shape of the image the windows were taken from

    Returns
    -------
    array (N, C, H, W) with ``sum over windows`` at each pixel
    """
    xp = get_array_module(cols)
    kh, kw = kernel_size
    n, c, h, w = x_shape
    ho, wo = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
    windows = cols.reshape(n, ho, wo, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)  # (N, C, kH, kW, Ho, Wo)
    x_pad = xp.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=cols.dtype)
    # One loop over the kernel's kH*kW offsets (16 for a 4x4 kernel), never over pixels:
    # offset (u, v) of every window lands on the strided grid starting at (u, v).
    for u in range(kh):
        for v in range(kw):
            x_pad[:, :, u:u + stride * ho:stride, v:v + stride * wo:stride] += windows[:, :, u, v]
    if padding:
        return x_pad[:, :, padding:padding + h, padding:padding + w]
    return x_pad
