"""BatchNorm1d / BatchNorm2d: PyTorch's semantics, written out as formulas, and their gradients.

PyTorch's rules, which these tests spell out:
* training normalises with the batch mean and the *biased* variance (divide by m);
* running_mean <- 0.9 running_mean + 0.1 mean, running_var <- 0.9 running_var + 0.1 var_unbiased
  (divide by m - 1), with momentum 0.1 and eps 1e-5 by default;
* evaluation normalises with running_mean and running_var and changes nothing.
"""
import numpy as np
import pytest

from minigan import BatchNorm1d, BatchNorm2d

pytestmark = pytest.mark.usefixtures("both_paths")  # fast paths and plain lines alike (conftest.py)

# layer class, input shape, the axes the statistics run over
CASES = [
    (BatchNorm1d, (4, 3), (0,)),
    (BatchNorm1d, (2, 5), (0,)),
    (BatchNorm2d, (2, 3, 4, 4), (0, 2, 3)),
    (BatchNorm2d, (3, 2, 3, 2), (0, 2, 3)),
    (BatchNorm2d, (1, 2, 3, 3), (0, 2, 3)),
]
IDS = [f"{cls.__name__}-{'x'.join(map(str, shape))}" for cls, shape, _ in CASES]


def channel_shape(x):
    """How a per-channel vector broadcasts against x: (1, C) or (1, C, 1, 1)."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def make_layer(cls, c, rng, dtype=np.float64):
    """A batchnorm with non-trivial gamma and beta (and float64 when asked)."""
    layer = cls(c).to(dtype=dtype)
    layer.weight.data[...] = rng.uniform(0.5, 1.5, c)
    layer.bias.data[...] = rng.standard_normal(c)
    return layer


def test_defaults_match_pytorch():
    """eps 1e-5, momentum 0.1, gamma 1, beta 0, running mean 0 and variance 1, all float32."""
    layer = BatchNorm2d(3)
    assert layer.eps == 1e-5 and layer.momentum == 0.1
    np.testing.assert_array_equal(layer.weight.data, np.ones(3))
    np.testing.assert_array_equal(layer.bias.data, np.zeros(3))
    np.testing.assert_array_equal(layer.running_mean, np.zeros(3))
    np.testing.assert_array_equal(layer.running_var, np.ones(3))
    for a in (layer.weight.data, layer.bias.data, layer.running_mean, layer.running_var):
        assert a.dtype == np.float32
    assert layer.training


@pytest.mark.parametrize("cls, shape, axes", CASES, ids=IDS)
def test_train_forward_uses_batch_statistics(rng, cls, shape, axes):
    """Training output = gamma (x - mean) / sqrt(biased var + eps) + beta, per channel."""
    x = rng.standard_normal(shape) * 3 + 1
    layer = make_layer(cls, shape[1], rng)
    y = layer(x)
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)   # biased
    gamma = layer.weight.data.reshape(channel_shape(x))
    beta = layer.bias.data.reshape(channel_shape(x))
    np.testing.assert_allclose(y, gamma * (x - mean) / np.sqrt(var + 1e-5) + beta, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls, shape, axes", CASES, ids=IDS)
def test_running_statistics_follow_pytorch(rng, cls, shape, axes):
    """Two training steps move the running stats by momentum 0.1, with the unbiased variance."""
    layer = make_layer(cls, shape[1], rng)
    m = int(np.prod([shape[a] for a in axes]))
    rm, rv = np.zeros(shape[1]), np.ones(shape[1])
    for _ in range(2):
        x = rng.standard_normal(shape) * 2 - 1
        layer(x)
        rm = 0.9 * rm + 0.1 * x.mean(axis=axes)
        rv = 0.9 * rv + 0.1 * x.var(axis=axes, ddof=1)    # unbiased: divides by m - 1
        assert m >= 2
    np.testing.assert_allclose(layer.running_mean, rm, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.running_var, rv, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls, shape, axes", CASES, ids=IDS)
def test_eval_forward_uses_running_statistics(rng, cls, shape, axes):
    """Eval output = gamma (x - running_mean) / sqrt(running_var + eps) + beta; stats unchanged."""
    layer = make_layer(cls, shape[1], rng)
    layer.running_mean = rng.standard_normal(shape[1])
    layer.running_var = rng.uniform(0.5, 2.0, shape[1])
    rm, rv = layer.running_mean.copy(), layer.running_var.copy()
    layer.eval()
    x = rng.standard_normal(shape)
    y = layer(x)
    cs = channel_shape(x)
    expected = (layer.weight.data.reshape(cs) * (x - rm.reshape(cs)) / np.sqrt(rv.reshape(cs) + 1e-5)
                + layer.bias.data.reshape(cs))
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(layer.running_mean, rm)
    np.testing.assert_array_equal(layer.running_var, rv)


def test_custom_eps_and_momentum(rng):
    """eps and momentum given to the constructor are the ones used."""
    layer = BatchNorm1d(2, eps=0.5, momentum=0.3).to(dtype=np.float64)
    x = rng.standard_normal((6, 2))
    y = layer(x)
    np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 0.5), rtol=1e-12)
    np.testing.assert_allclose(layer.running_mean, 0.3 * x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, 0.7 + 0.3 * x.var(0, ddof=1), rtol=1e-12)


@pytest.mark.parametrize("cls, shape, axes", CASES, ids=IDS)
def test_train_backward_matches_finite_differences(rng, gradcheck, cls, shape, axes):
    """Training mode: the gradient through the batch mean and variance is right (float64)."""
    layer = make_layer(cls, shape[1], rng)
    errors = gradcheck(cls.__name__ + " (train)", layer, rng.standard_normal(shape))
    assert set(errors) == {"x", "weight", "bias"}


@pytest.mark.parametrize("cls, shape, axes", CASES, ids=IDS)
def test_eval_backward_matches_finite_differences(rng, gradcheck, cls, shape, axes):
    """Eval mode: running statistics are constants, and the gradient treats them so."""
    layer = make_layer(cls, shape[1], rng)
    layer.running_mean = rng.standard_normal(shape[1])
    layer.running_var = rng.uniform(0.5, 2.0, shape[1])
    layer.eval()
    errors = gradcheck(cls.__name__ + " (eval)", layer, rng.standard_normal(shape))
    assert set(errors) == {"x", "weight", "bias"}


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("cls, shape", [(BatchNorm1d, (4, 3)), (BatchNorm2d, (2, 3, 2, 2))])
def test_backward_adds_into_grad(rng, accumulates, cls, shape, mode):
    """Two backward passes accumulate twice the gradient; zero_grad clears it."""
    layer = make_layer(cls, shape[1], rng).train(mode == "train")
    accumulates(layer, rng.standard_normal(shape), rng.standard_normal(shape))


@pytest.mark.parametrize("cls, shape, expected", [
    (BatchNorm1d, (4, 2), "(N, 3)"),
    (BatchNorm1d, (4, 3, 1), "(N, 3)"),
    (BatchNorm1d, (3,), "(N, 3)"),
    (BatchNorm2d, (2, 4, 3, 3), "(N, 3, H, W)"),
    (BatchNorm2d, (2, 3, 3), "(N, 3, H, W)"),
    (BatchNorm2d, (2, 3), "(N, 3, H, W)"),
])
def test_wrong_shape_raises_shape_error(shape_error, cls, shape, expected):
    """A wrong input shape names the layer, what it expected and what it got."""
    shape_error(cls(3), np.zeros(shape, np.float32), expected)


@pytest.mark.parametrize("cls, shape", [(BatchNorm1d, (1, 3)), (BatchNorm2d, (1, 3, 1, 1))])
def test_single_value_per_channel_refused_in_training_only(cls, shape):
    """One value per channel has no variance: training refuses it, eval accepts it."""
    layer = cls(3)
    with pytest.raises(ValueError, match=r"training mode needs more than 1"):
        layer(np.zeros(shape, np.float32))
    assert layer.eval()(np.zeros(shape, np.float32)).shape == shape


@pytest.mark.parametrize("cls, shape", [(BatchNorm1d, (2, 3)), (BatchNorm2d, (2, 3, 2, 2))])
def test_dtype_mismatch_raises_type_error(dtype_error, cls, shape):
    """float64 input into a float32 batchnorm is refused."""
    dtype_error(cls(3), np.zeros(shape, np.float64))


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("cls, shape", [(BatchNorm1d, (4, 3)), (BatchNorm2d, (2, 3, 2, 2))])
def test_float32_by_default(rng, cls, shape, mode):
    """Float32 in, float32 out; the running statistics stay float32 after an update."""
    layer = cls(3).train(mode == "train")
    y = layer(rng.standard_normal(shape).astype(np.float32))
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32
    assert layer.running_mean.dtype == np.float32 and layer.running_var.dtype == np.float32
