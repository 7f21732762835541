"""ImagePool: CycleGAN's history of fakes, against its definition, and exactly resumable."""
import numpy as np
import pytest

from minigan.translation.image_pool import ImagePool


def batch(k, n=4):
    return np.full((n, 1, 2, 2), float(k), np.float32) + np.arange(n, dtype=np.float32)[:, None, None, None] / 10


def test_while_filling_every_fake_is_used_and_kept():
    pool = ImagePool(size=8)
    np.testing.assert_array_equal(pool.query(batch(1)), batch(1))
    np.testing.assert_array_equal(pool.query(batch(2)), batch(2))
    assert len(pool.images) == 8


def test_once_full_about_half_come_from_the_past_and_the_pool_swaps_them_in():
    pool = ImagePool(size=8, seed=1)
    pool.query(batch(1))
    pool.query(batch(2))                                     # full: the values 1.x and 2.x
    out = np.concatenate([pool.query(batch(k)) for k in range(3, 203)])
    old = np.array([x[0, 0, 0] < k for x, k in zip(out, np.repeat(np.arange(3, 203), 4))])
    assert 0.4 < old.mean() < 0.6                            # heads or tails, per fake
    assert len(pool.images) == 8
    assert {float(np.floor(x[0, 0, 0])) for x in pool.images} <= set(range(3, 203))  # the first fakes swapped out


def test_size_zero_is_no_pool():
    fakes = batch(5)
    assert ImagePool(size=0).query(fakes) is fakes


def test_state_round_trip_draws_the_same_fakes():
    a = ImagePool(size=6, seed=3)
    for k in range(4):
        a.query(batch(k))
    b = ImagePool(size=6, seed=99)
    b.load_state_dict(a.state_dict())
    for k in range(4, 10):
        np.testing.assert_array_equal(a.query(batch(k)), b.query(batch(k)))


@pytest.mark.parametrize("size", [-1, 2.5, True])
def test_a_bad_size_is_refused(size):
    with pytest.raises(ValueError, match="ImagePool: size must be an integer >= 0"):
        ImagePool(size=size)
