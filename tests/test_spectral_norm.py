"""SpectralNorm: W / σ(W) with σ from power iteration; its backward with u, v held fixed."""
import numpy as np
import pytest

from minigan import Adam, Conv2d, Dense, LeakyReLU, Sequential
from minigan.nn.layers import SpectralNorm


def with_spectrum(layer, rng, top=3.0):
    """Give the learned weight singular values (top, 1, 0.5, ...): a clear gap, so power iteration converges fast."""
    w = layer.weight.data
    m = w.T if isinstance(layer.layer, Dense) else w.reshape(w.shape[0], -1)
    u, _, vt = np.linalg.svd(rng.standard_normal(m.shape), full_matrices=False)
    s = np.array([top] + [1.0 / (i + 1) for i in range(len(u[0]) - 1)])
    m = (u * s) @ vt
    layer.weight.data[...] = m.T if isinstance(layer.layer, Dense) else m.reshape(w.shape)
    return layer


def top_singular_value(layer):
    w = layer.weight.data
    m = w.T if isinstance(layer.layer, Dense) else w.reshape(w.shape[0], -1)
    return np.linalg.svd(m.astype(np.float64), compute_uv=False)[0]


@pytest.mark.parametrize("make, shape", [(lambda r: Dense(6, 4, rng=r), (3, 6)),
                                         (lambda r: Conv2d(2, 3, 3, padding=1, rng=r), (2, 2, 5, 5))],
                         ids=["dense", "conv2d"])
def test_sigma_is_the_top_singular_value_and_the_normalised_weight_has_norm_one(rng, make, shape):
    layer = with_spectrum(SpectralNorm(make(rng), rng=rng).to(dtype=np.float64), rng)
    x = rng.standard_normal(shape)
    for _ in range(5):
        layer(x)
    assert float(layer.sigma) == pytest.approx(top_singular_value(layer), rel=1e-6)
    computed = layer.layer.weight.data
    m = computed.T if isinstance(layer.layer, Dense) else computed.reshape(computed.shape[0], -1)
    assert np.linalg.svd(m, compute_uv=False)[0] == pytest.approx(1.0, rel=1e-6)


def test_the_first_forward_already_runs_enough_iterations(rng):
    layer = with_spectrum(SpectralNorm(Dense(50, 40, rng=rng), rng=rng).to(dtype=np.float64), rng)
    layer(rng.standard_normal((2, 50)))
    assert float(layer.sigma) == pytest.approx(3.0, rel=1e-6)        # 15 iterations at a gap of 3 to 1
    assert layer.updates == 1


@pytest.mark.parametrize("make, shape", [(lambda r: Dense(5, 4, rng=r), (3, 5)),
                                         (lambda r: Dense(5, 4, bias=False, rng=r), (3, 5)),
                                         (lambda r: Conv2d(2, 3, 3, stride=2, padding=1, rng=r), (2, 2, 5, 5))],
                         ids=["dense", "dense-nobias", "conv2d"])
def test_backward_with_u_v_held_fixed_matches_finite_differences(rng, gradcheck, make, shape):
    """In eval mode u and v do not move, so W -> W / (u^T W v) is a fixed function to differentiate."""
    layer = SpectralNorm(make(rng), rng=rng).to(dtype=np.float64)
    layer(rng.standard_normal(shape))                   # a training forward sets u, v
    layer.eval()
    errors = gradcheck("SpectralNorm", layer, rng.standard_normal(shape))
    assert "weight" in errors


def test_only_the_learned_weight_and_the_bias_are_parameters(rng):
    layer = SpectralNorm(Dense(4, 3, rng=rng), rng=rng)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "layer.bias"]
    state = layer.state_dict()
    assert set(state) == {"weight", "layer.bias", "u", "v", "updates"}
    model = Sequential(layer, LeakyReLU(0.2), SpectralNorm(Dense(3, 1, rng=rng), rng=rng))
    assert len(Adam(model.parameters()).params) == 4


def test_state_round_trip_keeps_the_power_iteration(rng, tmp_path):
    a = SpectralNorm(Dense(4, 3, rng=rng), rng=rng)
    x = rng.standard_normal((2, 4)).astype(np.float32)
    a(x)
    a.save(tmp_path / "sn.npz")
    b = SpectralNorm(Dense(4, 3, rng=np.random.default_rng(9)), rng=np.random.default_rng(9)).load(tmp_path / "sn.npz")
    assert b.updates == 1
    np.testing.assert_array_equal(a(x), b(x))           # the same u, v, W: the same next step


def test_the_g_step_asks_for_the_input_gradient_only(rng):
    layer = SpectralNorm(Dense(4, 3, rng=rng), rng=rng)
    layer(rng.standard_normal((2, 4)).astype(np.float32))
    layer.requires_grad_(False)
    dx = layer.backward(np.ones((2, 3), np.float32))
    assert dx.shape == (2, 4) and not layer.weight.grad.any() and not layer.layer.bias.grad.any()


def test_only_dense_and_conv2d_can_be_wrapped():
    with pytest.raises(TypeError, match="wraps a Dense or Conv2d layer, got LeakyReLU"):
        SpectralNorm(LeakyReLU(0.2))
    with pytest.raises(ValueError, match="n_power_iterations must be an integer >= 1"):
        SpectralNorm(Dense(2, 2), n_power_iterations=0)


@pytest.mark.parametrize("make, shape", [(lambda r: Dense(5, 4, rng=r), (3, 5)),
                                         (lambda r: Conv2d(2, 3, 3, padding=1, rng=r), (2, 2, 4, 4))],
                         ids=["dense", "conv2d"])
def test_double_backward_goes_on_to_the_learned_weight(rng, double_gradcheck, make, shape):
    """For R1 through a normalised D: the wrapped layer's double backward, then the same chain W_sn -> W."""
    layer = SpectralNorm(make(rng), rng=rng).to(dtype=np.float64)
    layer(rng.standard_normal(shape))
    layer.eval()
    errors = double_gradcheck("SpectralNorm", layer, rng.standard_normal(shape))
    assert "weight" in errors and "layer.bias" in errors


def test_spectral_normalize_wraps_every_dense_and_conv_inside_containers(rng):
    from minigan import Flatten, Fork
    from minigan.nn.layers import spectral_normalize

    model = Sequential(Conv2d(1, 2, 3, rng=rng), LeakyReLU(0.2), Flatten(),
                       Fork(Dense(8, 1, rng=rng), Dense(8, 2, rng=rng)))
    before = [p.data.copy() for p in model.parameters()]
    model = spectral_normalize(model, rng=rng)
    assert isinstance(model[0], SpectralNorm) and all(isinstance(h, SpectralNorm) for h in model[3].heads)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.parameters()))
    assert spectral_normalize(Dense(2, 2)).__class__ is SpectralNorm
