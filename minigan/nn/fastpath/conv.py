"""Convolutions' fast paths: col2im's sums in whole cells, and when to take the flipped-kernel input gradient.

``minigan.nn.conv.col2im`` hands its windows here where :func:`has_whole_cells`
holds and the array is a NumPy one (see the package docstring). Derived in
docs/layers/conv2d.md, "col2im's fast path".

``Conv2d.backward`` asks :func:`has_flipped_path` whether its input gradient at
stride 1 is faster as a convolution of dy with the kernels flipped
(``conv.flipped_input_gradient``: one im2col and one matrix product instead of a
product and col2im's kH*kW strided additions). Derived in docs/layers/conv2d.md,
"The stride-1 input gradient". Nothing here imports the plain modules: they import this one.
"""
import numpy as np

from .switch import map_pieces


def has_whole_cells(c, kernel_size, stride):
    """True where the fast col2im applies: the stride divides the kernel, and 8 channels or more.

    With fewer channels the runs of s*C numbers are too short to gain anything; where s does
    not divide the kernel there are no whole cells, and col2im keeps the plain loop.
    """
    kh, kw = kernel_size
    return c >= 8 and kh % stride == 0 and kw % stride == 0


def col2im(windows, stride, padding, size):
    """col2im's additions in whole cells, with the batch split over threads (s divides the kernel).

    ``windows`` is col2im's (N, Ho, Wo, kH, kW, C) view of the columns, ``size`` the image's
    (H, W). Offsets u = s*du + a (a < s) with the same du land on s neighbouring rows: window
    (i, j)'s block of offsets (s du .. s du + s-1, s dv .. s dv + s-1) covers the s x s pixels of
    cell (i + du, j + dv) of the padded image cut into s x s cells. So (kH/s)(kW/s) additions of
    whole cells (4 for a 4x4 kernel at stride 2, instead of 16) do the work, each over runs of
    s*C numbers. Returns what the plain col2im returns: an (N, C, H, W) view of the channels-last sum.
    """
    s, p = stride, padding
    h, w = size
    n, ho, wo, kh, kw, c = windows.shape
    qh, qw = kh // s, kw // s
    rows, columns = ho + qh - 1, wo + qw - 1              # cells the windows touch (>= the padded image)
    big = np.empty((n, max(rows * s, h + 2 * p), max(columns * s, w + 2 * p), c), dtype=windows.dtype)
    cells = big[:, :rows * s, :columns * s, :].reshape(n, rows, s, columns, s, c)   # [n, cell row, a, cell col, b, c]
    blocks = windows.reshape(n, ho, wo, qh, s, qw, s, c)  # offset (u, v) = (s du + a, s dv + b)

    def piece(part):
        big[part] = 0
        for du in range(qh):
            for dv in range(qw):
                # cell (i + du, j + dv) gets window (i, j)'s offsets (s du + a, s dv + b), laid out as [i, a, j, b, c]
                block = blocks[part, :, :, du, :, dv, :, :].transpose(0, 1, 3, 2, 4, 5)
                cells[part, du:du + ho, :, dv:dv + wo, :, :] += block
    map_pieces(piece, n, big[0].nbytes)
    return big[:, p:p + h, p:p + w, :].transpose(0, 3, 1, 2)


def has_flipped_path(c_in, c_out, kernel_size, stride, padding):
    """True where Conv2d's input gradient is faster as the flipped-kernel convolution.

    It applies at stride 1, with a square kernel and padding <= k - 1 (dy is then padded by
    k - 1 - p >= 0). It pays where dy has at most 4 times x's channels: its im2col copies
    k*k*C_out numbers per pixel, where col2im adds k*k*C_in in short strided runs (measured
    here: 1.1-1.7x faster from 16 -> 16 to 64 -> 32 channels and 10x at 8 -> 1, 4x slower at 1 -> 32).
    """
    kh, kw = kernel_size
    return stride == 1 and kh == kw and padding <= kh - 1 and c_out <= 4 * c_in
