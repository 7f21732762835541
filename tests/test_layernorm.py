"""LayerNorm: PyTorch's nn.LayerNorm written out as a formula, its backward and its double backward.

PyTorch's rules, which these tests spell out:
* each sample is normalised over its last len(normalized_shape) axes, with the mean and the
  *biased* variance of those numbers, eps 1e-5 inside the square root;
* gamma (``weight``, ones) and beta (``bias``, zeros) have shape normalized_shape;
* no running statistics: training and evaluation compute the same thing, and no sample's output
  depends on another sample (what a critic with a gradient penalty needs).
"""
import numpy as np
import pytest

from minigan import LayerNorm, Sequential

# normalized_shape, input shape
CASES = [(5, (3, 5)), ((4,), (1, 4)), ((2, 3, 3), (2, 2, 3, 3)), ((3, 2), (2, 4, 3, 2))]
IDS = ["5-3x5", "4-1x4", "2x3x3-2x2x3x3", "3x2-2x4x3x2"]


def make_layer(shape, rng, affine=True):
    """A float64 LayerNorm with non-trivial gamma and beta."""
    layer = LayerNorm(shape, elementwise_affine=affine).to(dtype=np.float64)
    if affine:
        layer.weight.data[...] = rng.uniform(0.5, 1.5, layer.weight.shape)
        layer.bias.data[...] = rng.standard_normal(layer.bias.shape)
    return layer


def reference_layernorm(x, k, gamma, beta, eps=1e-5):
    """One sample at a time: the mean and biased variance of its last k axes, then gamma x_hat + beta."""
    lead = x.shape[:x.ndim - k]
    y = np.empty_like(x)
    for idx in np.ndindex(*lead):
        v = x[idx]
        mean = v.sum() / v.size
        var = ((v - mean) ** 2).sum() / v.size             # biased: divides by m
        y[idx] = gamma * (v - mean) / np.sqrt(var + eps) + beta
    return y


def test_defaults_match_pytorch():
    """eps 1e-5, gamma = 1 and beta = 0 of shape normalized_shape, float32."""
    layer = LayerNorm((3, 4))
    assert layer.eps == 1e-5 and layer.normalized_shape == (3, 4)
    np.testing.assert_array_equal(layer.weight.data, np.ones((3, 4)))
    np.testing.assert_array_equal(layer.bias.data, np.zeros((3, 4)))
    assert layer.weight.data.dtype == np.float32
    assert LayerNorm(7).normalized_shape == (7,)


@pytest.mark.parametrize("shape, x_shape", CASES, ids=IDS)
def test_forward_matches_the_formula_sample_by_sample(rng, shape, x_shape):
    layer = make_layer(shape, rng)
    x = rng.standard_normal(x_shape) * 3 + 1
    k = len(layer.normalized_shape)
    np.testing.assert_allclose(layer(x), reference_layernorm(x, k, layer.weight.data, layer.bias.data), rtol=1e-12)


def test_each_sample_is_normalised_on_its_own_and_eval_changes_nothing(rng):
    """Changing sample 1 leaves sample 0's output alone (batchnorm would change it); eval == train."""
    layer = make_layer(6, rng)
    x = rng.standard_normal((3, 6))
    y = layer(x)
    x2 = x.copy()
    x2[1] *= 10
    np.testing.assert_array_equal(layer(x2)[0], y[0])
    layer.eval()
    np.testing.assert_array_equal(layer(x), y)


def test_without_affine_the_output_has_mean_0_and_variance_near_1(rng):
    layer = LayerNorm((2, 3), elementwise_affine=False).to(dtype=np.float64)
    y = layer(rng.standard_normal((4, 2, 3)) * 5 + 2)
    assert layer.parameters() == []
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(1, 2)), 1, rtol=1e-5)  # var / (var + eps)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape, x_shape", CASES, ids=IDS)
def test_backward_matches_finite_differences(rng, gradcheck, shape, x_shape, affine):
    """dL/dx (through the mean and the variance), dL/dgamma and dL/dbeta, against finite differences."""
    layer = make_layer(shape, rng, affine)
    x, dy = rng.standard_normal(x_shape) * 2 + 0.5, rng.standard_normal(x_shape)
    errors = gradcheck("LayerNorm", layer, x, dy)
    assert set(errors) == ({"x", "weight", "bias"} if affine else {"x"})


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape, x_shape", CASES, ids=IDS)
def test_double_backward_matches_finite_differences_of_backward(rng, double_gradcheck, shape, x_shape, affine):
    """dP/d(dy) = gamma s Pi(ddx), dP/dgamma, and the second-order term for x (docs/layers/layernorm.md)."""
    layer = make_layer(shape, rng, affine)
    x, dy, ddx = rng.standard_normal(x_shape) * 2 + 0.5, rng.standard_normal(x_shape), rng.standard_normal(x_shape)
    errors = double_gradcheck("LayerNorm", layer, x, dy, ddx)
    assert set(errors) == ({"dy", "x", "weight", "bias"} if affine else {"dy", "x"})
    assert errors["x"] < 1e-6   # a real second-order term, not zero: LayerNorm is not piecewise linear


def test_double_backward_has_a_nonzero_second_order_term_and_no_beta_term(rng):
    layer = make_layer(4, rng)
    x = rng.standard_normal((3, 4))
    layer(x)
    layer.backward(rng.standard_normal((3, 4)))
    layer.zero_grad()
    ddy, dx_extra = layer.double_backward(rng.standard_normal((3, 4)))
    assert ddy.shape == dx_extra.shape == (3, 4) and np.abs(dx_extra).max() > 1e-3
    assert np.abs(layer.weight.grad).max() > 0 and not layer.bias.grad.any()   # beta does not enter backward


def test_project_is_symmetric(rng):
    """<Pi(u), v> = <u, Pi(v)>: why dP/d(dy) is gamma s Pi(ddx)."""
    layer = make_layer((2, 3), rng)
    layer(rng.standard_normal((2, 2, 3)))
    u, v = rng.standard_normal((2, 2, 3)), rng.standard_normal((2, 2, 3))
    np.testing.assert_allclose(np.sum(layer.project(u) * v), np.sum(u * layer.project(v)), rtol=1e-12)


def test_gradients_accumulate(rng, accumulates):
    layer = make_layer(5, rng)
    accumulates(layer, rng.standard_normal((3, 5)), rng.standard_normal((3, 5)))


def test_requires_grad_false_leaves_grads_alone_in_both_passes(rng):
    layer = make_layer(5, rng)
    x, dy, ddx = (rng.standard_normal((3, 5)) for _ in range(3))
    layer.zero_grad()
    layer(x)
    dx = layer.backward(dy)
    ddy, extra = layer.double_backward(ddx)
    layer.zero_grad()
    layer.requires_grad_(False)
    layer(x)
    np.testing.assert_array_equal(layer.backward(dy), dx)
    ddy2, extra2 = layer.double_backward(ddx)
    np.testing.assert_array_equal(ddy2, ddy)
    np.testing.assert_array_equal(extra2, extra)
    assert not layer.weight.grad.any() and not layer.bias.grad.any()


def test_wrong_shapes_and_dtypes_are_refused(rng, shape_error, dtype_error):
    shape_error(LayerNorm((3, 4)), np.zeros((2, 4, 3), np.float32), "(N, ..., 3, 4)")
    shape_error(LayerNorm(5), np.zeros((5,), np.float32), "(N, ..., 5)")
    dtype_error(LayerNorm(5), np.zeros((2, 5), np.float64))


@pytest.mark.parametrize("args, words", [((0,), "every size of normalized_shape"), (((),), "at least one axis"),
                                         ((3, 0.0), "eps must be > 0")])
def test_bad_arguments_are_refused(args, words):
    with pytest.raises(ValueError, match=words):
        LayerNorm(*args)


@pytest.mark.parametrize("shape", [2.5, "128", None])
def test_a_shape_that_is_neither_an_integer_nor_a_tuple_is_named_clearly(shape):
    """LayerNorm(2.5) was a bare "'float' object is not iterable": the message names the layer and what it takes."""
    with pytest.raises(TypeError) as info:
        LayerNorm(shape)
    msg = str(info.value)
    assert msg.startswith("LayerNorm: normalized_shape must be") and "an integer" in msg and "a tuple" in msg
    assert msg.endswith(f"got {shape!r}")


def test_in_a_sequential_it_saves_and_loads_like_any_layer(rng, tmp_path):
    net = Sequential(LayerNorm(4))
    net[0].weight.data[...] = rng.uniform(0.5, 1.5, 4).astype(np.float32)
    net.save(tmp_path / "ln.npz")
    other = Sequential(LayerNorm(4)).load(tmp_path / "ln.npz")
    np.testing.assert_array_equal(other[0].weight.data, net[0].weight.data)
    assert repr(net[0]) == "LayerNorm(4, eps=1e-05, elementwise_affine=True)"


def test_a_sample_with_constant_entries_stays_finite():
    """var = 0: eps keeps 1/sqrt(var + eps) finite, in the forward and both backward passes."""
    layer = LayerNorm(4).to(dtype=np.float64)
    x = np.ones((2, 4))
    y = layer(x)
    dx = layer.backward(np.ones((2, 4)))
    ddy, extra = layer.double_backward(np.ones((2, 4)))
    assert all(np.isfinite(a).all() for a in (y, dx, ddy, extra))
