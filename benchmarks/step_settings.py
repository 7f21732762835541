"""What a model's settings cost per training step: the example's defaults against the textbook anchor.

    python benchmarks/step_settings.py dcgan                          # the example's defaults vs --anchor
    python benchmarks/step_settings.py dcgan --with "--mbstd 4" --with "--r1 5 --d-norm none"
    python benchmarks/step_settings.py dcgan --threads 1 --rounds 9

Each setting's step (one D step and one G step on a batch, as ``Run`` calls
it, R1 and EMA included) is timed in alternating blocks over several rounds
(``timing.py``); the table shows ms per step (median over rounds, min-max) and
the ratio to the anchor's step, round by round. No PyTorch needed. bench.py
times the anchor's step against PyTorch; this script says what the example's
choices add to it.
"""
import os
import sys

if __name__ == "__main__":  # NumPy reads the thread count when it is imported
    for i, a in enumerate(sys.argv):
        if a == "--threads" and i + 1 < len(sys.argv):
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ[var] = sys.argv[i + 1]

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import alternate, ratio_spread, spread  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's minigan
from minigan import models, to_device  # noqa: E402
from minigan.backend import BackendError  # noqa: E402
from minigan.training.cli import (Parser, config_from_args, int_at_least, nonnegative_float,  # noqa: E402
                                  positive_int, train_parser)
from minigan.training.config import ConfigError  # noqa: E402


def step_fn(name, flags, batch, backend):
    """A zero-argument function running one training step of model ``name`` with these command-line flags."""
    model_cls = models.get(name)
    cfg = config_from_args(name, train_parser(name).parse_args(
        flags + ["--batch-size", str(batch), "--backend", backend, "--out", "unused"]))
    model = model_cls(cfg)
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (cfg.d_steps * batch, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, cfg.d_steps * batch)
    batches = [(to_device(x, backend), to_device(y, backend))
               for x, y in zip(np.split(real, cfg.d_steps), np.split(labels, cfg.d_steps))]
    conditional = getattr(model.prior, "conditional", False)
    batches = [(x, y if conditional else None) for x, y in batches]

    return lambda: model.step(batches)


def main(argv=None):
    p = Parser(description=__doc__.splitlines()[0])
    p.add_argument("model", choices=models.names())
    p.add_argument("--with", dest="extra", action="append", default=[], metavar="FLAGS",
                   help="another setting to time, as the example's flags in one string (repeatable)")
    p.add_argument("--batch", type=int_at_least(2), default=64)
    p.add_argument("--rounds", type=positive_int, default=7)
    p.add_argument("--block-s", type=nonnegative_float, default=1.0, help="seconds per block of steps")
    p.add_argument("--threads", type=positive_int, default=None, help="BLAS threads (set before NumPy loads)")
    p.add_argument("--backend", default="numpy", choices=("numpy", "cupy"))
    args = p.parse_args(argv)
    settings = [("anchor (--anchor)", ["--anchor"]), ("example's defaults", [])]
    settings += [(flags, flags.split()) for flags in args.extra]
    try:  # a bad flag in --with ends in one line from the example's parser; a bad value here
        fns = [step_fn(args.model, flags, args.batch, args.backend) for _, flags in settings]
    except (ConfigError, BackendError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sync = lambda: None  # noqa: E731
    if args.backend == "cupy":
        import cupy
        sync = cupy.cuda.Device().synchronize
    ms = alternate(fns, rounds=args.rounds, block_s=args.block_s, sync=sync)
    threads = os.environ.get("OMP_NUM_THREADS", "default")
    print(f"{args.model}, batch {args.batch}, backend {args.backend}, BLAS threads {threads}, "
          f"{args.rounds} rounds of alternating blocks\n")
    print("| setting | ms per step (median, min-max) | / anchor (median, min-max) |")
    print("| --- | --- | --- |")
    for (label, _), times in zip(settings, ms):
        s, r = spread(times), ratio_spread(times, ms[0])
        print(f"| {label} | {s.median:.1f} ({s.min:.1f}-{s.max:.1f}) | {r.median:.2f}x ({r.min:.2f}-{r.max:.2f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
