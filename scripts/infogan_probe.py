"""Train InfoGAN and print, every few hundred steps, how well its categorical code names the digits so far.

    python scripts/infogan_probe.py --seed 1 --lambda-cont 3 --max-steps 2000 --no-eval --out runs/probe/s1
    python scripts/infogan_probe.py --every 250 -- ...      # (any flag of examples/train_infogan.py)

The training is examples/train_infogan.py's, flag for flag (its tuned defaults,
then the flags given); ``--every N`` (default 500) adds one JSON line every N
steps: the matched accuracy and digits matched of 2,000 samples drawn from
their own seeded stream, from the weight-averaged G ("ema") and the live G
("live"), and the code -> digit map. The probe only reads G, so the run is the
one the example would make. docs/tuning.md's InfoGAN table was made with it.
"""
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from minigan import metrics  # noqa: E402
from minigan.backend import (
    BackendError,  # noqa: E402
    to_numpy,  # noqa: E402
)
from minigan.data import DataError  # noqa: E402
from minigan.training.cli import config_from_args, int_at_least, train_parser  # noqa: E402
from minigan.training.config import ConfigError  # noqa: E402
from minigan.training.run import NonFiniteLossError, Run, RunError  # noqa: E402

PROBE_SAMPLES = 2000


def probe(model, step, backend):
    """Matched accuracy of the categorical code on PROBE_SAMPLES samples, averaged G and live G."""
    latent = model.prior.sample(PROBE_SAMPLES, np.random.default_rng([99, step]), backend)
    codes = to_numpy(latent[1])
    row = dict(step=step)
    for name in ("ema", "live"):
        saved = model.ema
        if name == "live":
            model.ema = None                                     # sample() then runs the live G in eval mode
        try:
            images = to_numpy(model.sample(latent))
        finally:
            model.ema = saved
        found = metrics.matched_accuracy(codes, metrics.classifier_outputs(images)[1].argmax(axis=1))
        row[name] = [round(found["accuracy"], 3), found["digits_matched"]]
        row[f"{name}_map"] = "".join(str(d) for d in found["code_to_digit"])
    return row


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    every = 500
    if "--every" in argv:
        i = argv.index("--every")
        every = int_at_least(1)(argv[i + 1]) if i + 1 < len(argv) else train_parser("infogan").error("--every N")
        del argv[i:i + 2]
    argv = [a for a in argv if a != "--"]
    args = train_parser("infogan").parse_args(argv)
    start = time.time()

    def callback(r, stats):
        if r.step % every == 0:
            print(json.dumps(dict(probe(r.model, r.step, r.cfg.backend), seconds=round(time.time() - start))),
                  flush=True)

    try:
        cfg = config_from_args("infogan", args)
        Run(cfg, resume=args.resume, overwrite=args.overwrite).train(callback=callback)
    except (ConfigError, BackendError, DataError, RunError, NonFiniteLossError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
