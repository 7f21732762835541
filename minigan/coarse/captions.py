"""Captions made from MNIST itself, for text-to-image models (StackGAN): "a thick seven slanted to the right".

Every caption names the digit and two attributes measured from its pixels:

- **thickness**: the stroke statistic of ``translation_data.thickness`` (2 area / perimeter of the
  ink), cut at the training set's terciles :data:`THICKNESS_EDGES` into thin, medium and thick;
- **slant**: the shear of the ink from its image moments, atan(-mu_xy / mu_yy) in degrees, positive
  when the top leans right (MNIST's deskewing statistic), cut at +-:data:`SLANT_LIMIT` degrees into
  left, upright and right.

Each (digit, thickness, slant) has :data:`PHRASINGS` ways to say it, all from one small vocabulary
(:data:`VOCABULARY`). :data:`HELD_OUT` lists ten combinations, one per digit, that the training
split never shows: a model is asked for them at test time. docs/captions.md has the numbers.

    from minigan import captions
    data = captions.load("train")                   # images, labels, attributes, one caption each
    captions.parse("a thick seven slanted to the right")      # (7, 2, 2)
    captions.bag_of_words(["a thin upright one"])             # (1, len(VOCABULARY)) word counts
"""
from dataclasses import dataclass

import numpy as np

from ..data import load_mnist
from ..translation.data import moments, thickness

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
THICKNESS = ("thin", "medium", "thick")
SLANTS = ("left", "upright", "right")

#: Terciles of the 60,000 training digits' stroke thickness, px (tests/test_captions.py recomputes them).
THICKNESS_EDGES = (1.754, 2.190)
#: |slant| up to this many degrees is upright: 46% of the training digits; 14% lean further left, 40% right.
SLANT_LIMIT = 10.0

#: How each caption may be worded; {t} thickness, {d} digit, {s} "left" or "right".
PHRASINGS = (
    ("a {t} {d} slanted to the {s}", "a {t} upright {d}"),
    ("{d} in {t} strokes leaning {s}", "{d} in {t} strokes standing upright"),
    ("a {d} written {t} and leaning to the {s}", "a {d} written {t} and upright"),
)
VOCABULARY = tuple(sorted({word for pair in PHRASINGS for text in pair for word in text.split()
                           if not word.startswith("{")} | set(DIGITS) | set(THICKNESS) | set(SLANTS)))
#: Words read as a word of the vocabulary: "an", the article before a vowel sound ("an eight"), is "a" to the
#: bag of words, so the encoder's input (and what StackGAN learns) is the same for either spelling.
ALIASES = {"an": "a"}

#: (digit, thickness, slant) never in the training split: one per digit, every class of both attributes.
HELD_OUT = tuple((d, d % 3, (d + 1) % 3) for d in range(10))
SPLIT_SEED = 2017


class CaptionError(ValueError):
    """A caption minigan cannot read: an unknown word, no digit, or two answers to one question."""


def slant(x):
    """Each image's slant in degrees, atan(-mu_xy / mu_yy), positive when the top leans right.

    mu_xy and mu_yy are the ink's second central moments (rows y pointing down, [0, 1] intensities,
    :func:`translation_data.moments`): a stroke whose x grows as y falls towards the top leans
    right. Returns (N,) float64.
    """
    _, mu_yy, mu_xy = moments(x)                                # translation_data.py, beside orientation
    return np.degrees(np.arctan(-mu_xy / np.maximum(mu_yy, 1e-12)))   # a blank image: no ink, slant 0


def attributes(x):
    """(thickness class, slant class) of each image: 0, 1, 2 for thin / medium / thick and left / upright / right."""
    t = np.digitize(thickness(x), THICKNESS_EDGES)                     # 0 below the first tercile, 2 above the second
    angle = slant(x)
    s = 1 + (angle > SLANT_LIMIT).astype(int) - (angle < -SLANT_LIMIT).astype(int)   # upright: |slant| <= SLANT_LIMIT
    return t, s


def caption(digit, t, s, phrasing=0):
    """The words for one (digit, thickness class, slant class), in phrasing ``phrasing``."""
    slanted, upright = PHRASINGS[phrasing]
    text = upright if s == 1 else slanted
    return with_articles(text.format(d=DIGITS[digit], t=THICKNESS[t], s=SLANTS[s]))


def with_articles(text):
    """``text`` with "a" made "an" before a vowel sound: "a eight" -> "an eight" ("a one": one starts with a w)."""
    words = text.split(" ")
    for i, (word, following) in enumerate(zip(words, words[1:])):
        if word == "a" and following[:1] in tuple("aeiou") and not following.startswith("one"):
            words[i] = "an"
    return " ".join(words)


def words(text):
    """The vocabulary words of a caption, in order: lower case, commas and full stops dropped, :data:`ALIASES` read."""
    return [ALIASES.get(w, w) for w in text.lower().replace(",", " ").replace(".", " ").split()]


def parse(text):
    """(digit, thickness class or None, slant class or None) named by a caption.

    Raises :class:`CaptionError` with one line for an unknown word (listing the vocabulary), a
    caption naming no digit, or one naming two digits, thicknesses or slants.
    """
    if not isinstance(text, str):
        raise CaptionError(f"a caption must be a string, got {type(text).__name__}")
    read = words(text)
    unknown = [w for w in read if w not in VOCABULARY]
    if unknown:
        raise CaptionError(f"unknown word {unknown[0]!r} in {text!r}; the vocabulary: {' '.join(VOCABULARY)} "
                           f"(and {', '.join(f'{k} for {v}' for k, v in ALIASES.items())})")
    found = []
    for name, options in (("digit", DIGITS), ("thickness", THICKNESS), ("slant", SLANTS)):
        named = sorted({options.index(w) for w in read if w in options})
        if len(named) > 1:
            raise CaptionError(f"{text!r} names more than one {name}: "
                               f"{', '.join(options[i] for i in named)}")
        found.append(named[0] if named else None)
    if found[0] is None:
        raise CaptionError(f"{text!r} names no digit: say one of {', '.join(DIGITS)}")
    return tuple(found)


def bag_of_words(texts):
    """(N, len(VOCABULARY)) float32: how often each vocabulary word occurs in each caption (the encoder's input)."""
    index = {w: i for i, w in enumerate(VOCABULARY)}
    out = np.zeros((len(texts), len(VOCABULARY)), np.float32)
    for row, text in enumerate(texts):
        parse(text)                                        # one clear line for a caption it cannot read
        for w in words(text):
            out[row, index[w]] += 1
    return out


@dataclass
class CaptionData:
    """One split: images (N, 1, 28, 28) in [-1, 1], their digits, attribute classes and one caption each."""

    images: np.ndarray
    labels: np.ndarray
    thickness: np.ndarray
    slant: np.ndarray
    captions: list
    held_out: np.ndarray           # True where (digit, thickness, slant) is in HELD_OUT


def is_held_out(labels, t, s):
    """True where the combination is one of :data:`HELD_OUT`."""
    combos = set(HELD_OUT)
    return np.array([(int(d), int(a), int(b)) in combos for d, a, b in zip(labels, t, s)], dtype=bool)


def load(split="train", data_dir=None, limit=None):
    """The captioned digits of ``split``: training drops the :data:`HELD_OUT` combinations, test keeps all.

    Deterministic: each image's phrasing is drawn from a generator seeded by (SPLIT_SEED, split).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    images, labels = load_mnist(split, data_dir=data_dir, limit=limit)
    t, s = attributes(images)
    held = is_held_out(labels, t, s)
    if split == "train":
        images, labels, t, s, held = images[~held], labels[~held], t[~held], s[~held], held[~held]
    phrasing = np.random.default_rng([SPLIT_SEED, 0 if split == "train" else 1]).integers(0, len(PHRASINGS),
                                                                                         len(labels))
    texts = [caption(d, a, b, k) for d, a, b, k in zip(labels, t, s, phrasing)]
    return CaptionData(images, labels, t, s, texts, held)
