"""Train one configuration and score it at chosen epochs: a row of an ablation table (docs/tuning.md).

    python scripts/ablate.py dcgan r1 -- --r1 5 --d-norm none          # the flags of examples/train_dcgan.py
    python scripts/ablate.py dcgan base --epochs-at 1,2,3,5 --seed 1 --

Runs examples/train_<model>.py's configuration (its tuned settings, then the
flags after ``--``) for the last of ``--epochs-at`` epochs into
runs/ablate/<model>/<name>-seed<seed>/ (one folder per seed, so the seeds of a
row sit side by side), and at the end of each epoch listed scores the
samples with minigan.metrics (5,000 samples part-way, 10,000 at the end, as in
docs/tuning.md). Scoring draws from its own seeded stream (the run's
``generate``), so it does not change the training: the run is the same as
one without the scores. Results go to <folder>/ablate.json and one printed
line per epoch. A folder that holds a run is never replaced unless
``--overwrite`` says so; ``--resume`` continues it (its scores kept). Long:
run it through a CPU queue.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from minigan import metrics, models  # noqa: E402
from minigan.backend import BackendError  # noqa: E402
from minigan.data import DataError  # noqa: E402
from minigan.training.cli import Parser, config_from_args, positive_int, seed_int, train_parser  # noqa: E402
from minigan.training.config import ConfigError  # noqa: E402
from minigan.training.run import CHECKPOINT, NonFiniteLossError, Run, RunError, read_meta  # noqa: E402


def epoch_list(text):
    """argparse type: epochs as 1,2,3,5 (integers >= 1), returned sorted."""
    try:
        at = sorted({int(e) for e in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected epochs as integers separated by commas, e.g. 1,2,3,5, "
                                         f"got {text!r}") from None
    if at[0] < 1:
        raise argparse.ArgumentTypeError(f"expected epochs >= 1, got {text!r}")
    return at


def main(argv=None):
    p = Parser(description=__doc__.splitlines()[0])
    p.add_argument("model", choices=models.names())
    p.add_argument("name", help="the row's name (its folder is runs/ablate/MODEL/NAME-seedSEED)")
    p.add_argument("--epochs-at", type=epoch_list, default="1,2,3,5",
                   help="epochs to score at; the run trains to the last")
    p.add_argument("--partial", type=positive_int, default=5000, help="samples scored part-way")
    p.add_argument("--final", type=positive_int, default=10000, help="samples scored at the last epoch")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace the run (and scores) already in the folder")
    p.add_argument("--resume", action="store_true", help="continue the run in the folder, keeping its scores")
    argv = sys.argv[1:] if argv is None else list(argv)
    own, flags = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    args = p.parse_args(own)
    for flag in ("--partial", "--final"):
        if getattr(args, flag[2:]) < 10:
            p.error(f"{flag} {getattr(args, flag[2:])}: the score needs at least 10 samples")
    at = args.epochs_at
    out = os.path.join("runs", "ablate", args.model, f"{args.name}-seed{args.seed}")
    train_args = train_parser(args.model).parse_args(  # a bad flag after -- ends here in one line
        flags + ["--epochs", str(at[-1]), "--seed", str(args.seed), "--out", out, "--no-eval", "--no-progress"])
    scores = os.path.join(out, "ablate.json")
    if os.path.exists(os.path.join(out, CHECKPOINT)) and not (args.resume or args.overwrite):
        p.error(f"{out} already holds the run of {args.name!r} with seed {args.seed}: continue it with --resume, "
                "replace it with --overwrite, or give another name or --seed")
    rows = []
    try:
        cfg = config_from_args(args.model, train_args)
        run = Run(cfg, resume=args.resume, overwrite=args.overwrite)
        if args.resume and os.path.exists(scores):
            done = read_meta(run.checkpoint_path())["epoch"]  # the scores of the epochs the checkpoint holds
            with open(scores) as f:
                rows = [r for r in json.load(f)["rows"] if r["epoch"] <= done]
        elif args.overwrite and os.path.exists(scores):
            os.remove(scores)
    except (ConfigError, BackendError, DataError, RunError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {scores} is unreadable ({type(exc).__name__}: {exc}); --overwrite starts the row afresh",
              file=sys.stderr)
        return 2
    start = time.perf_counter()

    def score(r, stats):
        if r.batch_in_epoch != r.batches_per_epoch or (r.epoch + 1) not in at:
            return
        epoch = r.epoch + 1
        n = args.final if epoch == at[-1] else args.partial
        report = metrics.evaluate_samples(r.model.generate(n), data_dir=cfg.data_dir)
        row = dict(epoch=epoch, step=r.step, n=n, score=report["score"], fid=report["fid"],
                   histogram=report["histogram"], train_seconds=round(r.elapsed_seconds(), 1))
        rows.append(row)
        hist = " ".join(f"{100 * h:.1f}" for h in report["histogram"])
        print(f"{args.name} seed {args.seed} epoch {epoch}: score {row['score']:.2f} FID {row['fid']:.1f} "
              f"digits {hist} ({row['train_seconds']:.0f} s of training)", flush=True)
        with open(scores, "w") as f:
            json.dump(dict(name=args.name, flags=flags, seed=args.seed, rows=rows), f, indent=1)

    try:
        status = run.train(callback=score)
    except (NonFiniteLossError, RunError, DataError, metrics.ClassifierWeightsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"aborted; the last checkpoint is at {run.checkpoint_path()}", file=sys.stderr)
        return 130
    if status == "interrupted":
        print(f"{args.name}: interrupted at step {run.step}; continue with the same command and --resume", flush=True)
        return 130
    print(f"{args.name}: done in {time.perf_counter() - start:.0f} s -> {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
