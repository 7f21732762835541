"""Layers for several inputs and outputs: Identity, Concat, Parallel, Fork; and labels: OneHot, Embedding.

Forward against plain references, backward against centred finite
differences in float64 (for each input of a tuple, and each parameter).
"""
import numpy as np
import pytest

from minigan import Concat, Dense, Embedding, Fork, Identity, LeakyReLU, OneHot, Parallel, Sequential, ShapeError
from minigan.nn.gradcheck import numerical_gradient, rel_error
from minigan.nn.layers import one_hot

TOL = 1e-6


def check_tuple_model(model, xs, dys, float_inputs):
    """L = sum_i <model(xs)_i, dy_i>: dL/dx for each float input and dL/dθ for each parameter vs finite differences."""
    model.to(dtype=np.float64)
    model.zero_grad()
    out = model(xs)
    dxs = model.backward(dys)

    def flat(y, d):  # pairs of (output, its dL/dy) through nested tuples
        if isinstance(y, tuple):
            return [p for a, b in zip(y, d) for p in flat(a, b)]
        return [] if d is None else [(y, d)]

    def loss():
        return sum(float(np.sum(a * d)) for a, d in flat(model(xs), dys))

    grads = {name: p.grad.copy() for name, p in model.named_parameters()}
    for i in float_inputs:
        assert rel_error(dxs[i], numerical_gradient(loss, xs[i])) < TOL, f"input {i}"
    for name, p in model.named_parameters():
        assert rel_error(grads[name], numerical_gradient(loss, p.data)) < TOL, name
    return out, dxs


def test_identity_passes_everything_through(rng):
    x = rng.standard_normal((3, 4))
    layer = Identity()
    assert layer(x) is x and layer.backward(x) is x


def test_concat_joins_and_splits_back(rng):
    a, b = rng.standard_normal((3, 2)), rng.standard_normal((3, 5))
    layer = Concat()
    y = layer((a, b))
    np.testing.assert_array_equal(y, np.hstack([a, b]))
    da, db = layer.backward(np.arange(21.0).reshape(3, 7))
    np.testing.assert_array_equal(da, np.arange(21.0).reshape(3, 7)[:, :2])
    np.testing.assert_array_equal(db, np.arange(21.0).reshape(3, 7)[:, 2:])
    images = Concat(axis=1)((rng.standard_normal((2, 1, 4, 4)), rng.standard_normal((2, 3, 4, 4))))
    assert images.shape == (2, 4, 4, 4)
    with pytest.raises(ShapeError, match="same shape except along axis 1"):
        layer((a, rng.standard_normal((4, 5))))
    with pytest.raises(TypeError, match="share one dtype"):
        layer((a, b.astype(np.float32)))


def test_a_two_input_model_matches_finite_differences(rng):
    """G(z, c) = Dense(Concat(Dense(z), c)): gradients reach both float inputs and every weight."""
    model = Sequential(Parallel(Dense(3, 4, rng=rng), Identity()), Concat(), LeakyReLU(0.2), Dense(6, 2, rng=rng))
    z, c = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    out, (dz, dc) = check_tuple_model(model, (z, c), rng.standard_normal((5, 2)), float_inputs=(0, 1))
    assert out.shape == (5, 2) and dz.shape == z.shape and dc.shape == c.shape


def test_a_shared_body_with_two_heads_matches_finite_differences(rng):
    """D(x) = Fork(h1, h2)(body(x)): each head's gradient, and their sum in the body."""
    model = Sequential(Dense(4, 5, rng=rng), LeakyReLU(0.2), Fork(Dense(5, 1, rng=rng), Dense(5, 3, rng=rng)))
    x = rng.standard_normal((6, 4))
    dys = (rng.standard_normal((6, 1)), rng.standard_normal((6, 3)))
    ((logit, q),), _ = check_tuple_model(Sequential(Parallel(model)), (x,), (dys,), float_inputs=())  # the weights
    assert logit.shape == (6, 1) and q.shape == (6, 3)
    model.zero_grad()
    model(x)
    dx = model.backward(dys)

    def loss():
        a, b = model(x)
        return float(np.sum(a * dys[0]) + np.sum(b * dys[1]))

    assert rel_error(dx, numerical_gradient(loss, x)) < TOL
    model.zero_grad()
    model(x)
    model.backward((dys[0], None))                                   # one head only: the other adds nothing
    assert not np.any(model[2].heads[1].weight.grad) and np.any(model[2].heads[0].weight.grad)


def test_fork_input_gradient_is_the_sum_over_heads(rng):
    h1, h2 = Dense(4, 2, rng=rng).to(dtype=np.float64), Dense(4, 3, rng=rng).to(dtype=np.float64)
    fork = Fork(h1, h2)
    x = rng.standard_normal((5, 4))
    d1, d2 = rng.standard_normal((5, 2)), rng.standard_normal((5, 3))
    fork(x)
    dx = fork.backward((d1, d2))
    np.testing.assert_allclose(dx, d1 @ h1.weight.data.T + d2 @ h2.weight.data.T)
    np.testing.assert_array_equal(fork.backward((None, None)), np.zeros_like(x))


def test_one_hot_is_a_row_of_zeros_with_a_one(rng):
    y = np.array([3, 0, 9, 3])
    expected = np.zeros((4, 10), np.float32)
    for n, k in enumerate(y):
        expected[n, k] = 1
    np.testing.assert_array_equal(OneHot(10)(y), expected)
    np.testing.assert_array_equal(one_hot(y, 10), expected)
    assert OneHot(10)(y).dtype == np.float32 and OneHot(10).backward is not None


@pytest.mark.parametrize("bad, error, words", [
    (np.array([0, 10]), ValueError, r"labels must lie in \[0, 9\], got values in \[0, 10\]"),
    (np.array([-1, 2]), ValueError, r"got values in \[-1, 2\]"),
    (np.array([0.0, 1.0]), TypeError, "integer class labels, got dtype float64"),
    (np.array([[1, 2]]), ShapeError, r"labels of shape \(N,\), got \(1, 2\)"),
])
def test_labels_out_of_range_or_not_integers_are_refused(bad, error, words):
    for layer in (OneHot(10), Embedding(10, 4)):
        with pytest.raises(error, match=words):
            layer(bad)


def test_embedding_reads_rows_and_its_gradient_matches_finite_differences(rng):
    layer = Embedding(10, 4, rng=rng).to(dtype=np.float64)
    y = np.array([2, 7, 2, 0, 9])
    e = layer(y)
    np.testing.assert_array_equal(e, one_hot(y, 10, np.float64) @ layer.weight.data)   # W[y] = onehot(y) W
    dy = rng.standard_normal(e.shape)
    layer.zero_grad()
    assert layer.backward(dy) is None                                  # labels have no gradient
    numeric = numerical_gradient(lambda: float(np.sum(layer(y) * dy)), layer.weight.data)
    assert rel_error(layer.weight.grad, numeric) < TOL
    assert np.array_equal(layer.weight.grad[2], dy[0] + dy[2])         # a label used twice adds up


def test_a_conditional_model_with_an_embedding_matches_finite_differences(rng):
    """G(z, y) = Dense(Concat(z, Embedding(y))): the table learns from the loss, z gets its gradient."""
    model = Sequential(Parallel(Identity(), Embedding(10, 3, rng=rng)), Concat(), Dense(5, 4, rng=rng))
    z, y = rng.standard_normal((6, 2)), np.array([1, 4, 4, 0, 9, 3])
    check_tuple_model(model, (z, y), rng.standard_normal((6, 4)), float_inputs=(0,))
