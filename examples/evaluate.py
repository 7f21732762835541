"""Judge a trained model with minigan.metrics: FID, classifier score, digit histogram, and the real-data floor.

    python examples/evaluate.py runs/mlp_gan                 # the run's own numbers, recomputed
    python examples/evaluate.py runs/dcgan --n 5000 --seed 1 # other samples, other size
    python examples/evaluate.py runs/pix2pix --n 1000        # a translator: the first 1000 test images

With the defaults (--n as the run's eval_samples, --seed 0) it draws the very
samples the training run scored at its end, so it prints the run's own
metrics.json numbers. Writes RUN/metrics_eval.json (or --out).
"""
import os
import sys

from minigan.data import DataError
from minigan.metrics import ClassifierWeightsError, progress
from minigan.training.cli import check_output, load_or_exit, positive_int, run_folder, seed_int, tool_parser
from minigan.training.run import write_json
from minigan.translation.translator import TEST_IMAGES, Translator


def main(argv=None):
    p = tool_parser(__doc__)
    p.add_argument("--n", type=positive_int, default=None, help="number of samples (unset: the run's eval_samples)")
    p.add_argument("--seed", type=seed_int, default=0, help="0: the training run's own samples; others: fresh ones")
    p.add_argument("--data-dir", default=None, help="folder holding the MNIST files (unset: the run's, "
                                                     "else $MINIGAN_DATA_DIR, ~/.cache/minigan/mnist)")
    p.add_argument("--out", default=None, help="JSON file (unset: RUN/metrics_eval.json)")
    args = p.parse_args(argv)
    if args.data_dir is not None and not os.path.isdir(args.data_dir):
        p.error(f"--data-dir {args.data_dir!r}: must be an existing folder")
    out = args.out or os.path.join(run_folder(args.run), "metrics_eval.json")
    check_output(p, "--out", out, (".json",))  # before the minutes of work, not after
    model = load_or_exit(args.run, args.backend)
    n = args.n or model.cfg.eval_samples
    if n < 10:
        p.error(f"--n {n}: the score needs at least 10 samples")
    translator = isinstance(model, Translator)
    if translator and args.seed:
        p.error(f"--seed {args.seed}: a translator is scored on the first --n test images, a fixed set; drop --seed")
    if translator and n > TEST_IMAGES:
        p.error(f"--n {n}: a translator is scored on the test images, {TEST_IMAGES} at most")
    if args.data_dir is not None or (model.cfg.data_dir and not os.path.isdir(model.cfg.data_dir)):
        model.cfg.data_dir = args.data_dir  # the run's own folder may be gone: fall back to the default search
    try:
        with progress(None, "evaluating"):   # on a terminal, a bar counting the images the classifier reads
            report = model.evaluate(n) if translator else model.evaluate(n, seed=args.seed)
    except (DataError, ClassifierWeightsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted; nothing written to {out}", file=sys.stderr)
        return 130
    print(model.format_report(report))
    if os.path.dirname(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
    write_json(out, report)
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
