"""Train the MNIST classifier behind minigan.metrics and write its weights.

    MINIGAN_DATA_DIR=/path/to/mnist python scripts/train_classifier.py
    python scripts/train_classifier.py --task rotated    # the rotated task's judge (metrics.ROTATED_WEIGHTS)

minigan only (Adam, SoftmaxCrossEntropy, hand-written backward passes); seeded,
so a rerun gives the same weights on the same machine. The weights are stored as
float16 with savez_compressed (about 1 MB) and written atomically: the file is
replaced only once it is complete, and only if the test accuracy reaches
--min-accuracy. ``metrics.load_classifier`` casts them back to float32.

``--task rotated`` trains the same network on the rotated translation task's
training digits, both domains (rotated thin and rotated thick, 60,000 in all,
each with its own angle in [-45, 45] degrees), and tests it on that task's test
digits: the classifier trained on upright digits reads only 81-86% of those
correctly, so it cannot tell whether a translation kept the digit.
"""
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from minigan import metrics  # noqa: E402
from minigan.data import DataError, batches, load_mnist  # noqa: E402
from minigan.nn import (
    init,
    save_npz_atomic,  # noqa: E402
)
from minigan.nn.losses import SoftmaxCrossEntropy  # noqa: E402
from minigan.nn.optim import Adam  # noqa: E402
from minigan.training.cli import Parser, check_output, fraction, positive_float, positive_int, seed_int  # noqa: E402
from minigan.translation.data import load_task  # noqa: E402


def accuracy(model, images, labels):
    """Fraction of images whose most probable class is the label (model run in eval mode)."""
    probs = metrics.classifier_outputs(images, model)[1]
    return float((probs.argmax(axis=1) == labels).mean())


def both_domains(data):
    """(images, labels) of a translation task's split: domain A's digits, then domain B's."""
    return np.concatenate([data.a, data.b]), np.concatenate([data.labels_a, data.labels_b])


def main(argv=None):
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=positive_int, default=None, help="default 3; 6 for --task rotated")
    parser.add_argument("--batch-size", type=positive_int, default=128)
    parser.add_argument("--lr", type=positive_float, default=1e-3)
    parser.add_argument("--lr-decay", type=fraction, default=None,
                        help="learning rate factor after each epoch (default 0.3; 0.5 for --task rotated)")
    parser.add_argument("--seed", type=seed_int, default=0)
    parser.add_argument("--task", choices=("mnist", "rotated"), default="mnist",
                        help="the digits to learn: MNIST as it is, or the rotated translation task's (both domains)")
    parser.add_argument("--out", default=None, help="default: metrics.WEIGHTS, or metrics.ROTATED_WEIGHTS for "
                                                    "--task rotated")
    parser.add_argument("--min-accuracy", type=fraction, default=None,
                        help="do not write the weights if the test accuracy is lower (default 0.99; 0.98 rotated)")
    parser.add_argument("--data-dir", default=None, help="folder holding the MNIST files (default: "
                                                         "$MINIGAN_DATA_DIR, ~/.cache/minigan/mnist)")
    args = parser.parse_args(argv)
    if args.data_dir is not None and not os.path.isdir(args.data_dir):
        parser.error(f"--data-dir {args.data_dir!r}: must be an existing folder")
    rotated = args.task == "rotated"
    if args.out is None:
        args.out = str(metrics.ROTATED_WEIGHTS if rotated else metrics.WEIGHTS)
    if args.min_accuracy is None:
        args.min_accuracy = 0.98 if rotated else 0.99
    if args.epochs is None:                      # rotated digits are harder: more epochs, a slower decay
        args.epochs = 6 if rotated else 3
    if args.lr_decay is None:
        args.lr_decay = 0.5 if rotated else 0.3
    check_output(parser, "--out", args.out, (".npz",))

    start = time.time()
    try:
        if rotated:
            x_train, y_train = both_domains(load_task("rotated", "train", data_dir=args.data_dir))
            x_test, y_test = both_domains(load_task("rotated", "test", data_dir=args.data_dir))
        else:
            x_train, y_train = load_mnist("train", data_dir=args.data_dir)
            x_test, y_test = load_mnist("test", data_dir=args.data_dir)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.batch_size > len(x_train):
        parser.error(f"--batch-size {args.batch_size}: more than the {len(x_train)} training images")
    init.seed(args.seed)
    model = metrics.mnist_classifier(seed=args.seed)
    loss_fn, opt = SoftmaxCrossEntropy(), Adam(model.parameters(), lr=args.lr)

    for epoch in range(args.epochs):
        model.train()
        steps = len(x_train) // args.batch_size
        bar = tqdm(batches(x_train, y_train, args.batch_size, rng=args.seed + epoch), total=steps,
                   desc=f"epoch {epoch + 1}/{args.epochs} lr {opt.lr:.1e}", mininterval=5)
        for i, (x, y) in enumerate(bar):
            opt.zero_grad()
            loss, dlogits = loss_fn(model(x), y)
            model.backward(dlogits)
            opt.step()
            if i % 50 == 0:
                bar.set_postfix(loss=f"{float(loss):.4f}")
        opt.lr *= args.lr_decay
        print(f"epoch {epoch + 1}: test accuracy {accuracy(model, x_test, y_test):.4f} "
              f"({time.time() - start:.0f} s)", flush=True)

    # Evaluate exactly what gets saved: float16 weights, cast back to float32.
    state = {k: v.astype(np.float16) for k, v in model.state_dict().items()}
    saved = metrics.mnist_classifier().load_state_dict(state).eval()
    acc = accuracy(saved, x_test, y_test)
    print(f"test accuracy with float16 weights: {acc:.4f}; wall time {time.time() - start:.0f} s")
    if acc < args.min_accuracy:
        print(f"below --min-accuracy {args.min_accuracy}: {args.out} left unchanged", file=sys.stderr)
        return 1
    save_npz_atomic(args.out, state, compressed=True)
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
