"""Tests of minigan.metrics: Fréchet distance, FID, classifier score, digit histogram.

The formula tests use synthetic numbers and an untrained (seeded) classifier.
The committed classifier's accuracy is checked on real MNIST from
``MINIGAN_DATA_DIR`` (skipped when those files are not there; CI has them).
"""
import numpy as np
import pytest

from minigan import metrics
from minigan.backend import to_device
from minigan.data import DataError, load_mnist


@pytest.fixture(scope="module")
def untrained():
    return metrics.mnist_classifier(rng=np.random.default_rng(0)).eval()


@pytest.fixture(scope="module")
def mnist_test():
    try:
        return load_mnist("test", download=False, limit=1000)
    except DataError as e:
        pytest.skip(f"MNIST not available (set MINIGAN_DATA_DIR): {str(e).splitlines()[0]}")


def blobs(n, seed=0):
    """n synthetic 'images' in [-1, 1]: a bright square on a dark background, at random places."""
    rng = np.random.default_rng(seed)
    x = -np.ones((n, 1, 28, 28), dtype=np.float32)
    for img, (r, c) in zip(x, rng.integers(2, 18, size=(n, 2))):
        img[0, r:r + 8, c:c + 8] = 1
    return x


def random_cov(d, seed):
    a = np.random.default_rng(seed).standard_normal((d, 2 * d))
    return a @ a.T / (2 * d)


# --------------------------------------------------------------------------- Fréchet distance


def test_frechet_distance_of_identical_statistics_is_zero():
    mu, sigma = np.arange(8.0), random_cov(8, 0)
    assert abs(metrics.frechet_distance(mu, sigma, mu, sigma)) < 1e-8


def test_frechet_distance_of_shifted_gaussians_is_the_squared_shift():
    sigma = random_cov(8, 1)
    mu1, mu2 = np.zeros(8), np.random.default_rng(2).standard_normal(8)
    assert np.isclose(metrics.frechet_distance(mu1, sigma, mu2, sigma), np.sum((mu1 - mu2) ** 2))


def test_frechet_distance_of_diagonal_gaussians_has_the_closed_form():
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    expected = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)        # mu equal: sum (sqrt a_i - sqrt b_i)^2
    assert np.isclose(metrics.frechet_distance(np.zeros(3), np.diag(a), np.zeros(3), np.diag(b)), expected)


def test_frechet_distance_with_singular_covariances_is_finite():
    mu1, s1 = metrics.feature_statistics(np.random.default_rng(3).standard_normal((5, 16)))  # rank 4 < 16
    mu2, s2 = metrics.feature_statistics(np.random.default_rng(4).standard_normal((5, 16)))
    d = metrics.frechet_distance(mu1, s1, mu2, s2)
    assert np.isfinite(d) and d > 0


def test_frechet_distance_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes"):
        metrics.frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_fid_of_identical_sets_is_zero_and_grows_with_noise(untrained):
    a = blobs(200)
    noise = 0.3 * np.random.default_rng(5).standard_normal(a.shape)
    shifted = np.clip(a + 0.5 + noise, -1, 1).astype(np.float32)     # brighter and noisy
    same = metrics.fid(a, a, classifier=untrained)
    other = metrics.fid(a, blobs(200, seed=1), classifier=untrained)   # same distribution, other draws
    far = metrics.fid(a, shifted, classifier=untrained)
    assert abs(same) < 1e-6
    assert far > 5 * other > 0


# --------------------------------------------------------------------------- class probabilities


def confident(labels, p=0.999):
    probs = np.full((len(labels), 10), (1 - p) / 9)
    probs[np.arange(len(labels)), labels] = p
    return probs


def test_inception_score_is_ten_for_confident_balanced_predictions():
    probs = confident(np.arange(1000) % 10)                    # every split holds each digit equally often
    entropy = -np.sum(probs[0] * np.log(probs[0]))
    assert np.isclose(metrics.inception_score(probs), 10 * np.exp(-entropy))   # exp(log 10 - H(p(y|x)))
    assert metrics.inception_score(confident(np.arange(1000) % 10, p=1.0)) == pytest.approx(10)


def test_inception_score_is_one_for_a_single_class_or_unsure_predictions():
    assert np.isclose(metrics.inception_score(confident(np.full(1000, 3))), 1.0)
    assert np.isclose(metrics.inception_score(np.full((1000, 10), 0.1)), 1.0)


def test_digit_histogram_counts():
    labels = np.array([3] * 50 + [7] * 45 + [1] * 4 + [0])    # digit 0 is 1% of 100: present
    hist, present, kl = metrics.digit_histogram(confident(labels))
    assert np.allclose(hist, np.bincount(labels, minlength=10) / 100)
    assert present == 4
    assert np.isclose(kl, np.sum(hist[hist > 0] * np.log(10 * hist[hist > 0])))
    assert metrics.digit_histogram(confident(labels), threshold=0.05)[1] == 2


def test_digit_histogram_kl_is_zero_for_uniform_and_log10_for_one_digit():
    assert np.isclose(metrics.digit_histogram(confident(np.arange(100) % 10))[2], 0.0)
    assert np.isclose(metrics.digit_histogram(confident(np.zeros(100, dtype=int)))[2], np.log(10))


# --------------------------------------------------------------------------- the classifier


def test_classifier_outputs_shapes_and_dtypes(untrained):
    features, probs = metrics.classifier_outputs(blobs(7), untrained, batch_size=3)
    assert features.shape == (7, 128) and probs.shape == (7, 10)
    assert features.dtype == probs.dtype == np.float64
    assert np.allclose(probs.sum(axis=1), 1)
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        metrics.classifier_outputs(np.zeros((2, 28, 28), np.float32), untrained)


def test_classifier_outputs_restore_the_training_mode():
    model = metrics.mnist_classifier(rng=np.random.default_rng(0))
    metrics.classifier_outputs(blobs(4), model)
    assert model.training


def test_missing_weights_say_how_to_make_them(tmp_path):
    with pytest.raises(metrics.ClassifierWeightsError, match="scripts/train_classifier.py"):
        metrics.load_classifier(tmp_path / "nope.npz")


def test_missing_rotated_weights_name_their_own_command(monkeypatch, tmp_path):
    monkeypatch.setattr(metrics, "ROTATED_WEIGHTS", tmp_path / "rotated.npz")
    with pytest.raises(metrics.ClassifierWeightsError, match="train_classifier.py --task rotated"):
        metrics.load_classifier(metrics.ROTATED_WEIGHTS)


def test_committed_rotated_classifier_reads_the_rotated_task(mnist):
    """The judge of the rotated task: both test domains (rotated thin, rotated thick) read correctly,
    where the classifier trained on upright digits is far from it."""
    from minigan.translation.data import load_task
    test = load_task("rotated", "test", data_dir=mnist, limit=2000)
    x, y = np.concatenate([test.a, test.b]), np.concatenate([test.labels_a, test.labels_b])
    rotated = (metrics.classifier_outputs(x, metrics.rotated_classifier())[1].argmax(axis=1) == y).mean()
    upright = (metrics.classifier_outputs(x)[1].argmax(axis=1) == y).mean()
    assert rotated >= 0.97 and upright < 0.9


def test_committed_classifier_is_accurate(mnist_test):
    x, y = mnist_test
    probs = metrics.classifier_outputs(x)[1]
    assert (probs.argmax(axis=1) == y).mean() >= 0.98


def test_evaluate_samples_of_real_digits(mnist_test):
    x = mnist_test[0][:500]
    report = metrics.evaluate_samples(x, reference=x)
    assert set(report) == {"n", "fid", "score", "histogram", "digits_present", "kl_uniform"}
    assert report["n"] == 500 and abs(report["fid"]) < 1e-6
    assert report["digits_present"] == 10 and report["kl_uniform"] < 0.05
    assert report["score"] > 7 and np.isclose(sum(report["histogram"]), 1)


@pytest.mark.cupy
def test_cupy_images_give_the_numpy_numbers(untrained):
    x = blobs(20)
    f_np, p_np = metrics.classifier_outputs(x, untrained)
    f_cp, p_cp = metrics.classifier_outputs(to_device(x, "cupy"), untrained)
    untrained.to("numpy")
    assert isinstance(f_cp, np.ndarray)
    assert np.allclose(f_np, f_cp, atol=1e-4) and np.allclose(p_np, p_cp, atol=1e-5)
