"""Train one configuration and score it at chosen epochs: a row of an ablation table (docs/tuning.md).

    python scripts/ablate.py dcgan r1 -- --r1 5 --d-norm none          # the flags of examples/train_dcgan.py
    python scripts/ablate.py dcgan base --epochs-at 1,2,3,5 --seed 1 --

Runs examples/train_<model>.py's configuration (its tuned settings, then the
flags after ``--``) for the last of ``--epochs-at`` epochs into
runs/ablate/<model>/<name>/, and at the end of each epoch listed scores the
samples with minigan.metrics (5,000 samples part-way, 10,000 at the end, as in
docs/tuning.md). Scoring draws from its own seeded stream (the run's
``generate``), so it does not change the training: the run is the same as
one without the scores. Results go to <folder>/ablate.json and one printed
line per epoch. Long: run it through a CPU queue.
"""
import argparse
import json
import os
import sys
import time

from minigan import metrics
from minigan.cli import config_from_args, train_parser
from minigan.run import Run


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("name", help="the row's name (and its folder)")
    p.add_argument("--epochs-at", default="1,2,3,5", help="epochs to score at; the run trains to the last")
    p.add_argument("--partial", type=int, default=5000, help="samples scored part-way")
    p.add_argument("--final", type=int, default=10000, help="samples scored at the last epoch")
    p.add_argument("--seed", type=int, default=0)
    argv = sys.argv[1:]
    own, flags = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    args = p.parse_args(own)
    at = sorted(int(e) for e in args.epochs_at.split(","))
    out = os.path.join("runs", "ablate", args.model, args.name)
    cfg = config_from_args(args.model, train_parser(args.model).parse_args(
        flags + ["--epochs", str(at[-1]), "--seed", str(args.seed), "--out", out, "--no-eval", "--no-progress"]))
    run = Run(cfg, overwrite=True)
    rows, start = [], time.perf_counter()

    def score(r, stats):
        if r.batch_in_epoch != r.batches_per_epoch or (r.epoch + 1) not in at:
            return
        epoch = r.epoch + 1
        n = args.final if epoch == at[-1] else args.partial
        report = metrics.evaluate_samples(r.task.generate(n), data_dir=cfg.data_dir)
        row = dict(epoch=epoch, step=r.step, n=n, score=report["score"], fid=report["fid"],
                   histogram=report["histogram"], train_seconds=round(r.elapsed_seconds(), 1))
        rows.append(row)
        hist = " ".join(f"{100 * h:.1f}" for h in report["histogram"])
        print(f"{args.name} seed {args.seed} epoch {epoch}: score {row['score']:.2f} FID {row['fid']:.1f} "
              f"digits {hist} ({row['train_seconds']:.0f} s of training)", flush=True)
        with open(os.path.join(out, "ablate.json"), "w") as f:
            json.dump(dict(name=args.name, flags=flags, seed=args.seed, rows=rows), f, indent=1)

    run.train(callback=score)
    print(f"{args.name}: done in {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
