"""What every image-to-image model shares: its task's data, translate(), the grids and the judging.

A translator learns G: A -> B (and, unpaired, F: B -> A) on one of the tasks of
``translation/data.py``. :class:`Translator` is the :class:`~minigan.training.model.Model`
every translator builds on, so a model module says only which networks it
builds and how its step goes (docs/pix2pix.md):

- its data: a paired task is one stream of (a, b) pairs, an unpaired one two
  streams shuffled on their own, so a batch is (a, b) either way and, unpaired,
  a[i] and b[i] are different digits;
- :meth:`Translator.translate`: images of the input domain in, the model's
  outputs out, each wrong input refused with one line;
- the grid: one test digit of each class per column; rows input, output, and
  the true counterpart (kept for scoring only, never trained on);
- the judging, on the first ``n`` test images in test-set order: does the
  classifier read the output as the digit it came from, FID against the target
  domain's test images, the L1 to the true counterpart, the mean stroke
  thickness beside the target domain's; on the rotated task, the correlation of
  the input's and the output's angle (``translation_data.orientation``).
"""
from dataclasses import dataclass

import numpy as np

from .. import metrics
from ..backend import to_device, to_numpy
from ..nn import is_array
from ..nn import evaluating
from ..training.config import OptimizerConfig, one_of, setting
from ..training.model import Model
from .data import TASKS, load_task, orientation, thickness

TEST_IMAGES = 10000
INPUT_SIZE = {"edges": 28, "thickness": 28, "rotated": 28, "superres": 7}   # the side of domain A's images
DIRECTIONS = {"a2b": ("a", "b"), "b2a": ("b", "a")}


class TranslationError(ValueError):
    """Input a translator cannot take (shape, type, direction); the message is one line."""


def _test_count(v):
    if not isinstance(v, int) or isinstance(v, bool) or not 10 <= v <= TEST_IMAGES:
        return f"must be an integer in [10, {TEST_IMAGES}] (the MNIST test images translated and scored)"


@dataclass
class TranslationConfig(OptimizerConfig):
    """What every translator's run shares; a model's Config narrows ``task`` to the tasks it runs."""

    task: str = setting("edges", "the image-to-image task (docs/translation_data.md)", one_of(*TASKS),
                        kind="structure")
    eval_samples: int = setting(TEST_IMAGES, "test images translated and scored at the end", _test_count,
                                kind="run")


class Translator(Model):
    """Base of the translators. Subclasses set ``paired`` and write ``__init__``, ``generators`` and ``step``."""

    paired = True                 # learns from pairs (pix2pix, SRGAN), or from two unpaired domains (CycleGAN)

    def __init__(self, cfg):
        super().__init__(cfg)
        self._test = None

    # ---- the data ---------------------------------------------------------------------------------
    @classmethod
    def training_streams(cls, cfg):
        data = load_task(cfg.task, "train", data_dir=cfg.data_dir, limit=cfg.limit, pairs=cls.paired)
        return [(data.a, data.b)] if data.paired else [(data.a,), (data.b,)]

    def example_batch(self, rng, n):
        side = INPUT_SIZE[self.cfg.task]
        return (rng.uniform(-1, 1, (n, 1, side, side)).astype(np.float32),
                rng.uniform(-1, 1, (n, 1, 28, 28)).astype(np.float32))

    def test_data(self):
        """The task's test split (loaded once): both domains in test-set order, with the true counterparts."""
        if self._test is None:
            self._test = load_task(self.cfg.task, "test", data_dir=self.cfg.data_dir)
        return self._test

    # ---- translating -------------------------------------------------------------------------------
    @property
    def directions(self):
        return ("a2b",) if self.paired else ("a2b", "b2a")

    def generators(self):
        """``{direction: G}``: the network that translates each way."""
        raise NotImplementedError

    def input_side(self, direction):
        return INPUT_SIZE[self.cfg.task] if direction == "a2b" else 28

    def check_input(self, x, direction):
        """One line saying what is wrong with ``x`` as this translator's input, or None."""
        if direction not in self.directions:
            if direction in DIRECTIONS:
                return (f"direction {direction!r}: the {self.name} model on the {self.cfg.task} task translates "
                        f"one way only, a2b")
            return f"direction {direction!r}: choose one of {', '.join(self.directions)}"
        side = self.input_side(direction)
        want = f"(N, 1, {side}, {side})"
        if not is_array(x):
            return f"the images must be a NumPy or CuPy array {want}, got {type(x).__name__}"
        if x.ndim != 4 or x.shape[1:] != (1, side, side) or len(x) == 0:
            return (f"images of shape {tuple(x.shape)}: the {self.cfg.task} task's {direction} input is {want} "
                    f"with N >= 1 (domain {DIRECTIONS[direction][0].upper()})")
        if x.dtype.kind != "f":
            return f"images of dtype {x.dtype}: give floats in [-1, 1]"
        return None

    def translate(self, x, direction="a2b", batch_size=500):
        """The outputs for images ``x`` of the input domain, as a NumPy float32 array in [-1, 1] (eval mode)."""
        problem = self.check_input(x, direction)
        if problem:
            raise TranslationError(problem)
        G = self.generators()[direction]
        out = []
        with evaluating(G):           # batchnorm's running statistics; dropout off
            for i in range(0, len(x), batch_size):
                part = to_device(np.asarray(to_numpy(x[i:i + batch_size]), _dtype_of(G)), self.cfg.backend)
                out.append(to_numpy(G(part)).astype(np.float32))
        return np.concatenate(out)

    # ---- pictures ------------------------------------------------------------------------------------
    def grid_columns(self):
        """One test image of each digit: the first of each class in test-set order."""
        labels = self.test_data().labels_a
        return np.array([int(np.argmax(labels == d)) for d in range(10)])

    def grid(self):
        """Rows, one test digit per column: input, output, true counterpart (per direction when unpaired)."""
        test, cols = self.test_data(), self.grid_columns()
        rows = []
        for direction in self.directions:
            src, _ = DIRECTIONS[direction]
            x = getattr(test, src)[cols]
            rows += [to_side(x, 28), self.translate(x, direction), getattr(test, f"{src}_counterpart")[cols]]
        return np.concatenate(rows), len(cols)

    # ---- judging --------------------------------------------------------------------------------------
    def evaluate(self, n):
        """Each direction's outputs on the first ``n`` test images: digit kept, FID, L1 to the true pair, thickness."""
        test = self.test_data()
        report = {"task": self.cfg.task, "n": n}
        for direction in self.directions:
            src, dst = DIRECTIONS[direction]
            x, truth = getattr(test, src)[:n], getattr(test, f"{src}_counterpart")[:n]
            labels = getattr(test, f"labels_{src}")[:n]
            y = self.translate(x, direction)
            report[direction] = judge(y, labels, truth, getattr(test, dst)[:n])
            if self.cfg.task == "rotated":   # does the output keep the input's angle? (the true pair: the ceiling)
                report[direction].update(orientation_r=pearson(orientation(x), orientation(y)),
                                         orientation_r_true_pair=pearson(orientation(x), orientation(truth)))
                # the digit kept, read by a judge trained on rotated digits (the upright one misreads the truth)
                judge_r = metrics.rotated_classifier()
                ceiling = metrics.digit_accuracy(truth, labels, classifier=judge_r)["overall"]
                report[direction].update(rotated_digit_accuracy=metrics.digit_accuracy(y, labels, classifier=judge_r),
                                         rotated_true_pair_digit_accuracy=ceiling)
        return report

    def format_report(self, report):
        lines = []
        for direction in self.directions:
            r = report[direction]
            acc = r["digit_accuracy"]
            lines.append(f"{direction}: digit kept {100 * acc['overall']:.2f}% (min over digits "
                         f"{100 * acc['min']:.1f}%; the true pairs: {100 * r['true_pair_digit_accuracy']:.2f}%)  "
                         f"FID {r['fid']:.2f}  score {r['score']:.2f}  L1 to the true pair {r['l1']:.4f}  "
                         f"thickness {r['thickness']:.2f} px (target domain {r['target_thickness']:.2f} px)")
            if "orientation_r" in r:
                lines[-1] += (f"  orientation kept r = {r['orientation_r']:.3f} (the true pairs: "
                              f"{r['orientation_r_true_pair']:.3f})")
            if "rotated_digit_accuracy" in r:
                rot = r["rotated_digit_accuracy"]
                lines[-1] += (f"  digit kept, judged by the rotation-trained classifier {100 * rot['overall']:.2f}% "
                              f"(min {100 * rot['min']:.1f}%; the true pairs: "
                              f"{100 * r['rotated_true_pair_digit_accuracy']:.2f}%)")
        return "\n".join(lines)


def judge(outputs, labels, truth, target_domain):
    """The numbers of one direction's outputs (NumPy, in [-1, 1]): against their labels, their true
    counterparts, and the target domain's test images (FID; the thickness beside theirs)."""
    samples = metrics.evaluate_samples(outputs, reference=target_domain)
    return dict(digit_accuracy=metrics.digit_accuracy(outputs, labels),
                true_pair_digit_accuracy=metrics.digit_accuracy(truth, labels)["overall"],   # the ceiling
                fid=samples["fid"], score=samples["score"],
                l1=float(np.abs(outputs - truth).mean()), thickness=float(thickness(outputs).mean()),
                target_thickness=float(thickness(target_domain).mean()))


def pearson(u, v):
    """Pearson's correlation coefficient of two equal-length samples (0 where one is constant)."""
    u, v = np.asarray(u, np.float64) - np.mean(u), np.asarray(v, np.float64) - np.mean(v)
    scale = np.sqrt((u * u).sum() * (v * v).sum())
    return float((u * v).sum() / scale) if scale else 0.0


def to_side(x, side):
    """Images enlarged by pixel repetition to ``side`` (the 7 x 7 inputs beside 28 x 28 outputs in a grid)."""
    k = side // x.shape[-1]
    return np.repeat(np.repeat(np.asarray(x), k, axis=2), k, axis=3) if k > 1 else np.asarray(x)


def _dtype_of(G):
    params = G.parameters()
    return params[0].data.dtype if params else np.float32
