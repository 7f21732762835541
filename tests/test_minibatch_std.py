"""MinibatchStd: one channel with the group's average feature standard deviation, and its backward."""
import numpy as np
import pytest

from minigan import ShapeError
from minigan.nn.layers import MinibatchStd


def reference(x, g, eps=1e-8):
    """The extra channel with loops: per group, std over the group of each feature, averaged."""
    n, c, h, w = x.shape
    out = np.zeros((n, c + 1, h, w))
    out[:, :c] = x
    for start in range(0, n, g):
        group = x[start:start + g].reshape(g, -1)
        s = np.sqrt(group.var(axis=0) + eps)             # biased variance over the group
        out[start:start + g, c] = s.mean()
    return out


@pytest.mark.parametrize("n, g", [(8, 4), (6, 2), (3, 4)])
def test_forward_matches_loops(rng, n, g):
    x = rng.standard_normal((n, 2, 3, 3))
    np.testing.assert_allclose(MinibatchStd(g)(x), reference(x, min(g, n)), rtol=1e-12)


@pytest.mark.parametrize("n, g", [(8, 4), (4, 2), (3, 4)])
def test_backward_matches_finite_differences(rng, gradcheck, n, g):
    gradcheck("MinibatchStd", MinibatchStd(g), rng.standard_normal((n, 2, 3, 3)))


def test_a_collapsed_batch_gets_a_small_value(rng):
    varied = rng.standard_normal((8, 1, 4, 4)).astype(np.float32)
    collapsed = np.repeat(varied[:1], 8, axis=0) + 1e-3 * varied
    layer = MinibatchStd(4)
    assert layer(collapsed)[:, -1].max() < 0.01 < layer(varied)[:, -1].min()


def test_a_batch_that_does_not_divide_into_groups_is_refused(rng):
    with pytest.raises(ShapeError, match="divisible into groups of 4"):
        MinibatchStd(4)(rng.standard_normal((6, 1, 2, 2)))
    with pytest.raises(ValueError, match="group_size must be an integer >= 2"):
        MinibatchStd(1)


@pytest.mark.parametrize("n, g", [(8, 4), (3, 4)])
def test_double_backward_matches_finite_differences_of_backward(rng, double_gradcheck, n, g):
    """R1 through a D with this layer differentiates its backward: dP/d(dy) and dP/dx, second order."""
    errors = double_gradcheck("MinibatchStd", MinibatchStd(g), rng.standard_normal((n, 2, 3, 3)))
    assert set(errors) == {"dy", "x"}
