"""Fingerprint every model's first training steps, to show that a change leaves the numbers alone.

    python scripts/fingerprint.py > before.jsonl     # on the commit before a change
    python scripts/fingerprint.py > after.jsonl      # on the commit after it
    diff before.jsonl after.jsonl                    # no output: bit-identical weights and logs

Each line is one setup (a model and some flags): a SHA-256 of every weight of every
module after three steps on 256 MNIST images (batch 32), their sums, and the last row of
the log. A refactor that claims not to change any result must leave every line as it was;
``python scripts/fingerprint.py "cgan --arch dcgan"`` runs one setup.
"""
import hashlib
import json
import os
import sys
import tempfile
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from minigan import cli  # noqa: E402
from minigan.config import ConfigError  # noqa: E402
from minigan.data import DataError  # noqa: E402
from minigan.run import Run  # noqa: E402

SETUPS = [
    ("mlp", []), ("mlp", ["--anchor"]), ("mlp", ["--r1", "10", "--r1-every", "2", "--d-dropout", "0"]),
    ("mlp", ["--lr-decay", "linear", "--spectral-norm"]),
    ("dcgan", []), ("dcgan", ["--anchor"]),
    ("cgan", []), ("cgan", ["--arch", "dcgan"]), ("cgan", ["--label", "embedding"]),
    ("wgan", []), ("wgan", ["--arch", "mlp"]),
    ("wgan_gp", []), ("wgan_gp", ["--d-norm", "layer"]),
    ("infogan", []), ("vae", []),
]


def fingerprint(name, flags):
    with tempfile.TemporaryDirectory() as folder:
        argv = flags + ["--limit", "256", "--batch-size", "32", "--epochs", "1", "--max-steps", "3", "--no-eval",
                        "--no-progress", "--out", os.path.join(folder, "run"), "--sample-every", "100000"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run = Run(cli.config_from_args(name, cli.train_parser(name).parse_args(argv)))
            run.train()
        digest, sums = hashlib.sha256(), {}
        for module_name, module in sorted(run.task.modules().items()):
            arrays = [np.ascontiguousarray(np.asarray(p.data)) for p in module.parameters()]
            for a in arrays:
                digest.update(a.tobytes())
            sums[module_name] = round(sum(float(a.astype(np.float64).sum()) for a in arrays), 6)
        with open(os.path.join(folder, "run", "log.csv")) as f:
            last = f.read().splitlines()[-1].split(",")[:-1]          # without the time column
    return dict(key=" ".join([name] + flags), sha=digest.hexdigest()[:16], sums=sums, log_last=",".join(last))


def main(argv):
    known = {" ".join([n] + f): (n, f) for n, f in SETUPS}
    unknown = [k for k in argv if k not in known]
    if unknown:
        print(f"error: unknown setup {unknown[0]!r}; the setups are: " + "; ".join(known), file=sys.stderr)
        return 2
    for key in argv or known:
        try:
            print(json.dumps(fingerprint(*known[key])), flush=True)
        except (ConfigError, DataError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
