"""The moving average of G's weights (minigan/gan/ema.py): its two warm-up rules, by the formula.

The Run-level checks (the average after a real G step, its batchnorm statistics, a saved and
loaded average) are in tests/test_run.py.
"""
import copy

import numpy as np
import pytest

from minigan import Dense
from minigan.gan.ema import EMA


def averaged(warmup, beta, iterates):
    """Feed the weights in ``iterates`` to an EMA one by one; return the averaged weight after each."""
    model = Dense(2, 3, rng=np.random.default_rng(0)).to(dtype=np.float64)
    ema = EMA(model, copy.deepcopy(model), beta, warmup)
    out = []
    for w in iterates:
        model.weight.data[...] = w
        ema.update()
        out.append(ema.shadow.weight.data.copy())
    return out


def test_mean_warmup_is_the_plain_mean_of_every_iterate_until_the_window_is_full(rng):
    """β_t = min(β, t / (t + 1)): with β = 0.9 the first 10 averages are plain means, then it moves on."""
    iterates = [rng.standard_normal((2, 3)) for _ in range(15)]
    got = averaged("mean", 0.9, iterates)
    for t in range(10):                                   # t / (t + 1) <= 0.9 while t <= 9
        np.testing.assert_allclose(got[t], np.mean(iterates[:t + 1], axis=0), rtol=1e-12)
    expected = got[9]
    for t in range(10, 15):                               # then θ_ema = 0.9 θ_ema + 0.1 θ
        expected = 0.9 * expected + 0.1 * iterates[t]
        np.testing.assert_allclose(got[t], expected, rtol=1e-12)


def test_tf_warmup_follows_1_plus_t_over_10_plus_t(rng):
    """TensorFlow's rule: the first update keeps 1/10 of the initial weights, and β stays under 0.9 for a while."""
    model = Dense(2, 3, rng=np.random.default_rng(0)).to(dtype=np.float64)
    start = model.weight.data.copy()
    iterates = [rng.standard_normal((2, 3)) for _ in range(3)]
    got = averaged("tf", 0.999, iterates)
    expected = start
    for t, w in enumerate(iterates):
        beta = (1 + t) / (10 + t)
        expected = beta * expected + (1 - beta) * w
        np.testing.assert_allclose(got[t], expected, rtol=1e-12)


def test_the_mean_rule_forgets_the_initial_weights_at_once():
    """After one update the "mean" average is that G exactly; "tf" still holds 10% of the random start."""
    first = np.full((2, 3), 7.0)
    assert np.array_equal(averaged("mean", 0.999, [first])[0], first)
    assert not np.allclose(averaged("tf", 0.999, [first])[0], first)


def test_an_unknown_warmup_rule_is_refused():
    model = Dense(2, 3)
    with pytest.raises(ValueError, match="warmup must be one of"):
        EMA(model, copy.deepcopy(model), 0.999, "linear")
