"""minigan.captions: captions made from MNIST's own pixels, for text-to-image models (docs/captions.md)."""
import numpy as np
import pytest

from minigan.coarse import captions
from minigan.coarse.captions import CaptionError


def bar(angle_deg, width=2):
    """A vertical bar sheared so its top leans right by ``angle_deg`` (negative: left), as an image in [-1, 1]."""
    img = -np.ones((1, 1, 28, 28))
    shift = np.tan(np.radians(angle_deg))
    for row in range(4, 24):
        col = 14 + shift * (14 - row)                       # rows above the middle move right for angle > 0
        c = int(round(col))
        img[0, 0, row, c:c + width] = 1
    return img


@pytest.mark.parametrize("angle", [-25, -12, 0, 12, 25])
def test_slant_reads_the_lean_of_a_sheared_bar(angle):
    assert captions.slant(bar(angle))[0] == pytest.approx(angle, abs=2.5)


def test_slant_classes_split_at_the_limit():
    images = np.concatenate([bar(-25), bar(0), bar(25)])
    assert list(captions.attributes(images)[1]) == [0, 1, 2]


def test_a_blank_image_has_a_slant_and_a_thickness_class():
    t, s = captions.attributes(-np.ones((1, 1, 28, 28)))
    assert (t[0], s[0]) == (0, 1)


def test_the_thickness_edges_are_the_training_digits_terciles(mnist):
    from minigan.data import load_mnist
    from minigan.translation.data import thickness
    x, _ = load_mnist("train")
    assert np.quantile(thickness(x), [1 / 3, 2 / 3]) == pytest.approx(captions.THICKNESS_EDGES, abs=1e-3)


def test_every_caption_reads_back_as_what_it_says():
    for d in range(10):
        for t in range(3):
            for s in range(3):
                for k in range(len(captions.PHRASINGS)):
                    text = captions.caption(d, t, s, k)
                    assert captions.parse(text) == (d, t, s), text
                    assert set(captions.words(text)) <= set(captions.VOCABULARY)
                    assert set(text.split()) <= set(captions.VOCABULARY) | set(captions.ALIASES)


def test_a_caption_may_leave_attributes_out_and_use_capitals_and_commas():
    assert captions.parse("Seven") == (7, None, None)
    assert captions.parse("a thick seven, slanted to the right.") == (7, 2, 2)


@pytest.mark.parametrize("text,match", [
    ("a thick sevn", r"unknown word 'sevn' in 'a thick sevn'; the vocabulary: a and eight"),
    ("a thick upright", r"names no digit: say one of zero, one"),
    ("a seven or a one", r"unknown word 'or'"),
    ("a seven and a one", r"names more than one digit: one, seven"),
    ("a thin thick seven", r"names more than one thickness: thin, thick"),
    (7, r"a caption must be a string, got int"),
])
def test_a_caption_it_cannot_read_is_one_clear_line(text, match):
    with pytest.raises(CaptionError, match=match) as info:
        captions.parse(text)
    assert "\n" not in str(info.value)


def test_captions_take_an_before_a_vowel_sound_and_the_bags_of_words_do_not_change():
    """ "an eight", "a one": the text reads right; the encoder sees the bag it always saw ("an" counts as "a")."""
    assert captions.caption(8, 2, 2, 2) == "an eight written thick and leaning to the right"
    assert captions.caption(1, 0, 1, 2) == "a one written thin and upright"
    assert captions.with_articles("a eight, a one, a upright two") == "an eight, a one, an upright two"
    assert "an" not in captions.VOCABULARY                       # the vocabulary, and so the networks, as before
    texts = [captions.caption(d, t, s, k) for d in range(10) for t in range(3) for s in range(3)
             for k in range(len(captions.PHRASINGS))]
    assert sum(" an " in f" {t} " for t in texts) == 9 and not any("a eight" in t for t in texts)   # 8, phrasing 2
    as_before = [" ".join("a" if w == "an" else w for w in t.split()) for t in texts]   # the old wording
    np.testing.assert_array_equal(captions.bag_of_words(texts), captions.bag_of_words(as_before))
    assert captions.parse("an eight") == captions.parse("a eight") == (8, None, None)


def test_bag_of_words_counts_each_word():
    bags = captions.bag_of_words(["a thin upright one", "one"])
    index = {w: i for i, w in enumerate(captions.VOCABULARY)}
    assert bags.shape == (2, len(captions.VOCABULARY)) and bags.dtype == np.float32
    assert bags[0, index["one"]] == bags[0, index["thin"]] == bags[0, index["a"]] == 1 and bags[0].sum() == 4
    assert bags[1].sum() == 1
    with pytest.raises(CaptionError, match="unknown word"):
        captions.bag_of_words(["a thin upright onee"])


def test_held_out_combinations_cover_every_digit_and_class():
    digits, ts, ss = zip(*captions.HELD_OUT)
    assert sorted(digits) == list(range(10)) and set(ts) == {0, 1, 2} and set(ss) == {0, 1, 2}


def test_the_splits_are_deterministic_and_training_never_shows_a_held_out_combination(mnist):
    train = captions.load("train", limit=3000)
    again = captions.load("train", limit=3000)
    assert train.captions == again.captions and (train.images == again.images).all()
    assert not captions.is_held_out(train.labels, train.thickness, train.slant).any()
    test = captions.load("test", limit=3000)
    assert len(test.labels) == 3000 and test.held_out.any()
    assert len(train.labels) < 3000                        # the held-out digits were dropped
    for text, d, t, s in zip(train.captions[:200], train.labels, train.thickness, train.slant):
        assert captions.parse(text) == (d, t, s)
    assert len(set(train.captions)) > 100                  # several phrasings in use


def test_the_classes_are_balanced_enough_to_learn(mnist):
    data = captions.load("test")
    for classes in (data.thickness, data.slant):
        shares = np.bincount(classes, minlength=3) / len(classes)
        assert shares.min() > 0.1, shares
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        captions.load("val")
