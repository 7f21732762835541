"""im2col and col2im: the window layout against a loop, and col2im as im2col's adjoint."""
import numpy as np
import pytest

from minigan.nn.conv import col2im, conv_output_size, im2col

pytestmark = pytest.mark.usefixtures("both_paths")  # fast paths and plain lines alike (conftest.py)


def reference_im2col(x, kernel_size, stride, padding):
    """One row per window, in the documented order.

    cols[n*Ho*Wo + i*Wo + j, (u*kW + v)*C + c] = x_pad[n, c, i*s + u, j*s + v]
    """
    n, c, h, w = x.shape
    kh, kw = kernel_size
    p, s = padding, stride
    x_pad = np.zeros((n, c, h + 2 * p, w + 2 * p), dtype=x.dtype)
    x_pad[:, :, p:p + h, p:p + w] = x
    ho, wo = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
    cols = np.zeros((n * ho * wo, kh * kw * c), dtype=x.dtype)
    for a in range(n):
        for i in range(ho):
            for j in range(wo):
                for ch in range(c):
                    for u in range(kh):
                        for v in range(kw):
                            cols[a * ho * wo + i * wo + j, (u * kw + v) * c + ch] = \
                                x_pad[a, ch, i * s + u, j * s + v]
    return cols, (ho, wo)


SHAPES = [(1, 1, 4, 4), (2, 3, 5, 6), (2, 2, 7, 5)]
KERNELS = [(1, 1), (2, 2), (3, 3), (2, 3)]


def every_window(test):
    """Run ``test`` over every shape x kernel x stride (1-3) x padding (0-2)."""
    for name, values in (("padding", [0, 1, 2]), ("stride", [1, 2, 3]), ("kernel", KERNELS), ("shape", SHAPES)):
        test = pytest.mark.parametrize(name, values)(test)
    return test


@every_window
def test_im2col_matches_loop(rng, shape, kernel, stride, padding):
    """Every row of im2col is the window the loop reads, in the same order."""
    x = rng.standard_normal(shape)
    cols, out = im2col(x, kernel, stride, padding)
    ref, ref_out = reference_im2col(x, kernel, stride, padding)
    assert out == ref_out
    assert cols.shape == ref.shape
    np.testing.assert_array_equal(cols, ref)


@every_window
def test_col2im_is_adjoint_of_im2col(rng, shape, kernel, stride, padding):
    """<im2col(x), c> = <x, col2im(c)> for random x and c: col2im is im2col's transpose."""
    x = rng.standard_normal(shape)
    cols, _ = im2col(x, kernel, stride, padding)
    c = rng.standard_normal(cols.shape)
    back = col2im(c, shape, kernel, stride, padding)
    assert back.shape == shape
    lhs, rhs = np.sum(cols * c), np.sum(x * back)
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(lhs))


def test_col2im_counts_window_overlaps(rng):
    """col2im of all-ones rows says how many windows cover each pixel (3x3, stride 1, padding 1)."""
    shape, kernel = (1, 1, 4, 4), (3, 3)
    cols, _ = im2col(np.zeros(shape), kernel, 1, 1)
    counts = col2im(np.ones_like(cols), shape, kernel, 1, 1)[0, 0]
    expected = np.array([[4, 6, 6, 4], [6, 9, 9, 6], [6, 9, 9, 6], [4, 6, 6, 4]])
    np.testing.assert_array_equal(counts, expected)


@pytest.mark.parametrize("shape, kernel, stride, padding", [
    ((2, 1, 4, 4), (1, 1), 1, 0),   # 1x1 kernel, one channel: the windows are x itself
    ((2, 3, 5, 5), (3, 3), 2, 1),
])
def test_im2col_returns_a_fresh_array(rng, shape, kernel, stride, padding):
    """The columns are a new C-contiguous array: writing to x later cannot change them."""
    x = rng.standard_normal(shape)
    cols, _ = im2col(x, kernel, stride, padding)
    assert cols.flags.c_contiguous
    assert not np.shares_memory(cols, x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype):
    """im2col and col2im never change the dtype (float32 stays float32)."""
    x = np.ones((1, 2, 4, 4), dtype)
    cols, _ = im2col(x, (3, 3), 1, 1)
    assert cols.dtype == dtype
    assert col2im(cols, x.shape, (3, 3), 1, 1).dtype == dtype


@pytest.mark.parametrize("n, k, s, p, expected", [(5, 3, 1, 0, 3), (5, 3, 2, 1, 3), (28, 4, 2, 1, 14), (6, 2, 3, 2, 3)])
def test_conv_output_size(n, k, s, p, expected):
    """Ho = floor((H + 2p - k) / s) + 1."""
    assert conv_output_size(n, k, s, p) == expected


