"""A training run: the folder, the log, checkpoints, resume, Ctrl-C and the NaN guard, for any model.

The model itself is a :class:`~minigan.training.model.Model`; this file is the machinery
around it, the same for every model:

- before any work, every setting is checked (:func:`minigan.config.validate`),
  and a folder that holds an earlier run is never overwritten: a new run
  stops with one line offering ``resume``, another folder or ``overwrite``;
- the run folder gets sample grids from the model's fixed input, a GIF of them,
  the per-step log (CSV, the columns the model's step returns) and its plot,
  the config, a history of starts and resumes, the final metrics;
- a checkpoint (every module, optimizer and random state the model names,
  and the position in the data) is written atomically at the end of each
  epoch, when a step limit is reached and on Ctrl-C, so ``resume=True``
  continues exactly, the log's clock and the progress bar included;
- a NaN or infinite value in the log stops the run with the step it happened
  at, and the last good checkpoint is left as it was.
"""
import csv
import dataclasses
import json
import os
import signal
import subprocess
import time

import numpy as np

from ..backend import get_array_module, set_backend, to_device, to_numpy
from ..nn import save_npz_atomic
from ..version import __version__
from .checkpoint import (CHECKPOINT, DamagedCheckpointError, RunError, arrays_of, read_checkpoint, read_meta,
                         saved_state)
from .config import ConfigError, differences, flag_name, kind_of, validate
from .plots import plot_curves, save_gif, save_grid

#: Every file a run writes at the top of its folder (``--overwrite`` removes these, and nothing else).
RUN_FILES = (CHECKPOINT, "log.csv", "config.json", "history.log", "metrics.json", "curves.png", "progress.gif",
             "samples.png")
LOG_EVERY = 10  # steps between reads of the step statistics (one device read per interval on a GPU)


class NonFiniteLossError(FloatingPointError):
    """A logged value (a loss) became NaN or infinite; training must stop."""


def _fmt(value):
    return "unset" if value is None else repr(value)


def source_version():
    """Which minigan code runs: ``git describe --always --dirty`` of the checkout it runs from, else its version.

    "-dirty" means tracked files differ from that commit: a number measured so
    cannot be reproduced from the commit alone.
    """
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if os.path.exists(os.path.join(root, ".git")):
        try:
            out = subprocess.run(["git", "-C", root, "describe", "--always", "--dirty", "--abbrev=7"],
                                 capture_output=True, text=True, timeout=30)
            if out.returncode == 0 and out.stdout.strip():
                return "commit " + out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return f"minigan {__version__}"


class Run:
    """Train ``cfg.model`` on MNIST with the settings ``cfg``, in the folder ``cfg.out``.

    Parameters
    ----------
    cfg : a model's Config (``minigan.models.get(name).Config``)
    resume : continue from ``cfg.out/checkpoint.npz``
    overwrite : start afresh in a folder that holds an earlier run, removing that run's files
    allow_changes : on resume, accept changed training settings (printed, and written to history.log)
    images, labels : training data to use instead of MNIST (tests)
    """

    def __init__(self, cfg, resume=False, overwrite=False, allow_changes=False, images=None, labels=None):
        from ..models import get as get_model, label

        validate(cfg)
        model_cls = get_model(cfg.model)
        if not isinstance(cfg, model_cls.Config):
            raise ConfigError(f"the settings are a {type(cfg).__name__}, not the {label(cfg.model)} model's Config")
        problem = output_problem(cfg.out, folder=True)   # a file, or a path under one: refused before any work
        if problem:
            raise ConfigError(f"--out {cfg.out!r}: {problem}")
        if resume and overwrite:
            raise ConfigError("--resume and --overwrite exclude each other: continue the run, or replace it")
        self.cfg, self.resume, self.overwrite, self.model_cls = cfg, resume, overwrite, model_cls
        set_backend(cfg.backend)
        self.changes = self._check_folder(resume, overwrite, allow_changes)
        if images is None:
            streams = model_cls.training_streams(cfg)
        else:
            if cfg.limit is not None:
                images = images[:cfg.limit]
                labels = None if labels is None else labels[:cfg.limit]
            streams = [(images, np.zeros(len(images), dtype=np.int64) if labels is None else labels)]
        self.streams = streams
        self.images = streams[0][0]
        self.model = model_cls(cfg)
        per_step = cfg.batch_size * self.model.batches_per_step
        self.batches_per_epoch = min(len(s[0]) for s in streams) // per_step
        if self.batches_per_epoch == 0:
            raise ConfigError(f"--batch-size {cfg.batch_size}: {min(len(s[0]) for s in streams)} training images "
                              f"give no full step of {self.model.batches_per_step} batch(es) of {cfg.batch_size}; "
                              "lower it or raise --limit")
        # on a GPU: copied once, not per batch
        self.device_streams = [tuple(to_device(a, cfg.backend) for a in s) for s in streams]
        self.step = 0            # steps taken
        self.epoch = 0           # epochs completed
        self.batch_in_epoch = 0  # steps taken in the current epoch
        self.elapsed = 0.0       # seconds of training before this process
        self._stop_requested = False

    # ---- the folder --------------------------------------------------------------------------
    @property
    def out(self):
        return self.cfg.out

    def checkpoint_path(self):
        return os.path.join(self.out, CHECKPOINT)

    def _own_files(self):
        """This run's files already in the folder (what a new run would overwrite)."""
        names = [n for n in RUN_FILES if os.path.exists(os.path.join(self.out, n))]
        samples = os.path.join(self.out, "samples")
        if os.path.isdir(samples):
            names += [os.path.join("samples", n) for n in sorted(os.listdir(samples))
                      if n.endswith(".png") and (n.startswith("step_") or n == "final.png")]
        names += [f"{n}.png" for n in self.model_cls.pictures_written
                  if os.path.exists(os.path.join(self.out, f"{n}.png"))]
        return names

    def _check_folder(self, resume, overwrite, allow_changes):
        """Refuse what would lose work or mix two runs; return the changed training settings on resume."""
        path = self.checkpoint_path()
        if resume:
            meta = read_checkpoint(path)[0]  # every byte read now: a damaged file stops the run before any work
            try:
                saved_model = meta["config"]["model"]
            except (KeyError, TypeError):
                raise RunError(f"cannot resume: {path} holds no run settings") from None
            if saved_model != self.cfg.model:
                from ..models import label

                raise RunError(f"cannot resume: {self.out} holds a run of the {label(saved_model)} model, not "
                               f"{label(self.cfg.model)}; pick another --out for a new run")
            diffs = differences(meta["config"], self.cfg)
            structure = {k: v for k, v in diffs.items() if kind_of(self.cfg, k) == "structure"}
            training = {k: v for k, v in diffs.items() if kind_of(self.cfg, k) == "training"}
            if structure:
                raise RunError("cannot resume: these settings shape the model or the data and differ from the "
                               "checkpoint's: " + self._describe(structure) + "; drop them, or start a new run "
                               "with another --out")
            if training and not allow_changes:
                raise RunError("cannot resume with changed training settings: " + self._describe(training)
                               + "; pass --allow-changes to continue with the new values, or drop them")
            self._saved_meta = meta
            return training
        own = self._own_files()
        if own and not overwrite:
            if CHECKPOINT in own:
                try:
                    step = read_meta(path).get("step", "?")
                except DamagedCheckpointError as exc:
                    raise RunError(f"{self.out} already holds a run whose checkpoint is damaged ({exc.cause}): "
                                   "start a new run with another --out, or replace it with --overwrite") from None
                raise RunError(f"{self.out} already holds a run (checkpoint at step {step}): continue it with "
                               "--resume, start a new one with another --out, or replace it with --overwrite")
            raise RunError(f"{self.out} holds files of an earlier run ({', '.join(own[:3])}"
                           f"{', ...' if len(own) > 3 else ''}): start a new run with another --out, or "
                           "replace them with --overwrite")
        return {}

    def _describe(self, diffs):
        fields = {f.name: f for f in dataclasses.fields(self.cfg)}
        return ", ".join(f"{flag_name(fields[k])} {_fmt(a)} -> {_fmt(b)}" for k, (a, b) in diffs.items())

    def _prepare_folder(self):
        if self.overwrite:
            for name in self._own_files():
                os.remove(os.path.join(self.out, name))
        os.makedirs(os.path.join(self.out, "samples"), exist_ok=True)
        write_json(os.path.join(self.out, "config.json"), dataclasses.asdict(self.cfg))

    def _history(self, line):
        with open(os.path.join(self.out, "history.log"), "a") as f:
            f.write(time.strftime("%Y-%m-%d %H:%M:%S ") + line + "\n")

    def describe_data(self):
        """'60000 images', '60000 pairs', or '30000 + 30000 images (two unpaired domains)'."""
        if len(self.streams) > 1:
            return " + ".join(str(len(s[0])) for s in self.streams) + " images (two unpaired domains)"
        kind = "pairs" if getattr(self.model, "paired", False) else "images"
        return f"{len(self.images)} {kind}"

    # ---- the data order: a permutation per epoch and stream, from (seed, epoch) alone ----------------
    def epoch_order(self, epoch, stream=0):
        """The order of the training images of ``stream`` in ``epoch`` (an unpaired task has two streams)."""
        key = [self.cfg.seed, 3, epoch] if stream == 0 else [self.cfg.seed, 3, epoch, stream]
        return np.random.default_rng(key).permutation(len(self.streams[stream][0]))

    def epoch_orders(self, epoch):
        return [self.epoch_order(epoch, j) for j in range(len(self.streams))]

    def real_batches(self, orders, b):
        """The batches of step ``b`` within an epoch, on the run's backend.

        Each batch is a tuple of every stream's arrays at its own order: (images, labels)
        for MNIST, (a, b) for a paired or an unpaired translation task.
        """
        n, k = self.cfg.batch_size, self.model.batches_per_step
        out = []
        for j in range(k):
            batch = ()
            for order, arrays in zip(orders, self.device_streams):
                idx = to_device(order[(b * k + j) * n:(b * k + j + 1) * n], self.cfg.backend)
                batch += tuple(a[idx] for a in arrays)
            out.append(batch)
        return out

    @property
    def planned_steps(self):
        """Steps in ``cfg.epochs`` epochs (what a learning-rate schedule is planned over)."""
        return self.cfg.epochs * self.batches_per_epoch

    def total_steps(self):
        """Steps this run will have taken when it ends (``max_steps`` may end it early)."""
        total = self.planned_steps
        return total if self.cfg.max_steps is None else min(total, self.cfg.max_steps)

    # ---- checkpoints ---------------------------------------------------------------------------
    def _kept(self):
        """(name, object) of everything a checkpoint holds arrays of: modules, optimizers, the model's image pools."""
        return [*self.model.modules().items(), *self.model.optimizers().items(), *self.model.pools().items()]

    def save_checkpoint(self):
        """Everything a resume needs, written atomically (the log is read first: NaN stops the save)."""
        self.log.flush()
        self.model.before_save()
        arrays = {}
        for prefix, obj in self._kept():
            arrays.update({f"{prefix}/{k}": v for k, v in obj.state_dict().items()})
        meta = dict(step=self.step, epoch=self.epoch, batch_in_epoch=self.batch_in_epoch,
                    elapsed=self.elapsed_seconds(),
                    rngs={k: r.bit_generator.state for k, r in self.model.rngs().items()},
                    state=self.model.state(), config=dataclasses.asdict(self.cfg))
        arrays["meta"] = np.array(json.dumps(meta))
        save_npz_atomic(self.checkpoint_path(), arrays)

    def load_checkpoint(self, path=None):
        """Restore a checkpoint into this run (modules, optimizers, random states, position). Returns its meta."""
        path = path or self.checkpoint_path()
        meta, arrays = read_checkpoint(path)

        try:
            for name, obj in self._kept():
                obj.load_state_dict(arrays_of(arrays, name))
            for name, rng in self.model.rngs().items():
                rng.bit_generator.state = meta["rngs"][name]
            self.model.load_state(saved_state(meta))
            self.step, self.epoch, self.batch_in_epoch = meta["step"], meta["epoch"], meta["batch_in_epoch"]
            self.elapsed = float(meta.get("elapsed", 0.0))
        except (KeyError, ValueError, TypeError) as exc:
            raise RunError(f"cannot resume: the checkpoint {path} does not fit the {self.model.label()} model "
                           f"({type(exc).__name__}: {exc})") from None
        return meta

    # ---- the loop ------------------------------------------------------------------------------
    def elapsed_seconds(self):
        return self.elapsed + (time.perf_counter() - self._t0 if hasattr(self, "_t0") else 0.0)

    def _on_sigint(self, signum, frame):
        if self._stop_requested:  # second Ctrl-C: stop now, the last checkpoint stays
            raise KeyboardInterrupt
        self._stop_requested = True
        print("\nCtrl-C: finishing this step, saving a checkpoint, then stopping (Ctrl-C again to abort).")

    def request_stop(self):
        """Ask the loop to save a checkpoint and stop after the current step."""
        self._stop_requested = True

    def train(self, callback=None):
        """Train to ``cfg.epochs`` (or ``cfg.max_steps``). Returns "finished", "interrupted" or "stopped".

        ``callback(run, stats)`` runs after each step (tests use it).
        """
        cfg = self.cfg
        if self.resume:
            self.load_checkpoint()
        self._prepare_folder()
        if self.resume:
            note = f"resumed at step {self.step} ({source_version()})"
            if self.changes:
                note += " with changed settings: " + self._describe(self.changes)
                print("minigan: " + note)
            self._history(note)
        else:
            self._history(f"started {cfg.model} (seed {cfg.seed}, backend {cfg.backend}, {source_version()})")
        self.log = StepLog(os.path.join(self.out, "log.csv"), self.step)
        old_handler = None
        try:
            old_handler = signal.signal(signal.SIGINT, self._on_sigint)
        except ValueError:  # not the main thread: Ctrl-C handling is the caller's
            pass
        self._t0 = time.perf_counter()
        self.bar = self._progress_bar()
        status = "finished"
        try:
            if self.step == 0:
                self.save_samples(f"step_{0:06d}")
            # --8<-- [start:run-train-loop]
            while self.epoch < cfg.epochs and (cfg.max_steps is None or self.step < cfg.max_steps):
                status = self._run_epoch(callback)
                if status != "running":
                    break
                self.epoch += 1
                self.batch_in_epoch = 0
                self.save_checkpoint()
                status = "finished"
            # --8<-- [end:run-train-loop]
            if status in ("interrupted", "stopped"):
                self.save_checkpoint()
        except NonFiniteLossError as exc:
            kept = ("the last good checkpoint is kept at " + self.checkpoint_path()
                    if os.path.exists(self.checkpoint_path()) else "no checkpoint had been written yet")
            self._history(f"stopped: {exc}")
            raise NonFiniteLossError(f"{exc}; {kept}. Try a lower learning rate.") from None
        finally:
            self.log.close()
            if self.bar is not None:
                self.bar.close()
            if old_handler is not None:
                signal.signal(signal.SIGINT, old_handler)
        self._history(f"{status} at step {self.step} ({self.describe_epoch()})")
        self.save_samples("final")
        self._write_pictures()
        return status

    def describe_epoch(self):
        """'epoch 2 of 10': the epoch as the progress bar and log.csv count it (1-based; the last, once finished)."""
        current = self.epoch + (1 if self.batch_in_epoch else 0)   # an epoch begun counts, as log.csv's column
        return f"epoch {max(current, 1)} of {self.cfg.epochs}"

    def _progress_bar(self):
        if not self.cfg.progress:
            return None
        from tqdm import tqdm

        return tqdm(total=self.total_steps(), initial=self.step, dynamic_ncols=True, unit="step",
                    desc=f"epoch {self.epoch + 1}/{self.cfg.epochs}")

    def _run_epoch(self, callback):
        cfg = self.cfg
        orders = self.epoch_orders(self.epoch)
        for b in range(self.batch_in_epoch, self.batches_per_epoch):
            # --8<-- [start:run-run-epoch]
            self.model.before_step(self.step, self.planned_steps)
            stats = self.model.step(self.real_batches(orders, b))
            self.step += 1
            self.batch_in_epoch = b + 1
            self.log.add(self.step, self.epoch + 1, self.elapsed_seconds(), stats)
            # --8<-- [end:run-run-epoch]
            if self.step % LOG_EVERY == 0:
                self.log.flush()
                self._show(self.log.last)
            if self.step % cfg.sample_every == 0:
                self.save_samples(f"step_{self.step:06d}")
            if self.bar is not None:
                self.bar.update(1)
            if callback is not None:
                callback(self, stats)
            if self._stop_requested:
                return "interrupted"
            if cfg.max_steps is not None and self.step >= cfg.max_steps:
                return "stopped"
        self.log.flush()
        return "running"

    def _show(self, row):
        if self.bar is None or not row:
            return
        self.bar.set_description(f"epoch {self.epoch + 1}/{self.cfg.epochs}", refresh=False)
        shown = {k: v for k, v in row.items() if k not in ("step", "epoch", "time")}
        self.bar.set_postfix({k: f"{v:.3g}" for k, v in list(shown.items())[:5]}, refresh=False)

    # ---- pictures --------------------------------------------------------------------------------
    def save_samples(self, name):
        self.log.flush()  # the grid of a NaN model is not worth drawing: stop first
        images, nrow = self.model.grid()
        path = os.path.join(self.out, "samples", f"{name}.png")
        save_grid(path, images, nrow=nrow)
        return path

    def _write_pictures(self):
        samples = os.path.join(self.out, "samples")
        frames = sorted(os.path.join(samples, p) for p in os.listdir(samples) if p.startswith("step_"))
        save_gif(os.path.join(self.out, "progress.gif"), frames + [os.path.join(samples, "final.png")])
        plot_curves(os.path.join(self.out, "log.csv"), os.path.join(self.out, "curves.png"), self.model.panels)
        images, nrow = self.model.grid()
        save_grid(os.path.join(self.out, "samples.png"), images, nrow=nrow)  # the final grid, easy to find
        for name, (images, nrow, *labels) in self.model.pictures().items():   # labels: one per row, if any
            save_grid(os.path.join(self.out, f"{name}.png"), images, nrow=nrow,
                      row_labels=labels[0] if labels else None)

    # ---- metrics ---------------------------------------------------------------------------------
    def evaluate(self, n=None):
        """The model's metrics on ``n`` samples (default ``cfg.eval_samples``), written to metrics.json.

        With ``cfg.progress``, a progress bar counts the images the judges read (``metrics.progress``).
        """
        from ..metrics import progress

        with progress(self.cfg.progress, "evaluating"):
            report = self.model.evaluate(n or self.cfg.eval_samples)
        report.update(step=self.step, epoch=self.epoch)
        write_json(os.path.join(self.out, "metrics.json"), report)
        return report


class StepLog:
    """The per-step log: rows kept as device arrays and read in one go every :data:`LOG_EVERY` steps.

    Reading a 0-d GPU array makes the CPU wait for the GPU, so the statistics
    of a step stay on the device until the next flush; the flush writes them
    to ``log.csv`` and checks each for NaN and infinity. On resume the log is
    cut back to the checkpoint's step, so a resumed run reads as one run.
    """

    def __init__(self, path, step):
        self.path, self.pending, self.last = path, [], {}
        self.fields, self.file, self.writer = None, None, None
        if step > 0 and os.path.exists(path):
            with open(path, newline="") as f:
                reader = csv.DictReader(f)
                rows = [r for r in reader if int(r["step"]) <= step]
                self.fields = reader.fieldnames
            self._open(rows)

    def _open(self, rows=()):
        self.file = open(self.path, "w", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=self.fields, extrasaction="ignore", restval="")
        self.writer.writeheader()
        self.writer.writerows(rows)

    def add(self, step, epoch, seconds, stats):
        self.pending.append((step, epoch, seconds, stats))

    def flush(self):
        if not self.pending:
            return
        keys = []                                           # every column of the pending rows, first seen first
        for *_, stats in self.pending:
            keys += [k for k in stats if k not in keys]
        keys = sorted(keys, key=lambda k: not k.endswith("loss"))  # the losses first
        flat = [stats[k] for *_, stats in self.pending for k in keys if k in stats]
        if flat:  # one device read for all pending values
            xp = get_array_module(*flat)
            values = iter(to_numpy(xp.stack([xp.asarray(v, dtype=xp.float64) for v in flat])).tolist())
        if self.writer is None:
            self.fields = ["step", "epoch", *keys, "time"]
            self._open()
        elif any(k not in self.fields for k in keys):      # a column that starts later (SRGAN's D): widen the log
            self._widen([k for k in keys if k not in self.fields])
        rows = []
        for step, epoch, seconds, stats in self.pending:
            row_values = {k: next(values) for k in keys if k in stats}
            bad = [(k, v) for k, v in row_values.items() if not np.isfinite(v)]
            if bad:
                self.writer.writerows(rows)
                self.file.flush()
                self.pending = []
                raise NonFiniteLossError(f"training stopped at step {step} (epoch {epoch}): "
                                         + ", ".join(f"{k} is {v}" for k, v in bad))
            row = dict(step=step, epoch=epoch, time=round(seconds, 3))
            row.update({k: round(float(v), 5) for k, v in row_values.items()})
            rows.append(row)
        self.writer.writerows(rows)
        self.file.flush()                                   # so `tail -f log.csv` follows the run
        self.last = rows[-1]
        self.pending = []

    def _widen(self, new):
        """Rewrite the log with the columns ``new`` added before ``time``; earlier rows leave them empty."""
        self.file.close()
        with open(self.path, newline="") as f:
            rows = list(csv.DictReader(f))
        self.fields = self.fields[:-1] + new + ["time"]
        self._open(rows)

    def close(self):
        if self.file is not None:
            try:
                self.flush()
            finally:
                self.file.close()
                self.file = None


def load_model(path, backend="numpy"):
    """The trained model of a run folder (or of a checkpoint file), its modules loaded, ready to sample.

    Raises :class:`RunError` for a missing or unreadable checkpoint.
    """
    from ..models import get as get_model
    from .config import from_dict

    if os.path.isdir(path):
        path = os.path.join(path, CHECKPOINT)
    if not os.path.exists(path):
        raise RunError(f"no checkpoint at {path}: train first, e.g. python examples/train_mlp_gan.py")
    meta, arrays = read_checkpoint(path)
    try:
        model_cls = get_model(meta["config"]["model"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RunError(f"{path} is not a minigan checkpoint of a known model ({exc})") from None
    try:
        cfg = from_dict(model_cls.Config, meta["config"])
    except ConfigError as exc:
        raise RunError(f"the checkpoint {path} holds settings this minigan refuses ({exc})") from None
    cfg.backend = backend
    set_backend(backend)
    model = model_cls(cfg)
    try:
        for name, module in model.modules().items():
            module.load_state_dict(arrays_of(arrays, name))
        model.load_state(saved_state(meta))
    except (KeyError, ValueError, TypeError) as exc:
        raise RunError(f"the checkpoint {path} does not fit the {model.label()} model ({exc})") from None
    return model


def output_problem(path, suffixes=(), folder=False):
    """What stops a tool writing ``path`` (a file ending in one of ``suffixes``, or a folder), or None.

    Checked before any work, so a long computation never ends in a traceback:
    a file that is a folder, a wrong suffix, a path under a file, a folder
    that cannot be written, or one of a run's own files (a tool never replaces those).
    """
    path = os.path.abspath(os.fspath(path))
    if folder:
        if os.path.exists(path) and not os.path.isdir(path):
            return "is a file, not a folder"
    elif os.path.isdir(path):
        return f"is a folder; give a file name ending in {suffixes[0]}"
    elif suffixes and not path.lower().endswith(tuple(suffixes)):
        return f"must be a file name ending in {' or '.join(suffixes)}"
    elif os.path.basename(path) in RUN_FILES and os.path.exists(os.path.join(os.path.dirname(path), CHECKPOINT)):
        return "is one of the files of the run in that folder; choose another name"
    existing = path if folder else os.path.dirname(path)
    while not os.path.exists(existing):  # the folders still to be made are made in the nearest one that exists
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return f"lies under {existing}, which is a file, not a folder"
    if not os.access(existing, os.W_OK) or (os.path.isfile(path) and not os.access(path, os.W_OK)):
        return "cannot be written here (no permission)"
    return None


def write_json(path, obj):
    """Write ``obj`` to ``path`` as indented JSON, atomically (a temporary file, then a rename)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def load_generator(path, backend="numpy"):
    """(G in eval mode, the model) from a GAN run's folder or checkpoint: the weight average if the run kept one."""
    from ..gan.model import GANModel

    model = load_model(path, backend)
    if not isinstance(model, GANModel):
        raise TypeError(f"{path} holds a {model.label()} run, which has no generator G")
    return model.sampler(), model
