"""Judging GAN samples on MNIST: Fréchet distance, classifier score, digit histogram, matched code accuracy.

Inception Score and FID are defined with an Inception network trained on
ImageNet; for 28 x 28 digits we use a small CNN trained on MNIST instead (see
``docs/metrics.md``). Its committed weights live in
``minigan/weights/digit_classifier.npz`` and are made by
``python scripts/train_classifier.py``.

Every number here is computed in float64 NumPy, whichever backend the images
are on, so the same samples give the same scores on NumPy and on CuPy (up to
the float32 rounding of the classifier itself)::

    from minigan import metrics
    report = metrics.evaluate_samples(samples)     # (N, 1, 28, 28) in [-1, 1]
    floor = metrics.real_floor(len(samples))       # the same numbers for real digits
"""
import contextlib
import warnings
from pathlib import Path

import numpy as np
from scipy import linalg
from scipy.optimize import linear_sum_assignment
from scipy.special import rel_entr

from .backend import backend_of, to_numpy
from .nn import DamagedFileError, Sequential, load_npz
from .nn.layers import BatchNorm2d, Conv2d, Dense, Dropout, Flatten, ReLU

#: Where the committed classifier weights are.
WEIGHTS = Path(__file__).with_name("weights") / "digit_classifier.npz"
#: The command that (re)creates :data:`WEIGHTS`.
TRAIN_COMMAND = "python scripts/train_classifier.py"
#: The same network trained on the rotated translation task's training digits (both domains): the
#: judge of "digit kept" on that task, where the upright digits' classifier misreads the true images
#: themselves (docs/translation_data.md). Made by ``python scripts/train_classifier.py --task rotated``.
ROTATED_WEIGHTS = Path(__file__).with_name("weights") / "rotated_digit_classifier.npz"
#: Layers ``classifier[:FEATURE_END]`` compute the features (the 128-d ReLU before the last Dense).
FEATURE_END = 12
#: A digit counts as *present* when at least this fraction of samples is predicted as it.
PRESENT_THRESHOLD = 0.01

_default = {}  # the committed classifier and the test set's statistics, loaded once per process
_listeners = []  # callables told the size of each batch the classifier reads (see progress)


class ClassifierWeightsError(FileNotFoundError):
    """The classifier weights are missing, damaged, or not classifier weights."""


# --------------------------------------------------------------------------- the classifier


def mnist_classifier(dtype=np.float32, rng=None, channels=(16, 32, 64), features=128, dropout=0.3, seed=0):
    """The CNN that stands in for Inception: 28x28 digit -> 128 features -> 10 logits.

    ``Conv 3x3 -> [Conv 4x4 stride 2] x 2`` (each followed by BatchNorm2d and
    ReLU; the strided convs halve 28 -> 14 -> 7 in place of pooling), then
    ``Flatten -> Dense(64*7*7, 128) -> ReLU`` (the features, ``[:FEATURE_END]``)
    ``-> Dropout -> Dense(128, 10)`` (the logits).

    Parameters
    ----------
    dtype : numpy dtype
    rng : numpy.random.Generator, optional
        Draws the initial weights (default: minigan's default generator).
    channels : (int, int, int)
        Channels of the three convolutions.
    features : int
        Width of the feature layer.
    dropout : float
        Dropout probability before the last layer (training only).
    seed : int
        Seed of the dropout masks.

    Returns
    -------
    minigan.nn.Sequential
    """
    c1, c2, c3 = channels
    return Sequential(
        Conv2d(1, c1, 3, padding=1, dtype=dtype, rng=rng), BatchNorm2d(c1, dtype=dtype), ReLU(),             # 28x28
        Conv2d(c1, c2, 4, stride=2, padding=1, dtype=dtype, rng=rng), BatchNorm2d(c2, dtype=dtype), ReLU(),  # 14x14
        Conv2d(c2, c3, 4, stride=2, padding=1, dtype=dtype, rng=rng), BatchNorm2d(c3, dtype=dtype), ReLU(),  # 7x7
        Flatten(), Dense(c3 * 7 * 7, features, dtype=dtype, rng=rng), ReLU(),                               # features
        Dropout(dropout, seed=seed), Dense(features, 10, dtype=dtype, rng=rng),                             # logits
    )


def load_classifier(path=None):
    """The trained classifier, in evaluation mode, float32, on NumPy.

    Parameters
    ----------
    path : str or os.PathLike, optional
        A ``.npz`` written by ``scripts/train_classifier.py`` (default:
        :data:`WEIGHTS`, shipped with the package). Weights stored as float16
        are cast back to float32.

    Raises
    ------
    ClassifierWeightsError
        The file does not exist (the message gives the command that creates it), is
        damaged, or holds something else (a run's checkpoint, another model's weights).
    """
    path = Path(path) if path is not None else WEIGHTS
    command = TRAIN_COMMAND + (" --task rotated" if path == ROTATED_WEIGHTS else "")
    if path.is_dir():
        raise ClassifierWeightsError(f"{path} is a folder, not classifier weights (an .npz file written by "
                                     f"`{command}`)")
    if not path.is_file():
        raise ClassifierWeightsError(
            f"MNIST classifier weights not found at {path}. Create them with `{command}` "
            "(a few minutes on a CPU; needs MNIST, see docs/data.md).")
    try:
        state = load_npz(path)
    except (DamagedFileError, OSError) as exc:
        raise ClassifierWeightsError(f"the classifier weights {path} are damaged and unreadable ({exc})") from None
    try:
        return mnist_classifier().load_state_dict(state).eval()
    except (KeyError, ValueError):
        what = "a training run's checkpoint" if "meta" in state else "weights of another network"
        raise ClassifierWeightsError(f"{path} is not MNIST classifier weights (it holds {what}); give an .npz "
                                     f"written by `{command}`, or leave the option out for the "
                                     "committed ones") from None


def _default_classifier():
    if "classifier" not in _default:
        _default["classifier"] = load_classifier()
    return _default["classifier"]


def rotated_classifier():
    """The classifier trained on rotated digits (:data:`ROTATED_WEIGHTS`), loaded once per process."""
    if "rotated" not in _default:
        _default["rotated"] = load_classifier(ROTATED_WEIGHTS)
    return _default["rotated"]


def classifier_outputs(images, classifier=None, batch_size=500):
    """Features and class probabilities of images, as float64 NumPy arrays.

    Parameters
    ----------
    images : array (N, 1, 28, 28), NumPy or CuPy, values in [-1, 1]
    classifier : Sequential, optional
        Default: the committed one (:func:`load_classifier`). It is run in
        evaluation mode (its mode is restored afterwards) and moved, with
        ``.to(backend)``, to the images' backend if it is elsewhere.
    batch_size : int

    Returns
    -------
    features : numpy.ndarray, float64, (N, F)
        Output of ``classifier[:FEATURE_END]``.
    probs : numpy.ndarray, float64, (N, 10)
        ``softmax(logits)``.
    """
    if images.ndim != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ValueError(f"classifier_outputs: expected images of shape (N, 1, 28, 28), got {tuple(images.shape)}")
    classifier = _default_classifier() if classifier is None else classifier
    weight = classifier.parameters()[0].data
    if backend_of(weight) != backend_of(images):
        classifier.to(backend_of(images))
    was_training, body, head = classifier.training, classifier[:FEATURE_END], classifier[FEATURE_END:]
    classifier.eval()
    features, logits = [], []
    try:
        for start in range(0, len(images), batch_size):
            x = images[start:start + batch_size].astype(weight.dtype, copy=False)
            f = _run(body, x)
            features.append(to_numpy(f).astype(np.float64))
            logits.append(to_numpy(_run(head, f)).astype(np.float64))
            for tell in _listeners:
                tell(len(x))
    finally:
        classifier.train(was_training)
    features = np.concatenate(features) if features else np.zeros((0, _width(classifier)))
    logits = np.concatenate(logits) if logits else np.zeros((0, 10))
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    return features, probs / probs.sum(axis=1, keepdims=True)


@contextlib.contextmanager
def progress(show=True, desc="evaluating"):
    """A progress bar (tqdm, on stderr) that counts the images the classifier judges inside the block.

    Every metric here reads its images through :func:`classifier_outputs`, so the bar moves with
    the work of any model's ``evaluate``; the total is not known beforehand, so it counts and
    shows the rate. ``show=False``: no bar (``--no-progress``); ``show=None``: a bar on a terminal only.
    """
    if show is False:
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit=" images", dynamic_ncols=True, disable=None if show is None else False)
    _listeners.append(bar.update)
    try:
        yield bar
    finally:
        _listeners.remove(bar.update)
        bar.close()


def _run(layers, x):
    for layer in layers:
        x = layer(x)
    return x


def _width(classifier):
    return classifier[FEATURE_END - 2].out_features


# --------------------------------------------------------------------------- Fréchet distance


def feature_statistics(features):
    """Mean and covariance of features.

    Parameters
    ----------
    features : array (N, F), N >= 2

    Returns
    -------
    mu : numpy.ndarray (F,)
    sigma : numpy.ndarray (F, F)
        Unbiased sample covariance (divides by N - 1).
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"feature_statistics: need features of shape (N, F) with N >= 2, got {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """Fréchet (2-Wasserstein) distance squared between N(mu1, sigma1) and N(mu2, sigma2).

    .. math::

        d^2 = \\lVert \\mu_1 - \\mu_2 \\rVert^2
              + \\operatorname{tr}\\bigl(\\Sigma_1 + \\Sigma_2 - 2 (\\Sigma_1 \\Sigma_2)^{1/2}\\bigr)

    As in the reference implementation (Heusel et al., 2017; pytorch-fid):
    when ``sqrtm`` of a near-singular product is not finite, ``eps`` is added
    to both diagonals and it is taken again; tiny imaginary parts (rounding,
    |imag| <= 1e-3 on the diagonal) are dropped.

    Returns
    -------
    float
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(f"frechet_distance: shapes do not fit: mu {mu1.shape}, {mu2.shape}; "
                         f"sigma {sigma1.shape}, {sigma2.shape}")
    with warnings.catch_warnings():  # a singular product is expected with few samples; checked below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(mu1)) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"frechet_distance: sqrtm has a large imaginary part "
                             f"({np.abs(covmean.imag).max():.3g}); are the covariances valid?")
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def reference_statistics(classifier=None, data_dir=None):
    """Feature mean and covariance of the 10000 MNIST test images (cached for the default classifier)."""
    if classifier is not None:
        return feature_statistics(classifier_outputs(_mnist("test", data_dir), classifier)[0])
    if "test_statistics" not in _default:
        _default["test_statistics"] = feature_statistics(classifier_outputs(_mnist("test", data_dir))[0])
    return _default["test_statistics"]


def fid(images_a, images_b=None, classifier=None):
    """Fréchet distance between the classifier features of two image sets.

    :func:`frechet_distance` of the Gaussians fitted (:func:`feature_statistics`)
    to the features of ``images_a`` and of ``images_b``. Lower is better; it
    depends on N (fewer samples, larger FID), so compare at equal N.

    Parameters
    ----------
    images_a : array (N, 1, 28, 28) in [-1, 1]
    images_b : array (M, 1, 28, 28), optional
        Default: the MNIST test set (its statistics are cached in-process).
    classifier : Sequential, optional
        Default: the committed classifier.
    """
    mu_a, sigma_a = feature_statistics(classifier_outputs(images_a, classifier)[0])
    if images_b is None:
        mu_b, sigma_b = reference_statistics(classifier)
    else:
        mu_b, sigma_b = feature_statistics(classifier_outputs(images_b, classifier)[0])
    return frechet_distance(mu_a, sigma_a, mu_b, sigma_b)


# --------------------------------------------------------------------------- class probabilities


def inception_score(probs, splits=10):
    """The Inception Score, with the MNIST classifier's probabilities.

    .. math::

        \\mathrm{IS} = \\exp\\bigl(\\mathbb{E}_x\\, \\mathrm{KL}(p(y \\mid x) \\,\\|\\, p(y))\\bigr),
        \\qquad p(y) = \\mathbb{E}_x\\, p(y \\mid x)

    computed on each of ``splits`` equal parts of the samples (``p(y)`` from
    that part) and averaged. It lies in [1, 10]: 10 when every sample is
    classified confidently and the 10 classes are equally frequent, 1 when all
    predictions are the same distribution.

    Parameters
    ----------
    probs : array (N, K), rows summing to 1
    splits : int

    Returns
    -------
    float
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or len(probs) < splits:
        raise ValueError(f"inception_score: need probs of shape (N, K) with N >= splits={splits}, got {probs.shape}")
    scores = []
    for part in np.array_split(probs, splits):
        p_y = part.mean(axis=0, keepdims=True)
        scores.append(np.exp(rel_entr(part, p_y).sum(axis=1).mean()))  # rel_entr(p, q) = p log(p / q), 0 at p = 0
    return float(np.mean(scores))


def digit_histogram(probs, threshold=PRESENT_THRESHOLD):
    """How often each digit is predicted, how many digits appear, and how far from uniform.

    .. math::

        h_k = \\frac{1}{N} \\#\\{i : \\arg\\max_y p(y \\mid x_i) = k\\}, \\qquad
        \\mathrm{KL}(h \\,\\|\\, u) = \\sum_k h_k \\log(10\\, h_k)

    Parameters
    ----------
    probs : array (N, 10)
    threshold : float
        A digit is *present* when ``h_k >= threshold`` (default 1%, so that a
        few stray predictions do not hide a missing mode).

    Returns
    -------
    hist : numpy.ndarray (10,)
        Fraction of samples predicted as each digit (sums to 1).
    present : int
        Number of digits with ``hist >= threshold``.
    kl_uniform : float
        KL(hist || uniform) in nats: 0 for balanced digits, log 10 = 2.30 when only one digit appears.
    """
    probs = np.asarray(probs)
    if probs.ndim != 2 or len(probs) == 0:
        raise ValueError(f"digit_histogram: need probs of shape (N, K) with N >= 1, got {probs.shape}")
    k = probs.shape[1]
    hist = np.bincount(probs.argmax(axis=1), minlength=k) / len(probs)
    return hist, int((hist >= threshold).sum()), float(rel_entr(hist, 1 / k).sum())


def matched_accuracy(codes, digits, n_codes=10, n_digits=10):
    """How well a categorical code (InfoGAN's) names digits: each code value matched to its commonest digit.

    InfoGAN learns its categorical code without labels, so code 3 may well
    draw 7s. Each code value k is matched to the digit the classifier gives
    most of its samples, :math:`m(k) = \\arg\\max_d \\#\\{i : c_i = k, d_i = d\\}`;
    the accuracy is the fraction of samples whose digit is their code's
    match (Chen et al. 2016 report 5% error on MNIST measured this way).
    Two codes may match the same digit: ``digits_matched`` counts the
    different digits the codes name (10 when the code is a relabelling of the
    digits). The accuracy then overstates the code (ten values that all draw
    8s match 8 and score 1.0), so ``one_to_one`` matches each value to a
    digit of its own (the assignment that agrees most, Hungarian algorithm):
    the same number for a relabelling, 0.1 for a code that draws one digit.

    Parameters
    ----------
    codes : array (N,) of integers in [0, n_codes): the code each sample was drawn with
    digits : array (N,) of integers in [0, n_digits): the classifier's digit for each sample

    Returns
    -------
    dict
        ``accuracy`` (float), ``one_to_one`` (float), ``digits_matched`` (int), ``code_to_digit``
        (list: the matched digit of each code value, None for a value no
        sample has) and ``per_code`` (list: the fraction of each value's
        samples that agree, None where it has none).
    """
    codes, digits = np.asarray(codes), np.asarray(digits)
    if codes.ndim != 1 or codes.shape != digits.shape or len(codes) == 0:
        raise ValueError(f"matched_accuracy: need codes and digits of one shape (N,), N >= 1, got {codes.shape} "
                         f"and {digits.shape}")
    for name, v, k in (("codes", codes, n_codes), ("digits", digits, n_digits)):
        if v.dtype.kind not in "iu" or v.min() < 0 or v.max() >= k:
            raise ValueError(f"matched_accuracy: {name} must be integers in [0, {k - 1}]")
    counts = np.zeros((n_codes, n_digits), dtype=np.int64)
    np.add.at(counts, (codes, digits), 1)                       # counts[k, d] = #{i : c_i = k, d_i = d}
    drawn = counts.sum(axis=1)                                  # samples per code value
    match = counts.argmax(axis=1)                               # m(k): the commonest digit of code k
    agree = counts.max(axis=1)                                  # samples of code k that show m(k)
    rows, cols = linear_sum_assignment(counts, maximize=True)   # each value its own digit, agreeing most
    return {
        "accuracy": float(agree.sum() / len(codes)),
        "one_to_one": float(counts[rows, cols].sum() / len(codes)),
        "digits_matched": int(len(set(match[drawn > 0].tolist()))),
        "code_to_digit": [int(m) if n else None for m, n in zip(match, drawn)],
        "per_code": [float(a / n) if n else None for a, n in zip(agree, drawn)],
    }


def digit_accuracy(images, digits, classifier=None):
    """How often the classifier labels a conditional model's samples as the digit they were asked to be.

    .. math::

        a_k = \\frac{\\#\\{i : y_i = k,\\ \\arg\\max_c p(c \\mid x_i) = k\\}}{\\#\\{i : y_i = k\\}}

    Parameters
    ----------
    images : array (N, 1, 28, 28) in [-1, 1], NumPy or CuPy
    digits : array (N,) of integers 0-9: the digit each image was asked to be
    classifier : Sequential, optional
        Default: the committed classifier.

    Returns
    -------
    dict
        ``per_digit``: a_0..a_9 (None for a digit never asked), ``min`` over the digits asked,
        ``overall``: the fraction of all images labelled as asked, ``n_per_digit``: images asked per digit.
    """
    digits = np.asarray(to_numpy(digits))
    if digits.ndim != 1 or len(digits) != len(images):
        raise ValueError(f"digit_accuracy: need one digit per image, got {len(images)} images and digits of "
                         f"shape {digits.shape}")
    if len(digits) == 0 or digits.min() < 0 or digits.max() > 9:
        raise ValueError("digit_accuracy: digits must be integers 0-9 (and at least one)")
    predicted = classifier_outputs(images, classifier)[1].argmax(axis=1)
    counts = np.bincount(digits, minlength=10)
    hits = np.bincount(digits[predicted == digits], minlength=10)
    per_digit = [float(h / c) if c else None for h, c in zip(hits, counts)]
    return {"per_digit": per_digit, "min": min(a for a in per_digit if a is not None),
            "overall": float(hits.sum() / counts.sum()), "n_per_digit": counts.tolist()}


def real_digit_accuracy(n=10000, seed=0, classifier=None, data_dir=None):
    """:func:`digit_accuracy` of the :func:`real_floor` images with their own labels: the classifier's own errors."""
    from .data import load_mnist

    images, labels = load_mnist("train", data_dir=data_dir)
    idx = np.sort(np.random.default_rng(seed).choice(len(images), size=n, replace=False))
    return digit_accuracy(images[idx], labels[idx], classifier)


# --------------------------------------------------------------------------- reports


def evaluate_samples(images, reference=None, classifier=None, data_dir=None):
    """Every metric for a set of samples.

    Parameters
    ----------
    images : array (N, 1, 28, 28) in [-1, 1], NumPy or CuPy, N >= 10
    reference : array (M, 1, 28, 28), optional
        The images FID compares with (default: the MNIST test set).
    classifier : Sequential, optional
        Default: the committed classifier.
    data_dir : str, optional
        Where MNIST is (see :func:`minigan.data.load_mnist`), for the test set's statistics.

    Returns
    -------
    dict
        ``n``, ``fid``, ``score`` (:func:`inception_score`), ``histogram``
        (list of 10 fractions), ``digits_present``, ``kl_uniform``.
    """
    features, probs = classifier_outputs(images, classifier)
    mu, sigma = feature_statistics(features)
    if reference is None:
        mu_ref, sigma_ref = reference_statistics(classifier, data_dir)
    else:
        mu_ref, sigma_ref = feature_statistics(classifier_outputs(reference, classifier)[0])
    hist, present, kl = digit_histogram(probs)
    return {
        "n": len(probs),
        "fid": frechet_distance(mu, sigma, mu_ref, sigma_ref),
        "score": inception_score(probs),
        "histogram": hist.tolist(),
        "digits_present": present,
        "kl_uniform": kl,
    }


def real_floor(n=10000, seed=0, classifier=None, data_dir=None):
    """:func:`evaluate_samples` of ``n`` real MNIST *training* images against the test set.

    The best a generator can hope for at this sample size: report it next to
    a GAN's numbers (with the same ``n``). The images are a seeded random
    choice without replacement from the 60000 training images.
    """
    images = _mnist("train", data_dir)
    idx = np.random.default_rng(seed).choice(len(images), size=n, replace=False)
    return evaluate_samples(images[np.sort(idx)], classifier=classifier, data_dir=data_dir)


def _mnist(split, data_dir=None):
    from .data import load_mnist  # imported here: only the metrics that need MNIST need it
    return load_mnist(split, data_dir=data_dir)[0]


def format_report(name, report):
    """Two readable lines for one :func:`evaluate_samples` report."""
    hist = " ".join(f"{h:.3f}" for h in report["histogram"])
    return (f"{name:>10}: FID {report['fid']:.2f}  score {report['score']:.2f}  digits present "
            f"{report['digits_present']}  KL to uniform {report['kl_uniform']:.3f}\n"
            f"            histogram 0-9: {hist}")


def format_accuracy(name, accuracy):
    """Two readable lines for one :func:`digit_accuracy` result."""
    per = " ".join("  -  " if a is None else f"{100 * a:5.1f}" for a in accuracy["per_digit"])
    return (f"{name:>10}: labelled as the digit asked: min {100 * accuracy['min']:.1f}%  overall "
            f"{100 * accuracy['overall']:.2f}%  ({max(accuracy['n_per_digit'])} per digit)\n"
            f"            per digit 0-9 (%): {per}")
