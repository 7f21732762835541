"""Train an example at its defaults on one seed (or score a finished run) and print its README row.

    python scripts/results.py mlp_gan --seed 1                  # trains examples/train_mlp_gan.py, prints the row
    python scripts/results.py cgan --seed 0 -- --arch dcgan     # flags after -- go to the example
    python scripts/results.py gan_in_100_lines --seed 1         # the one-file script
    python scripts/results.py --score runs/infogan              # a run that already finished: its row
    python scripts/results.py --header                          # the table's header, to paste above rows

Training runs ``examples/train_<model>.py`` as a new user would (its tuned
defaults, ``--seed``, ``--out``), in a child process with ``--threads`` BLAS
threads (default 1, as README's wall-clocks are measured), into
runs/results/<model>[-<flags>]-seed<S>/ unless ``--out`` says otherwise. While
it trains, the machine's 1-minute load average is sampled every 10 s: the row
shows its range, so a reader can see what else was running (the run itself
counts about 1 per thread). The row says which code ran (``git describe`` of
this checkout, "-dirty" when tracked files were changed: such a row cannot be
reproduced from its commit), the backend, the training wall-clock from the
run's log and the metrics from its metrics.json (the numbers the example
printed at its end), plus the model's own figure: the cGAN's digit accuracy,
InfoGAN's matched code accuracy, the VAE's test negative ELBO. The row and
what it was made from go to RUN/results.json.

An image-to-image model (pix2pix, ...) has its own table (``--header translation``):
its task, the training process's peak memory (its maximum resident set), and
per direction how often the classifier reads the output as the digit it came
from, FID against the target domain's test images, the L1 to the true
counterpart and the mean stroke thickness beside the target domain's; an
unpaired model shows "a2b / b2a" in each cell.
"""
import argparse
import csv
import json
import os
import re
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from minigan.training.run import source_version, write_json  # noqa: E402

EXAMPLES = sorted(path.stem[len("train_"):] for path in (ROOT / "examples").glob("train_*.py"))  # mlp_gan, dcgan, ...
ONE_FILE = "gan_in_100_lines"  # examples/gan_in_100_lines.py: no run folder, its numbers are its last line
COLUMNS = ("model (command)", "seed", "code", "backend, BLAS threads", "epochs", "training wall-clock",
           "load (1 min avg)", "FID", "score (max 10)", "digits (% of samples, 0-9)", "the model's own")
TRANSLATION_COLUMNS = ("model (command)", "seed", "code", "backend, BLAS threads", "epochs", "training wall-clock",
                       "load (1 min avg)", "peak memory", "task", "digit kept (min over digits)", "FID",
                       "L1 to the true pair", "thickness, px (target domain)", "the model's own")
ONE_FILE_LINE = re.compile(r"(\d+) steps in ([\d.]+) min; (\d+) samples: score ([\d.]+) / 10, FID ([\d.]+), "
                           r"digits 0-9 \(%\): ([\d. ]+)$")


class LoadSampler(threading.Thread):
    """The machine's 1-minute load average every ``every`` seconds, until :meth:`stop`."""

    def __init__(self, every=10.0):
        super().__init__(daemon=True)
        self.every, self.samples, self._done = every, [], threading.Event()

    def run(self):
        while True:
            self.samples.append(os.getloadavg()[0])
            if self._done.wait(self.every):
                return

    def stop(self):
        self._done.set()
        self.join()
        return self.samples


def header(kind="generative"):
    columns = TRANSLATION_COLUMNS if kind == "translation" else COLUMNS
    return "| " + " | ".join(columns) + " |\n|" + " --- |" * len(columns)


#: the generative models whose rows give their peak memory (the coarse-to-fine ones)
PEAK_IN_OWN = ("lapgan", "stackgan")
#: samples per caption in StackGAN's rows: its run judges fewer when --eval-samples bounds it (10,000 / 90
#: captions: 111 each), so a row judges every caption again on this many, from the checkpoint
ROW_PER_CAPTION = 1000


def minutes(seconds):
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def own_figure(model, report):
    """The model's own number beside FID and score, as one short phrase ('' for a model without one)."""
    if model == "cgan":
        per = [a for a in report["digit_accuracy"]["per_digit"] if a is not None]
        return f"each digit drawn as asked {100 * min(per):.1f}-{100 * max(per):.1f}%"
    if model == "infogan":
        code = report["code"]
        return f"code matched {100 * code['accuracy']:.1f}%, {code['digits_matched']} digits"
    if model == "vae":
        return f"test negative ELBO {report['neg_elbo']:.2f} nats"
    if model == "lapgan":
        fid = report["level_fid"]
        text = f"FID of the same samples' 7 x 7 / 14 x 14 levels, enlarged: {fid['7']:.1f} / {fid['14']:.1f}"
        if "digit_accuracy" in report:
            per = [a for a in report["digit_accuracy"]["per_digit"] if a is not None]
            text += f"; each digit drawn as asked {100 * min(per):.1f}-{100 * max(per):.1f}%"
        return text
    if model == "stackgan":
        from minigan.models.stackgan import caption_figures

        f = caption_figures(report["captions"])
        return (f"Stage I enlarged: FID {report['stage1']['fid']:.2f}, score {report['stage1']['score']:.2f}; "
                f"per caption ({report.get('per_caption', ROW_PER_CAPTION):,} samples each), mean (worst): "
                f"digit read {100 * f['digit']['mean']:.1f}% "
                f"({100 * f['digit']['min']:.1f}%), thin/thick in its tercile {100 * f['thickness']['mean']:.1f}% "
                f"({100 * f['thickness']['min']:.1f}%), slant {100 * f['slant']['mean']:.1f}% "
                f"({100 * f['slant']['min']:.1f}%), thick > thin for {f['thick_over_thin']}/10 digits")
    return ""


def row_cells(row):
    load = row.get("load")
    load_text = f"{min(load):.1f}-{max(load):.1f}" if load else "not recorded"
    if row.get("kind") == "translation":
        return translation_cells(row, load_text)
    hist = " ".join(f"{100 * h:.1f}" for h in row["histogram"])
    own = row["own"]
    if row.get("peak_mb") and row.get("model") in PEAK_IN_OWN:
        own = "; ".join(filter(None, [own, f"peak memory {row['peak_mb'] / 1024:.2f} GiB"]))
    return [row["label"], str(row["seed"]), row["code"], f"{row['backend']}, {row.get('threads') or '?'}",
            str(row["epochs"]), minutes(row["train_seconds"]), load_text, f"{row['fid']:.2f}", f"{row['score']:.2f}",
            hist, own]


def translation_cells(row, load_text):
    ways = row["directions"]

    def each(fmt):
        return " / ".join(fmt(row["metrics"][d]) for d in ways)
    peak = row.get("peak_mb")
    return [row["label"], str(row["seed"]), row["code"], f"{row['backend']}, {row.get('threads') or '?'}",
            str(row["epochs"]), minutes(row["train_seconds"]), load_text,
            f"{peak / 1024:.2f} GiB" if peak else "not recorded", f"{row['task']} ({' / '.join(ways)})",
            each(lambda m: f"{100 * m['digit_accuracy']['overall']:.2f}% ({100 * m['digit_accuracy']['min']:.1f}%)"),
            each(lambda m: f"{m['fid']:.2f}"), each(lambda m: f"{m['l1']:.4f}"),
            each(lambda m: f"{m['thickness']:.2f} ({m['target_thickness']:.2f})"), row.get("own", "")]


def translation_own(report):
    """A translator's own numbers: PSNR beside bicubic upsampling (SRGAN), the angle kept (the rotated task)."""
    if "bicubic" in report:
        b = report["bicubic"]
        return (f"PSNR {report['a2b']['psnr']:.2f} dB; bicubic: PSNR {b['psnr']:.2f} dB, FID {b['fid']:.2f}, "
                f"digit kept {100 * b['digit_accuracy']['overall']:.2f}%")
    ways = [d for d in ("a2b", "b2a") if d in report]
    own = []
    if "orientation_r" in report["a2b"]:
        kept = " / ".join(f"{report[d]['orientation_r']:.3f}" for d in ways)
        own.append(f"angle kept r = {kept} (the true pairs: {report['a2b']['orientation_r_true_pair']:.3f})")
    if "true_pair_digit_accuracy" in report["a2b"]:  # what the classifier reads in the true counterparts: the ceiling
        ceiling = " / ".join(f"{100 * report[d]['true_pair_digit_accuracy']:.2f}%" for d in ways)
        own.append(f"digit kept by the true pairs {ceiling}")
    if "rotated_digit_accuracy" in report["a2b"]:    # the rotated task's judge, trained on rotated digits
        kept = " / ".join(f"{100 * report[d]['rotated_digit_accuracy']['overall']:.2f}%" for d in ways)
        ceiling = " / ".join(f"{100 * report[d]['rotated_true_pair_digit_accuracy']:.2f}%" for d in ways)
        own.append(f"rotation-trained judge: digit kept {kept} (the true pairs: {ceiling})")
    return "; ".join(own)


def format_row(row):
    return "| " + " | ".join(row_cells(row)) + " |"


# ---- reading a run folder ----------------------------------------------------------------------------


def started_with(folder):
    """The code a run folder's training started with, from the first line of its history.log."""
    try:
        with open(os.path.join(folder, "history.log")) as f:
            first = f.readline()
    except OSError:
        return "not recorded"
    found = re.search(r"\((?:[^,]*), (?:[^,]*), (commit [^)]+|minigan [^)]+)\)", first)
    return found.group(1) if found else "not recorded (before the run log named its commit)"


def train_seconds(folder):
    """The training wall-clock of a run: the ``time`` column of its log's last row (resumes included)."""
    with open(os.path.join(folder, "log.csv")) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{folder}/log.csv has no steps")
    return float(rows[-1]["time"])


def run_row(folder, label=None):
    """The row of a finished run folder: its settings, log, metrics.json (computed here if the run had none)."""
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    path = os.path.join(folder, "metrics.json")
    if os.path.exists(path):
        with open(path) as f:
            report = json.load(f)
    else:  # trained with --no-eval: score it now, with the very samples the run would have scored
        from minigan.training.run import load_model

        trained = load_model(folder)
        report = trained.evaluate(trained.cfg.eval_samples)
        write_json(path, report)
    common = dict(label=label or cfg["model"], model=cfg["model"], seed=cfg["seed"], code=started_with(folder),
                  backend=cfg["backend"], epochs=cfg["epochs"], train_seconds=train_seconds(folder), folder=str(folder))
    if "a2b" in report:  # a translator: its task and each direction's numbers
        directions = [d for d in ("a2b", "b2a") if d in report]
        return dict(common, kind="translation", task=report["task"], directions=directions,
                    metrics={d: report[d] for d in directions}, own=translation_own(report))
    if cfg["model"] == "stackgan" and report.get("per_caption", ROW_PER_CAPTION) < ROW_PER_CAPTION:
        from minigan.training.run import load_model

        report = dict(report, per_caption=ROW_PER_CAPTION,
                      captions=load_model(folder).judge_captions(ROW_PER_CAPTION))   # the run's draws, more of them
    samples = report.get("samples", report)  # the VAE keeps its sample metrics under "samples"
    return dict(common, fid=samples["fid"], score=samples["score"], histogram=samples["histogram"],
                own=own_figure(cfg["model"], report))


# ---- training a fresh run ----------------------------------------------------------------------------


def train(command, threads, echo):
    """Run ``command`` with ``threads`` BLAS threads, its output shown; (exit status, its lines, load samples)."""
    env = dict(os.environ, MPLBACKEND=os.environ.get("MPLBACKEND", "Agg"),  # this checkout's minigan, installed or not
               PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    sampler = LoadSampler()
    sampler.start()
    lines = []
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1) as child:
        for line in child.stdout:
            lines.append(line.rstrip("\n"))
            if echo:
                print(line, end="", flush=True)
        status = child.wait()
    return status, lines, sampler.stop()


def peak_child_mb():
    """The largest resident set of any child process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def one_file_row(lines, seed, epochs, code, load, threads):
    """The row of examples/gan_in_100_lines.py, from the line it prints at its end."""
    found = next((m for m in map(ONE_FILE_LINE.search, reversed(lines)) if m), None)
    if found is None:
        raise ValueError("examples/gan_in_100_lines.py did not print its scores")
    hist = [float(h) / 100 for h in found.group(6).split()]
    return dict(label=ONE_FILE, model=ONE_FILE, seed=seed, code=code, backend="numpy", threads=threads,
                epochs=epochs, train_seconds=60 * float(found.group(2)), fid=float(found.group(5)),
                score=float(found.group(4)), histogram=hist, own="", load=load)


def flag_value(flags, name, default):
    return flags[flags.index(name) + 1] if name in flags and flags.index(name) + 1 < len(flags) else default


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", nargs="?", choices=EXAMPLES + [ONE_FILE],
                   help="the example to train: examples/train_MODEL.py, or gan_in_100_lines")
    p.add_argument("--seed", type=int, default=0, help="the run's seed (default: 0)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads of the training process (default: 1)")
    p.add_argument("--out", default=None, help="the run folder (default: runs/results/MODEL[-FLAGS]-seedSEED)")
    p.add_argument("--score", metavar="RUN", default=None, help="print the row of a run that already finished")
    p.add_argument("--header", nargs="?", const="generative", choices=("generative", "translation"),
                   help="print the header of the generative models' table (or of the translators')")
    p.add_argument("--quiet", action="store_true", help="do not show the example's own output")
    argv = sys.argv[1:] if argv is None else list(argv)
    own, flags = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    args = p.parse_args(own)
    if args.header:
        print(header(args.header))
        if args.model is None and args.score is None:
            return 0
    if (args.model is None) == (args.score is None):
        p.error("give a model to train or --score RUN (not both)")
    if args.threads < 1:
        p.error(f"--threads {args.threads}: must be at least 1")

    if args.score is not None:
        folder = args.score if os.path.isdir(args.score) else os.path.dirname(os.path.abspath(args.score))
        earlier = {}
        if os.path.exists(os.path.join(folder, "results.json")):  # the load and threads of results.py's own run
            try:
                with open(os.path.join(folder, "results.json")) as f:
                    earlier = json.load(f)
            except (OSError, ValueError) as exc:
                print(f"error: {folder}/results.json is unreadable ({exc})", file=sys.stderr)
                return 2
        if earlier.get("model") == ONE_FILE:  # the one-file script leaves only its numbers
            print(format_row(earlier))
            return 0
        if not os.path.exists(os.path.join(folder, "config.json")) or not os.path.exists(
                os.path.join(folder, "log.csv")):
            print(f"error: {args.score}: not a run folder (it needs config.json and log.csv)", file=sys.stderr)
            return 2
        row = run_row(folder, earlier.get("label"))
        row.update(load=earlier.get("load"), threads=earlier.get("threads"), peak_mb=earlier.get("peak_mb"))
        print(format_row(row))
        return 0

    slug = "".join(ch if ch.isalnum() or ch in "._" else "-" for ch in " ".join(flags)).strip("-")
    out = args.out or os.path.join("runs", "results", f"{args.model}{'-' + slug if slug else ''}-seed{args.seed}")
    label = " ".join([args.model] + flags)
    code = source_version()
    if code.endswith("-dirty"):
        print(f"warning: the checkout has uncommitted changes ({code}): this row cannot be reproduced from a commit",
              file=sys.stderr)
    example = ROOT / "examples" / (f"{ONE_FILE}.py" if args.model == ONE_FILE else f"train_{args.model}.py")
    command = [sys.executable, str(example), *flags, "--seed", str(args.seed), "--out", out]
    if args.model != ONE_FILE:
        command.append("--no-progress")
    start = time.time()
    status, lines, load = train(command, args.threads, echo=not args.quiet)
    if status != 0:
        tail = "\n".join(lines[-3:])
        print(f"error: {os.path.relpath(command[1])} ended with exit status {status}:\n{tail}", file=sys.stderr)
        return status if status > 0 else 1
    try:
        if args.model == ONE_FILE:
            row = one_file_row(lines, args.seed, int(flag_value(flags, "--epochs", 10)), code, load, args.threads)
            os.makedirs(out, exist_ok=True)
        else:
            row = run_row(out, label)
            row.update(load=load, threads=args.threads, peak_mb=round(peak_child_mb(), 1))
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {out}: the run finished but its numbers could not be read ({type(exc).__name__}: {exc})",
              file=sys.stderr)
        return 2
    row.update(label=label, command=" ".join([os.path.relpath(command[1])] + command[2:]),
               seconds_in_all=round(time.time() - start, 1))
    write_json(os.path.join(out, "results.json"), row)
    print(format_row(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
