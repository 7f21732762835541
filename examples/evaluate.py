"""Judge a trained generator with minigan.metrics: FID, classifier score, digit histogram.

    python examples/evaluate.py runs/mlp_gan                 # 10000 samples vs the MNIST test set
    python examples/evaluate.py runs/dcgan --n 5000 --floor  # also real training images, the floor

Prints the numbers and writes them to RUN/metrics_eval.json (or --out).
"""
import argparse
import json
import os
import sys

import numpy as np

from minigan import metrics
from minigan.backend import to_device, to_numpy
from minigan.training import load_generator


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="a run folder or its checkpoint.npz")
    p.add_argument("--n", type=int, default=10000, help="number of samples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=["numpy", "cupy"], default="numpy")
    p.add_argument("--floor", action="store_true", help="also score n real training images")
    p.add_argument("--out", default=None, help="JSON file (default: RUN/metrics_eval.json)")
    args = p.parse_args(argv)
    try:
        G, cfg = load_generator(args.run, backend=args.backend)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    rng = np.random.default_rng(args.seed)
    samples = []
    for i in range(0, args.n, 500):
        z = rng.standard_normal((min(500, args.n - i), cfg.resolved_z_dim())).astype(np.float32)
        samples.append(to_numpy(G(to_device(z, args.backend))))
    report = {"samples": metrics.evaluate_samples(np.concatenate(samples))}
    if args.floor:
        report["real_floor"] = metrics.real_floor(args.n)
    for name, r in report.items():
        print(metrics.format_report(name, r))
    folder = args.run if os.path.isdir(args.run) else os.path.dirname(args.run)
    out = args.out or os.path.join(folder, "metrics_eval.json")
    with open(out, "w") as f:
        json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
