"""GAN objectives: each term's value against its formula, its gradient against finite differences (float64)."""
import numpy as np
import pytest

from minigan.gan.objectives import BCE_OBJECTIVES, Hinge, LeastSquares, Minimax, NonSaturating, Wasserstein
from minigan.nn.gradcheck import numerical_gradient, rel_error

TERMS = ("d_real", "d_fake", "g")


def sig(z):
    return 1 / (1 + np.exp(-z))


@pytest.fixture
def out(rng):
    out = rng.standard_normal((7, 1)) * 2
    out[np.abs(np.abs(out) - 1) < 1e-3] += 0.01   # away from the hinge's kinks at ±1
    return out


@pytest.mark.parametrize("objective", [NonSaturating(), NonSaturating(0.1), Minimax(0.2), Wasserstein(), Hinge(),
                                       LeastSquares()],
                         ids=["nonsaturating", "nonsaturating-ls", "minimax-ls", "wasserstein", "hinge", "lsgan"])
@pytest.mark.parametrize("term", TERMS)
def test_each_terms_gradient_matches_finite_differences(objective, term, out):
    loss, grad = getattr(objective, term)(out)
    assert grad.shape == out.shape and grad.dtype == out.dtype
    numeric = numerical_gradient(lambda: getattr(objective, term)(out)[0], out)
    assert rel_error(grad, numeric) < 1e-7


def test_the_bce_terms_are_the_textbook_formulas(out):
    s = 0.1
    ns, mm = NonSaturating(label_smoothing=s), Minimax(label_smoothing=s)
    p = sig(out)
    np.testing.assert_allclose(ns.d_real(out)[0], -np.mean((1 - s) * np.log(p) + s * np.log(1 - p)))
    np.testing.assert_allclose(ns.d_fake(out)[0], -np.mean(np.log(1 - p)))
    np.testing.assert_allclose(ns.g(out)[0], -np.mean(np.log(p)))                 # -log D(G(z))
    np.testing.assert_allclose(mm.g(out)[0], np.mean(np.log(1 - p)))              # log(1 - D(G(z)))
    assert set(BCE_OBJECTIVES) == {"nonsaturating", "minimax"}


def test_the_wasserstein_terms_and_estimate(out, rng):
    w = Wasserstein()
    real = rng.standard_normal((7, 1)) + 1
    np.testing.assert_allclose(w.d_real(real)[0], -real.mean())
    np.testing.assert_allclose(w.d_fake(out)[0], out.mean())
    np.testing.assert_allclose(w.g(out)[0], -out.mean())
    np.testing.assert_allclose(w.stats(real, out)["wasserstein"], real.mean() - out.mean())
    np.testing.assert_array_equal(w.d_fake(out)[1], np.full((7, 1), 1 / 7))


def test_the_bce_statistics(out, rng):
    real = rng.standard_normal((7, 1)) + 2
    stats = NonSaturating().stats(real, out)
    np.testing.assert_allclose(stats["d_real"], sig(real).mean())
    np.testing.assert_allclose(stats["d_fake"], sig(out).mean())
    np.testing.assert_allclose(stats["d_acc"], ((real > 0).mean() + (out < 0).mean()) / 2)


def test_label_smoothing_outside_zero_one_is_refused():
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\), got 1.5"):
        NonSaturating(1.5)


def test_the_terms_keep_float32(rng):
    out = rng.standard_normal((4, 1)).astype(np.float32)
    for objective in (NonSaturating(0.1), Minimax(), Wasserstein(), Hinge()):
        for term in TERMS:
            assert getattr(objective, term)(out)[1].dtype == np.float32


def test_the_hinge_terms_are_the_formulas(out, rng):
    h = Hinge()
    real = rng.standard_normal((7, 1)) * 2
    np.testing.assert_allclose(h.d_real(real)[0], np.mean(np.maximum(0, 1 - real)))
    np.testing.assert_allclose(h.d_fake(out)[0], np.mean(np.maximum(0, 1 + out)))
    np.testing.assert_allclose(h.g(out)[0], -out.mean())
    # outputs beyond the margin cost nothing and get no gradient
    beyond = np.array([[2.0], [1.5]])
    assert h.d_real(beyond)[0] == 0 and not h.d_real(beyond)[1].any()
    assert h.d_fake(-beyond)[0] == 0 and not h.d_fake(-beyond)[1].any()


def test_the_least_squares_terms_are_the_formulas_and_average_over_a_patch_map(rng):
    """LSGAN: 1/2 E[(D(x) - 1)^2], 1/2 E[D(G(z))^2], 1/2 E[(D(G(z)) - 1)^2], over every entry of a PatchGAN map."""
    ls = LeastSquares()
    patches = rng.standard_normal((3, 1, 4, 4))
    assert ls.d_real(patches)[0] == pytest.approx(0.5 * np.mean((patches - 1) ** 2), rel=1e-12)
    assert ls.d_fake(patches)[0] == pytest.approx(0.5 * np.mean(patches ** 2), rel=1e-12)
    assert ls.g(patches)[0] == pytest.approx(0.5 * np.mean((patches - 1) ** 2), rel=1e-12)
    numeric = numerical_gradient(lambda: ls.d_fake(patches)[0], patches)
    assert rel_error(ls.d_fake(patches)[1], numeric) < 1e-7
    assert ls.d_real(np.ones((2, 1)))[0] == 0 and ls.d_fake(np.zeros((2, 1)))[0] == 0   # D's targets cost nothing
