r"""The Laplacian pyramid LAPGAN draws through (Denton et al. 2015), at MNIST's sizes 28 -> 14 -> 7.

An image is split into a small image and the detail each finer level adds::

    I_0 = x,   I_{k+1} = d(I_k)            the Gaussian pyramid: 28 x 28, 14 x 14, 7 x 7
    h_k = I_k - u(I_{k+1})                 the band-pass residuals (the Laplacian pyramid)
    I_k = u(I_{k+1}) + h_k                 reconstruction, from I_K and h_{K-1}, ..., h_0

``d`` averages each 2 x 2 block (it halves the size), ``u`` copies each pixel
into a 2 x 2 block (it doubles it: ``Upsample2d``'s forward). Reconstruction is
exact for any d and u, because h_k is defined as what u(I_{k+1}) misses. With
these two, d(u(y)) = y, so every residual's 2 x 2 means are zero: h_k holds
only what the coarser level cannot say. LAPGAN's generator at level k draws
h_k from u(I_{k+1}) and noise; the coarse image is an input, never a network's
output during training, so no gradient runs from one level to another through
d or u. One gradient does run through both: that of :class:`Detail`, which ends
each residual generator. docs/pyramid.md derives it and shows one digit's pyramid.

    from minigan import pyramid
    levels = pyramid.laplacian(x)            # [h_0 (28 x 28), h_1 (14 x 14), I_2 (7 x 7)]
    x_again = pyramid.reconstruct(levels)    # x, to float rounding

The operators use only array methods (reshape, mean, repeat), so they run on
NumPy and CuPy arrays alike.
"""
from ..backend import check_same_device
from ..nn import Layer
from ..nn.layers.reshape import Upsample2d
from ..translation.data import downsample

LEVELS = 3  # 28 -> 14 -> 7: two residuals and the 7 x 7 image
_UPSAMPLE = Upsample2d(2)


def _check_images(name, x, halvings):
    shape = getattr(x, "shape", None)
    if shape is None or len(shape) != 4:
        raise ValueError(f"pyramid.{name}: expected images of shape (N, C, H, W), got "
                         f"{shape if shape is not None else type(x).__name__}")
    h, w = shape[2], shape[3]
    k = 2 ** halvings
    if h % k or w % k or h < k or w < k:
        raise ValueError(f"pyramid.{name}: {h} x {w} images cannot be halved {halvings} time(s): H and W must be "
                         f"multiples of {k} (28 x 28 MNIST digits give 14 x 14 and 7 x 7)")


def down(x):
    """d: the mean of each 2 x 2 block, (N, C, H, W) -> (N, C, H/2, W/2)."""
    _check_images("down", x, 1)
    return downsample(x, 2)                                   # the superres task's pooling, at factor 2


def up(x):
    """u: each pixel copied into a 2 x 2 block, (N, C, H, W) -> (N, C, 2H, 2W)."""
    _check_images("up", x, 0)
    return _UPSAMPLE.forward(x)                               # Upsample2d's forward: a pure function of x


def gaussian(x, levels=LEVELS):
    """[I_0, ..., I_{levels-1}]: x and its halvings, finest first."""
    _check_levels(levels)
    _check_images("gaussian", x, levels - 1)
    images = [x]
    for _ in range(levels - 1):
        images.append(down(images[-1]))                   # I_{k+1} = d(I_k)
    return images


def laplacian(x, levels=LEVELS):
    """[h_0, ..., h_{levels-2}, I_{levels-1}]: each level's residual, finest first, then the coarsest image."""
    images = gaussian(x, levels)
    residuals = [fine - up(coarse) for fine, coarse in zip(images[:-1], images[1:])]   # h_k = I_k - u(I_{k+1})
    return residuals + [images[-1]]


def reconstruct(levels):
    """The image a Laplacian pyramid [h_0, ..., I_K] stands for: I_k = u(I_{k+1}) + h_k, coarsest first."""
    if not isinstance(levels, (list, tuple)) or not levels:
        raise ValueError("pyramid.reconstruct: expected a non-empty list [h_0, ..., h_{K-1}, I_K]")
    for level in levels:
        _check_images("reconstruct", level, 0)
    check_same_device("pyramid.reconstruct", *levels)
    image = levels[-1]
    for residual in reversed(levels[:-1]):
        if residual.shape[2:] != (2 * image.shape[2], 2 * image.shape[3]):
            raise ValueError(f"pyramid.reconstruct: a residual of {residual.shape[2]} x {residual.shape[3]} "
                             f"cannot follow a {image.shape[2]} x {image.shape[3]} level (each level doubles the "
                             f"size; the list runs finest first)")
        image = up(image) + residual                      # I_k = u(I_{k+1}) + h_k
    return image


class Detail(Layer):
    """R(v) = v - u(d(v)): the part of an image v whose 2 x 2 means are zero, the only part a residual h_k has.

    LAPGAN's residual generators end with it, so what they draw is a residual
    by construction (a D could otherwise tell a fake from its 2 x 2 means alone).
    R is a projection (R(R(v)) = R(v)) and symmetric, because d = (1/4) u^T (summing
    each 2 x 2 block is the transpose of copying into it), so u d = (1/4) u u^T: so
    dL/dv = R(dL/dh). (The code calls the generator's raw output g.)
    """

    def check_input(self, x):
        _check_images("Detail", x, 1)

    def forward(self, g):
        return g - up(down(g))                            # h = R(g) = g - u(d(g)), g the generator's raw output

    def backward(self, dh):
        return dh - up(down(dh))                          # dL/dg = R^T dL/dh = R dL/dh


def _check_levels(levels):
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
        raise ValueError(f"pyramid: levels must be an integer >= 1, got {levels!r}")

