"""minigan.translation_data: the image-to-image tasks made from MNIST, each operator against its definition."""
import numpy as np
import pytest

from minigan.translation import data as td

LIMIT = 300


def unit_to_image(p):
    return (np.asarray(p, np.float32) * 2 - 1)[None, None]


def test_edges_of_a_square_are_its_outline():
    p = np.zeros((9, 9))
    p[3:6, 3:6] = 1                                                  # a 3 x 3 white square
    e = (td.edges(unit_to_image(p))[0, 0] + 1) / 2
    expected = np.zeros((9, 9))
    expected[2:7, 2:7] = 1                                           # dilation: 5 x 5
    expected[4, 4] = 0                                               # minus erosion: the centre pixel
    np.testing.assert_allclose(e, expected)


def test_thicken_takes_the_brightest_neighbour():
    p = np.zeros((7, 7))
    p[3, 3] = 0.5
    t = (td.thicken(unit_to_image(p))[0, 0] + 1) / 2
    expected = np.zeros((7, 7))
    expected[2:5, 2:5] = 0.5
    np.testing.assert_allclose(t, expected)


@pytest.mark.parametrize("w, length", [(1, 10), (2, 15), (4, 12)])
def test_thickness_of_a_bar_reads_its_width(w, length):
    img = -np.ones((1, 1, 28, 28), np.float32)
    img[0, 0, 5:5 + length, 8:8 + w] = 1
    assert td.thickness(img)[0] == pytest.approx(w * length / (w + length))   # 2 wL / 2(w + L): about w


def test_thickening_doubles_the_measured_stroke_width():
    d = td.load_task("thickness", "test", limit=LIMIT)
    thin, thick = td.thickness(d.a), td.thickness(d.b)
    assert (thick > thin).all()                                      # every digit gets thicker
    assert 1.8 < thin.mean() < 2.4 and 3.8 < thick.mean() < 4.6     # docs/translation_data.md's figures


def test_rotate_by_ninety_degrees_is_rot90():
    p = np.random.default_rng(0).uniform(0, 1, (1, 9, 9))
    r = td.rotate(unit_to_image(p[0]), [90.0])
    np.testing.assert_allclose((r[0, 0] + 1) / 2, np.rot90(p[0]), atol=1e-5)


def test_downsample_averages_blocks():
    x = np.random.default_rng(0).uniform(-1, 1, (2, 1, 28, 28)).astype(np.float32)
    small = td.downsample(x)
    assert small.shape == (2, 1, 7, 7)
    np.testing.assert_allclose(small[1, 0, 2, 5], x[1, 0, 8:12, 20:24].mean(), rtol=1e-6)


def test_the_training_domains_split_the_digits_in_two():
    ia, ib = td.domain_indices(1001, "train")
    assert len(ia) + len(ib) == 1001 and not set(ia) & set(ib)
    assert abs(len(ia) - len(ib)) <= 1
    ta, tb = td.domain_indices(50, "test")
    np.testing.assert_array_equal(ta, tb)                            # every test digit in both domains


@pytest.mark.parametrize("task", list(td.TASKS))
def test_each_task_is_deterministic_and_in_range(task):
    one, two = td.load_task(task, "train", limit=LIMIT), td.load_task(task, "train", limit=LIMIT)
    np.testing.assert_array_equal(one.a, two.a)
    np.testing.assert_array_equal(one.b, two.b)
    for images in (one.a, one.b):
        assert images.dtype == np.float32 and images.min() >= -1 and images.max() <= 1
    assert one.paired == td.TASKS[task]
    if one.paired:
        assert len(one.a) == len(one.b) == LIMIT
    else:
        assert len(one.a) + len(one.b) == LIMIT and one.a_counterpart is None   # no pair is ever shown


@pytest.mark.parametrize("task", ["thickness", "rotated"])
def test_the_test_split_keeps_the_true_pairs(task):
    d = td.load_task(task, "test", limit=LIMIT)
    np.testing.assert_array_equal(d.a_counterpart, td.thicken(d.a))  # A's digit, thickened, is its true B
    np.testing.assert_array_equal(d.b, td.thicken(d.b_counterpart))
    np.testing.assert_array_equal(d.labels_a, d.labels_b)
    if task == "rotated":
        assert np.abs(d.angles_a).max() <= td.MAX_ANGLE and np.abs(d.angles_b).max() <= td.MAX_ANGLE
        assert not np.allclose(d.angles_a, d.angles_b)               # drawn independently in the two domains


def test_paired_tasks_pair_each_input_with_its_digit():
    sr = td.load_task("superres", "test", limit=LIMIT)
    np.testing.assert_array_equal(sr.a, td.downsample(sr.b))
    ed = td.load_task("edges", "test", limit=LIMIT)
    np.testing.assert_array_equal(ed.a, td.edges(ed.b))


@pytest.mark.parametrize("args, words", [(("blur", "train"), "unknown task 'blur': the tasks are edges, thickness"),
                                         (("edges", "val"), "split must be 'train' or 'test', got 'val'")])
def test_bad_names_are_refused(args, words):
    with pytest.raises(ValueError, match=words):
        td.load_task(*args)


@pytest.mark.parametrize("task", ["thickness", "rotated"])
def test_pairs_of_an_unpaired_task_are_one_digit_in_both_domains(task):
    """pix2pix's supervised upper bound trains on every digit beside its own thickened version."""
    d = td.load_task(task, "train", limit=LIMIT, pairs=True)
    assert d.paired and len(d.a) == len(d.b) == LIMIT
    np.testing.assert_array_equal(d.b, td.thicken(d.a))
    digits, _ = td.load_mnist("train", limit=LIMIT)
    if task == "rotated":
        np.testing.assert_array_equal(d.angles_a, d.angles_b)
        np.testing.assert_array_equal(d.a, td.rotate(digits, d.angles_a))
    else:
        np.testing.assert_array_equal(d.a, digits)
    test = td.load_task(task, "test", limit=LIMIT, pairs=True)            # scored as the unpaired models are
    np.testing.assert_array_equal(test.a, td.load_task(task, "test", limit=LIMIT).a)


def test_a_paired_task_has_no_unpaired_version():
    with pytest.raises(ValueError, match="the edges task is made of pairs"):
        td.load_task("edges", "train", limit=LIMIT, pairs=False)


@pytest.mark.parametrize("degrees", [0.0, 20.0, -30.0, 45.0])
def test_orientation_reads_the_angle_a_bar_was_rotated_by(degrees):
    bar = -np.ones((1, 1, 28, 28), np.float32)
    bar[0, 0, 4:24, 13:15] = 1                                       # an upright stroke, 2 px wide
    assert abs(td.orientation(td.rotate(bar, [degrees]))[0] - degrees) < 0.1


def test_pearson_is_numpys_correlation():
    from minigan.translation.translator import pearson

    rng = np.random.default_rng(0)
    u, v = rng.normal(size=50), rng.normal(size=50)
    assert abs(pearson(u, u + 0.5 * v) - np.corrcoef(u, u + 0.5 * v)[0, 1]) < 1e-12
    assert pearson(u, np.ones(50)) == 0.0
