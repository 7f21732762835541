r"""Image-to-image tasks made from MNIST alone, deterministically, with the hidden counterparts kept for scoring.

Four tasks (docs/translation_data.md):

=================  ========  ===========================================================================
task               pairs     domain A -> domain B
=================  ========  ===========================================================================
``edges``          paired    a digit's edge map (dilation - erosion) -> the digit
``thickness``      unpaired  digits as written (one half of the training set) -> digits with thickened
                             strokes (the other half)
``rotated``        unpaired  the same, each digit rotated by its own angle in [-45°, 45°], drawn
                             independently in the two domains
``superres``       paired    7 x 7 (4 x 4 average pooling) -> the 28 x 28 digit
=================  ========  ===========================================================================

Every image is float32 in [-1, 1], shape (N, 1, H, W), as :func:`minigan.data.load_mnist`
gives. Each operator works on the [0, 1] intensities p = (x + 1) / 2 and maps back. An unpaired
training set never shows a model a pair: domain A is the images at the even positions of a
seeded permutation of the 60,000, domain B those at the odd positions, transformed. A test
set keeps every pair, for scoring only: the 10,000 test digits in both domains, in test-set
order, with the true counterpart of each.
"""
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ..data import load_mnist

TASKS = {"edges": True, "thickness": False, "rotated": False, "superres": True}   # name -> paired
SPLIT_SEED = 2017           # the permutation that splits the training digits into domains A and B
MAX_ANGLE = 45.0            # rotations drawn uniformly from [-45°, 45°]
SQUARE = np.ones((1, 3, 3), bool)          # the 3 x 3 footprint of the edge map and the thickening, per image


def _to_unit(x):
    return (np.asarray(x, np.float32)[:, 0] + 1) / 2                  # (N, H, W) intensities in [0, 1]


def _from_unit(p):
    return (np.clip(p, 0, 1) * 2 - 1).astype(np.float32)[:, None]      # back to (N, 1, H, W) in [-1, 1]


# ---- the operators ------------------------------------------------------------------------------


def edges(x):
    """The morphological gradient: dilation minus erosion with a 3 x 3 square, the outline of each stroke."""
    p = _to_unit(x)
    return _from_unit(ndimage.grey_dilation(p, footprint=SQUARE) - ndimage.grey_erosion(p, footprint=SQUARE))


def thicken(x):
    """Grey dilation with a 3 x 3 square: each pixel takes its brightest neighbour's value, strokes 2 pixels wider."""
    return _from_unit(ndimage.grey_dilation(_to_unit(x), footprint=SQUARE))


def rotate(x, degrees):
    """Each image rotated anticlockwise by its own angle about its centre (bilinear), the background filled black."""
    p = _to_unit(x)
    out = np.stack([ndimage.rotate(img, float(a), reshape=False, order=1, mode="constant", cval=0.0)
                    for img, a in zip(p, degrees)])
    return _from_unit(out)


def downsample(x, factor=4):
    """Average pooling over factor x factor blocks: 28 x 28 -> 7 x 7 for factor 4 (NumPy or CuPy, dtype kept)."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // factor, factor, w // factor, factor).mean(axis=(3, 5))


def thickness(x):
    """Mean stroke width in pixels of each image: 2 area / perimeter of its ink.

    Ink: the pixels brighter than mid-grey (x > 0). Area: their count.
    Perimeter: the horizontal and vertical pixel edges between ink and
    background. A stroke of width w and length L >> w has area w L and
    perimeter about 2 L, so the statistic reads w. Returns (N,) float64.
    """
    ink = np.asarray(x)[:, 0] > 0
    padded = np.pad(ink, ((0, 0), (1, 1), (1, 1)))
    perimeter = ((padded[:, 1:, :] != padded[:, :-1, :]).sum(axis=(1, 2))          # edges between rows
                 + (padded[:, :, 1:] != padded[:, :, :-1]).sum(axis=(1, 2)))       # edges between columns
    area = ink.sum(axis=(1, 2))
    return 2.0 * area / np.maximum(perimeter, 1)


def orientation(x):
    """The angle of each image's principal axis, degrees from vertical, anticlockwise positive (as :func:`rotate`).

    From the intensity-weighted second central moments of the [0, 1] image p,
    mu_xx, mu_yy and mu_xy (rows y pointing down): the axis of largest spread
    makes the angle ½ atan2(2 mu_xy, mu_yy - mu_xx) with the vertical. It reads
    a slanted 1 well and a round 0 poorly; the statistic of a whole test set
    is what it is for. Returns (N,) float64 in (-90, 90].
    """
    mu_xx, mu_yy, mu_xy = moments(x)
    return np.degrees(0.5 * np.arctan2(2 * mu_xy, mu_yy - mu_xx))


def moments(x):
    """(mu_xx, mu_yy, mu_xy), each (N,): the second central moments of each image's [0, 1] intensities p,
    rows y pointing down (a blank image: zeros, its centre taken at the corner)."""
    p = (np.asarray(x, np.float64)[:, 0] + 1) / 2
    rows, cols = np.mgrid[0:p.shape[1], 0:p.shape[2]]
    mass = np.maximum(p.sum(axis=(1, 2)), 1e-12)
    cy = (p * rows).sum(axis=(1, 2)) / mass
    cx = (p * cols).sum(axis=(1, 2)) / mass
    dy, dx = rows - cy[:, None, None], cols - cx[:, None, None]
    return (p * dx * dx).sum(axis=(1, 2)), (p * dy * dy).sum(axis=(1, 2)), (p * dx * dy).sum(axis=(1, 2))


# ---- the tasks ------------------------------------------------------------------------------------


@dataclass
class TranslationData:
    """One split of one task. ``a`` -> ``b`` is the direction a paired model learns.

    Paired: ``a[i]`` and ``b[i]`` are one digit. Unpaired training: ``a`` and ``b``
    are different digits, and the hidden counterparts are None. Test (both
    kinds): ``a_counterpart[i]`` is ``a[i]``'s true image in domain B and
    ``b_counterpart[i]`` ``b[i]``'s in domain A, for scoring only.
    """

    task: str
    split: str
    paired: bool
    a: np.ndarray
    b: np.ndarray
    labels_a: np.ndarray
    labels_b: np.ndarray
    a_counterpart: np.ndarray = None
    b_counterpart: np.ndarray = None
    angles_a: np.ndarray = field(default=None)   # the rotated task's angles, degrees
    angles_b: np.ndarray = field(default=None)


def _angles(n, seed):
    return np.random.default_rng(seed).uniform(-MAX_ANGLE, MAX_ANGLE, n)


def domain_indices(n, split):
    """Which of the split's ``n`` digits go to domain A and which to B: halves of a seeded permutation (train),
    every digit in both (test)."""
    if split == "test":
        return np.arange(n), np.arange(n)
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    return np.sort(order[0::2]), np.sort(order[1::2])


def load_task(task, split="train", data_dir=None, limit=None, pairs=None):
    """The images of ``task`` ("edges", "thickness", "rotated", "superres") for ``split`` ("train" or "test").

    Deterministic: the same call gives the same arrays on every machine.
    ``limit`` keeps the first ``limit`` digits of the split before the domains
    are made (an unpaired training set then has about ``limit / 2`` per domain).
    ``pairs=True`` on an unpaired task gives its training split as pairs, for a
    supervised model (pix2pix as CycleGAN's upper bound): every digit as written
    (rotated by its angle) beside the same digit thickened; the test split is
    the same either way.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}: the tasks are {', '.join(TASKS)}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if pairs is False and TASKS[task]:
        raise ValueError(f"the {task} task is made of pairs; it has no unpaired version")
    digits, labels = load_mnist(split, data_dir=data_dir, limit=limit)
    if task == "edges":
        return TranslationData(task, split, True, edges(digits), digits, labels, labels, digits, edges(digits))
    if task == "superres":
        small = downsample(digits)
        return TranslationData(task, split, True, small, digits, labels, labels, digits, small)
    seed = SPLIT_SEED if split == "train" else SPLIT_SEED + 1
    rotated = task == "rotated"
    if pairs and split == "train":         # one digit, two domains: thin (rotated) and the same thickened
        angles = _angles(len(digits), [seed, 3]) if rotated else None
        thin = rotate(digits, angles) if rotated else digits
        thick = thicken(thin)
        return TranslationData(task, split, True, thin, thick, labels, labels, thick, thin, angles, angles)
    # unpaired: A = digits as written, B = thickened; rotated: each image its own angle in each domain
    ia, ib = domain_indices(len(digits), split)
    angles_a = _angles(len(ia), [seed, 1]) if rotated else None
    angles_b = _angles(len(ib), [seed, 2]) if rotated else None
    thin_a, thin_b = digits[ia], digits[ib]
    if rotated:
        thin_a, thin_b = rotate(thin_a, angles_a), rotate(thin_b, angles_b)
    a, b = thin_a, thicken(thin_b)
    data = TranslationData(task, split, False, a, b, labels[ia], labels[ib], angles_a=angles_a, angles_b=angles_b)
    if split == "test":                                                   # the true pairs, kept for scoring
        data.a_counterpart, data.b_counterpart = thicken(thin_a), thin_b
    return data
