"""Gradient penalties: WGAN-GP's λ E[(‖∇D(x̂)‖ - 1)²] and R1's γ/2 E[‖∇D(x)‖²], and their gradients.

The gradient of a penalty with respect to the critic's weights differentiates the critic's
backward pass (``minigan/gan/penalties.py``). It is checked here against finite differences of the
penalty itself, for every parameter of an MLP critic and of a conv critic, in float64.
"""
import numpy as np
import pytest
from conftest import GRAD_ERRORS, TOL  # the very module pytest loaded: errors land in its report

import minigan
from minigan import (BatchNorm1d, Conv2d, Dense, DoubleBackwardError, Flatten, LayerNorm, LeakyReLU, Sequential,
                     gradient_penalty, r1_penalty)
from minigan.gan.penalties import penalize_input_gradient, per_sample_norms, r1_term, wgan_gp_term
from minigan.nn.gradcheck import numerical_gradient, rel_error


def mlp_critic(rng):
    return Sequential(Flatten(), Dense(16, 6, rng=rng), LayerNorm(6), LeakyReLU(0.2), Dense(6, 5, rng=rng),
                      LeakyReLU(0.2), Dense(5, 1, rng=rng))


def conv_critic(rng):
    return Sequential(Conv2d(1, 3, 4, stride=2, padding=1, rng=rng), LeakyReLU(0.2),
                      Conv2d(3, 4, 4, stride=2, padding=1, rng=rng), LayerNorm((4, 2, 2)), LeakyReLU(0.2),
                      Flatten(), Dense(16, 1, rng=rng))


CRITICS = {"mlp": (mlp_critic, (4, 1, 4, 4)), "conv": (conv_critic, (4, 1, 8, 8))}
PENALTIES = {"wgan-gp": (gradient_penalty, wgan_gp_term), "r1": (r1_penalty, r1_term)}


def make(name, rng):
    build, shape = CRITICS[name]
    D = build(rng).to(dtype=np.float64)
    for p in D.parameters():
        p.data[...] = rng.normal(0, 0.6, p.data.shape)
    return D, rng.standard_normal(shape)


def input_gradients(D, x):
    """Each sample's ∇ₓD(x_n), one sample at a time: the slow, obvious way."""
    out = []
    for i in range(len(x)):
        y = D(x[i:i + 1])
        out.append(D.backward(np.ones_like(y)))
    return np.concatenate(out)


def penalty_value(D, x, term, weight):
    """The penalty from the per-sample gradients computed one sample at a time (no double backward)."""
    D.requires_grad_(False)
    try:
        g = input_gradients(D, x)
    finally:
        D.requires_grad_(True)
    return term(g, per_sample_norms(g), weight)[0]


@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("critic", CRITICS)
def test_penalty_gradient_matches_finite_differences_for_every_parameter(rng, critic, penalty):
    D, x = make(critic, rng)
    fn, term = PENALTIES[penalty]
    D.zero_grad()
    value = fn(D, x, weight=10.0)
    np.testing.assert_allclose(value, penalty_value(D, x, term, 10.0), rtol=1e-12)
    seen = GRAD_ERRORS.setdefault(f"{penalty} penalty, {critic} critic", {})
    for name, p in D.named_parameters():
        analytic = p.grad.copy()
        numeric = numerical_gradient(lambda: penalty_value(D, x, term, 10.0), p.data)
        err = rel_error(analytic, numeric)
        seen[name] = err
        assert err < TOL, f"{name}: relative error {err:.2e}"
    weights = [(name, p) for name, p in D.named_parameters() if name.endswith("weight")]
    assert all(np.abs(p.grad).max() > 0 for _, p in weights), "a weight got no gradient"


def test_one_backward_of_the_batch_gives_each_samples_own_gradient(rng):
    """No layer mixes samples, so ∇ₓ sum_n D(x_n) holds ∇D(x_n) in row n."""
    D, x = make("conv", rng)
    g = D.backward(np.ones_like(D(x)))
    np.testing.assert_allclose(g, input_gradients(D, x), rtol=1e-12)


def test_the_penalties_are_their_formulas(rng):
    D, x = make("mlp", rng)
    g = input_gradients(D, x)
    norms = np.sqrt((g.reshape(len(g), -1) ** 2).sum(axis=1))
    np.testing.assert_allclose(gradient_penalty(D, x, weight=3.0), 3.0 * np.mean((norms - 1) ** 2), rtol=1e-12)
    np.testing.assert_allclose(r1_penalty(D, x, weight=3.0), 1.5 * np.mean(norms ** 2), rtol=1e-12)
    value, got = penalize_input_gradient(D, x, wgan_gp_term, 3.0)
    np.testing.assert_allclose(got, norms, rtol=1e-12)


def test_the_gradient_is_added_and_the_critics_switches_are_put_back(rng):
    D, x = make("mlp", rng)
    D.zero_grad()
    gradient_penalty(D, x)
    once = [p.grad.copy() for p in D.parameters()]
    D[1].requires_grad_(False)                                # a layer the user froze stays frozen
    gradient_penalty(D, x)
    for i, (g, p) in enumerate(zip(once, D.parameters())):
        np.testing.assert_allclose(p.grad, g if i < 2 else 2 * g, rtol=1e-12)   # D[1]'s weight and bias: once
    assert [m.requires_grad for m in D.modules()] == [m is not D[1] for m in D.modules()]


def test_weight_zero_gives_zero_and_no_gradient(rng):
    D, x = make("mlp", rng)
    D.zero_grad()
    assert gradient_penalty(D, x, weight=0.0) == 0
    assert all(not p.grad.any() for p in D.parameters())


def test_a_zero_input_gradient_gives_a_finite_penalty_gradient(rng):
    """‖g‖ has no gradient at g = 0; the penalty uses the subgradient 0 there, not NaN."""
    D = Sequential(Flatten(), Dense(4, 1, rng=rng)).to(dtype=np.float64)
    D[1].weight.data[...] = 0
    D.zero_grad()
    assert gradient_penalty(D, rng.standard_normal((3, 1, 2, 2))) == pytest.approx(10.0)
    assert np.isfinite(D[1].weight.grad).all()


def test_float32_stays_float32(rng):
    D = mlp_critic(rng)
    x = rng.standard_normal((4, 1, 4, 4)).astype(np.float32)
    value = gradient_penalty(D, x)
    assert value.dtype == np.float32 and all(p.grad.dtype == np.float32 for p in D.parameters())


def test_a_batchnorm_critic_is_refused_before_any_work(rng):
    D = Sequential(Flatten(), Dense(16, 6, rng=rng), BatchNorm1d(6), LeakyReLU(0.2), Dense(6, 1, rng=rng))
    D.zero_grad()
    x = rng.standard_normal((4, 1, 4, 4)).astype(np.float32)
    with pytest.raises(DoubleBackwardError) as err:
        gradient_penalty(D, x)
    msg = str(err.value)
    assert "BatchNorm1d(6" in msg and "mixes the samples" in msg and "LayerNorm" in msg
    assert all(not p.grad.any() for p in D.parameters()) and not hasattr(D[1], "x")   # D never ran


@pytest.mark.parametrize("fn", [gradient_penalty, r1_penalty])
@pytest.mark.parametrize("weight", [-1.0, float("nan"), float("inf"), "10", True])
def test_a_bad_weight_is_refused(rng, fn, weight):
    D, x = make("mlp", rng)
    with pytest.raises(ValueError, match=f"{fn.__name__}: weight must be a finite number >= 0"):
        fn(D, x, weight=weight)


def test_a_critic_with_several_outputs_per_sample_is_refused(rng):
    D = Sequential(Flatten(), Dense(16, 2, rng=rng))
    with pytest.raises(ValueError, match=r"one critic value per sample") as err:
        gradient_penalty(D, rng.standard_normal((4, 1, 4, 4)).astype(np.float32))
    assert "returned shape (4, 2)" in str(err.value)


@pytest.mark.cupy
def test_the_penalty_on_cupy_matches_numpy():
    """Same critic, same x̂: the penalty and every weight's gradient agree across backends (float32)."""
    x = np.random.default_rng(1).standard_normal((4, 1, 8, 8)).astype(np.float32)
    results = []
    for name in ("numpy", "cupy"):
        D = conv_critic(np.random.default_rng(0)).to(name)
        D.zero_grad()
        value = gradient_penalty(D, minigan.to_device(x, name))
        results.append((float(value), [minigan.to_numpy(p.grad) for p in D.parameters()]))
    (v0, g0), (v1, g1) = results
    assert v1 == pytest.approx(v0, rel=1e-4)
    for a, b in zip(g0, g1):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
