"""Fingerprint every model's first training steps, to show that a change leaves the numbers alone.

    python scripts/fingerprint.py > before.jsonl     # on the commit before a change
    python scripts/fingerprint.py > after.jsonl      # on the commit after it
    diff before.jsonl after.jsonl                    # no output: bit-identical weights and logs

Each line is one setup (a model and some flags): a SHA-256 of every weight of every
module after three steps on 256 MNIST images (batch 32), their sums, and the last row of
the log. A refactor that claims not to change any result must leave every line as it was;
``python scripts/fingerprint.py "cgan --arch dcgan"`` runs one setup.

    python scripts/fingerprint.py --check scripts/fingerprint.jsonl              # bit for bit
    python scripts/fingerprint.py --check scripts/fingerprint.jsonl --rtol 1e-3  # the sums and log, to 1e-3

``--check`` compares with lines written before and names the models whose
numbers moved. scripts/fingerprint.jsonl is recorded at the commit README's
results table names: while its check passes bit for bit, README's rows still
hold on this machine (another CPU's BLAS may round differently: then
``--rtol`` says whether only the rounding differs). When it fails, the rows of
the models it names are to be re-measured (``scripts/results.py``) or marked
stale, and the file recorded again (docs/results.md).
"""
import hashlib
import json
import os
import sys
import tempfile
import warnings

# Run as a script: one BLAS thread and one fast-path thread, set before NumPy loads. How many threads
# split a matrix product changes its rounding, and Adam's first steps carry a near-zero gradient's
# rounding into the weights, so a fingerprint repeats only at a fixed thread count (README's rows use one).
if __name__ == "__main__":
    for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "MINIGAN_THREADS"):
        os.environ[_name] = "1"

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from minigan.data import DataError  # noqa: E402
from minigan.training import cli  # noqa: E402
from minigan.training.config import ConfigError  # noqa: E402
from minigan.training.run import Run  # noqa: E402

SETUPS = [
    ("mlp", []), ("mlp", ["--anchor"]), ("mlp", ["--r1", "10", "--r1-every", "2", "--d-dropout", "0"]),
    ("mlp", ["--lr-decay", "linear", "--spectral-norm"]),
    ("dcgan", []), ("dcgan", ["--anchor"]),
    ("cgan", []), ("cgan", ["--arch", "dcgan"]), ("cgan", ["--label", "embedding"]),
    ("wgan", []), ("wgan", ["--arch", "mlp"]),
    ("wgan_gp", []), ("wgan_gp", ["--d-norm", "layer"]),
    ("infogan", []), ("vae", []),
    ("pix2pix", []), ("pix2pix", ["--loss", "l1"]), ("cyclegan", []), ("cyclegan", ["--anchor"]), ("discogan", []),
    ("srgan", ["--pretrain-epochs", "0"]), ("srgan", ["--content", "mse", "--adversarial", "0"]),
    ("lapgan", []), ("lapgan", ["--conditional"]), ("stackgan", []), ("stackgan", ["--stage", "1"]),
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
        for module_name, module in sorted(run.model.modules().items()):
            arrays = [np.ascontiguousarray(np.asarray(p.data)) for p in module.parameters()]
            for a in arrays:
                digest.update(a.tobytes())
            sums[module_name] = round(sum(float(a.astype(np.float64).sum()) for a in arrays), 6)
        with open(os.path.join(folder, "run", "log.csv")) as f:
            last = f.read().splitlines()[-1].split(",")[:-1]          # without the time column
    return dict(key=" ".join([name] + flags), sha=digest.hexdigest()[:16], sums=sums, log_last=",".join(last))


def differs(old, new, rtol):
    """'' when ``new`` matches the recorded ``old`` (bit for bit, or to ``rtol`` in its sums and log), else why not."""
    if rtol is None:
        return "" if old["sha"] == new["sha"] else f"weights' SHA-256 {new['sha']} (recorded {old['sha']})"
    close = lambda a, b: abs(a - b) <= rtol * max(abs(a), abs(b)) + 1e-9  # noqa: E731
    for name in sorted(set(old["sums"]) | set(new["sums"])):
        a, b = old["sums"].get(name), new["sums"].get(name)
        if a is None or b is None or not close(a, b):
            return f"sum of {name}'s weights {b} (recorded {a})"
    a, b = old["log_last"].split(","), new["log_last"].split(",")
    if len(a) != len(b) or not all(close(float(x), float(y)) for x, y in zip(a, b)):
        return f"the log's last row {new['log_last']} (recorded {old['log_last']})"
    return ""


def check(path, rtol):
    """Every setup against the lines recorded in ``path``; exit status 1 when a model's numbers moved."""
    try:
        with open(path) as f:
            recorded = {line["key"]: line for line in map(json.loads, filter(str.strip, f))}
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {path}: cannot read the recorded fingerprints ({exc})", file=sys.stderr)
        return 2
    moved = []
    for name, flags in SETUPS:
        key = " ".join([name] + flags)
        if key not in recorded:
            print(f"{key}: not recorded in {path}")
            moved.append(name)
            continue
        try:
            why = differs(recorded[key], fingerprint(name, flags), rtol)
        except (ConfigError, DataError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"{key}: {'same' if not why else 'differs: ' + why}", flush=True)
        if why:
            moved.append(name)
    if moved:
        names = ", ".join(sorted(set(moved)))
        print(f"the numbers of {names} moved: re-measure their README rows (python scripts/results.py MODEL --seed S) "
              f"or mark them stale, and record {path} again (docs/results.md)")
        return 1
    print(f"every setup matches {path}" + (" bit for bit" if rtol is None else f" to {rtol:g}"))
    return 0


def main(argv):
    if "--check" in argv:
        i = argv.index("--check")
        rtol = None
        if "--rtol" in argv:
            j = argv.index("--rtol")
            rtol = float(argv[j + 1])
        return check(argv[i + 1], rtol)
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
