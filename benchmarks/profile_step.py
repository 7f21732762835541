"""Where the time of one training step goes: cProfile of a registered model's step, by function.

    python benchmarks/profile_step.py dcgan            # batch 64, 20 steps after 3 warm-up steps
    python benchmarks/profile_step.py mlp --batch 256
    python benchmarks/profile_step.py dcgan --tuned    # the example's settings (EMA, D's hidden layer, ...)

Any model of the registry (minigan/models/) can be profiled: it is built
exactly as a training run builds it, and its step is the run's step.
Threads: set OPENBLAS_NUM_THREADS / OMP_NUM_THREADS before running, as for bench.py.
"""
import cProfile
import os
import pstats
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's minigan
from minigan import models  # noqa: E402
from minigan.backend import BackendError  # noqa: E402
from minigan.training.cli import Parser, int_at_least, positive_int  # noqa: E402
from minigan.training.config import ConfigError, validate  # noqa: E402


def main(argv=None):
    p = Parser(description=__doc__.splitlines()[0])
    p.add_argument("model", choices=models.names())
    p.add_argument("--batch", type=int_at_least(2), default=64)
    p.add_argument("--steps", type=positive_int, default=20)
    p.add_argument("--top", type=positive_int, default=15)
    p.add_argument("--tuned", action="store_true", help="the example's tuned settings instead of the textbook ones")
    args = p.parse_args(argv)
    model_cls = models.get(args.model)
    settings = dict(model_cls.tuned) if args.tuned else {}
    try:
        model = model_cls(validate(model_cls.Config(batch_size=args.batch, **settings)))
    except (ConfigError, BackendError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rng = np.random.default_rng(0)

    def batches():
        return [model.example_batch(rng, args.batch) for _ in range(model.batches_per_step)]

    data = batches()
    for _ in range(3):
        model.step(data)
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    for _ in range(args.steps):
        model.step(data)
    profile.disable()
    ms = (time.perf_counter() - start) / args.steps * 1000
    print(f"{args.model}, batch {args.batch}: {ms:.1f} ms per step (with the profiler on)\n")
    pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
