"""A whole training run: data, models, the loop, and everything a run keeps.

The step itself lives in ``gan.py``; this file is the machinery around it:

- a run folder with samples from one fixed noise batch, a GIF of them, the
  per-step log (CSV) and its plot, the config, the final metrics;
- a checkpoint (G, D, both optimizers, step, epoch, position in the epoch and
  every random state) written atomically at the end of each epoch, when a
  step limit is reached and on Ctrl-C, so ``resume=True`` continues exactly;
- a NaN or infinite loss stops the run with the step it happened at, and the
  last good checkpoint is left as it was.
"""
import csv
import dataclasses
import json
import os
import signal
import time
from dataclasses import dataclass

import numpy as np

from . import models
from .backend import set_backend, to_device, to_numpy
from .data import load_mnist
from .gan import GANStep, NonFiniteLossError
from .ema import EMA
from .layers import Dropout
from .nn import save_npz_atomic
from .optim import SGD, Adam, RMSprop
from .plots import plot_curves, save_gif, save_grid

CHECKPOINT = "checkpoint.npz"


@dataclass
class TrainConfig:
    """Every knob of a run. The defaults are the *anchor*: the textbook settings of the
    PyTorch DCGAN example. The example scripts start from :data:`TUNED` instead
    (``--anchor`` goes back to these); docs/training.md says why.
    """

    model: str = "mlp"                  # "mlp" or "dcgan"
    epochs: int = 20
    batch_size: int = 64
    lr: float = 2e-4                    # for both nets unless lr_d / lr_g are given
    lr_d: float = None
    lr_g: float = None
    betas: tuple = (0.5, 0.999)
    optimizer: str = "adam"             # "adam", "sgd" or "rmsprop"
    g_loss: str = "nonsaturating"       # or "minimax"
    k: int = 1                          # D steps per G step
    label_smoothing: float = 0.0        # one-sided: real labels 1 - this
    d_dropout: float = 0.0
    d_hidden: int = 0                   # dcgan: a hidden Dense layer of this width before D's logit
    ema: float = 0.0                    # > 0: sample from an average of G's weights (e.g. 0.999)
    lr_decay: str = "none"              # "linear": constant for the first half, then linearly to 0
    z_dim: int = None                   # default 64 (mlp) or 100 (dcgan)
    upsample: str = "convtranspose"     # dcgan: or "nearest" (Upsample2d + Conv2d)
    seed: int = 0
    backend: str = "numpy"
    out: str = "runs/mlp_gan"
    data_dir: str = None
    limit: int = None                   # only the first N training images
    sample_every: int = 200             # steps between sample grids
    max_steps: int = None               # stop after this many steps in total
    evaluate: bool = True               # compute minigan.metrics at the end
    eval_samples: int = 10000
    progress: bool = True

    def resolved_z_dim(self):
        return self.z_dim or (64 if self.model == "mlp" else 100)


#: What the example scripts use unless told ``--anchor``: the best settings found for 20 (MLP) and
#: 5 (DCGAN) epochs on MNIST. Measurements in docs/tuning.md.
TUNED = {
    "mlp": dict(ema=0.999, d_dropout=0.3, label_smoothing=0.1),
    "dcgan": dict(ema=0.999, label_smoothing=0.1, lr_d=5e-5, lr_g=8e-4, d_hidden=256),
}


def build_models(cfg):
    """G and D for ``cfg.model``, weights from a generator seeded by ``cfg.seed``."""
    rng = np.random.default_rng(cfg.seed)
    z_dim = cfg.resolved_z_dim()
    if cfg.model == "mlp":
        G = models.mlp_generator(z_dim=z_dim, rng=rng)
        D = models.mlp_discriminator(dropout=cfg.d_dropout, rng=rng, seed=cfg.seed)
    elif cfg.model == "dcgan":
        G = models.dcgan_generator(z_dim=z_dim, upsample=cfg.upsample, rng=rng)
        D = models.dcgan_discriminator(dropout=cfg.d_dropout, hidden=cfg.d_hidden, rng=rng, seed=cfg.seed)
    else:
        raise ValueError(f"model must be 'mlp' or 'dcgan', got {cfg.model!r}")
    return G.to(cfg.backend), D.to(cfg.backend)


def build_optimizer(cfg, params, lr):
    if cfg.optimizer == "adam":
        return Adam(params, lr=lr, betas=cfg.betas)
    if cfg.optimizer == "sgd":
        return SGD(params, lr=lr, momentum=0.9)
    if cfg.optimizer == "rmsprop":
        return RMSprop(params, lr=lr)
    raise ValueError(f"optimizer must be 'adam', 'sgd' or 'rmsprop', got {cfg.optimizer!r}")


class Trainer:
    """Runs :class:`~minigan.gan.GANStep` over MNIST and keeps the run folder."""

    def __init__(self, cfg, images=None):
        self.cfg = cfg
        set_backend(cfg.backend)
        self.out = cfg.out
        os.makedirs(os.path.join(self.out, "samples"), exist_ok=True)
        if images is None:
            images, _ = load_mnist("train", data_dir=cfg.data_dir, limit=cfg.limit)
        self.images = images                                   # NumPy (N, 1, 28, 28) in [-1, 1]
        self.device_images = to_device(images, cfg.backend)    # on a GPU: copied once, not per batch
        self.batches_per_epoch = len(images) // (cfg.batch_size * cfg.k)
        if cfg.lr_decay not in ("none", "linear"):
            raise ValueError(f"lr_decay must be 'none' or 'linear', got {cfg.lr_decay!r}")
        if self.batches_per_epoch == 0:
            raise ValueError(f"{len(images)} images give no full batch of {cfg.batch_size} x k={cfg.k}")
        self.G, self.D = build_models(cfg)
        self.ema = EMA(self.G, build_models(cfg)[0], cfg.ema) if cfg.ema else None
        self.opt_G = build_optimizer(cfg, self.G.parameters(), cfg.lr_g or cfg.lr)
        self.opt_D = build_optimizer(cfg, self.D.parameters(), cfg.lr_d or cfg.lr)
        self.gan = GANStep(self.G, self.D, self.opt_G, self.opt_D, cfg.resolved_z_dim(), g_loss=cfg.g_loss,
                           k=cfg.k, label_smoothing=cfg.label_smoothing,
                           noise_rng=np.random.default_rng([cfg.seed, 1]), backend=cfg.backend)
        fixed = np.random.default_rng([cfg.seed, 2]).standard_normal((64, cfg.resolved_z_dim()))
        self.fixed_z = to_device(fixed.astype(np.float32), cfg.backend)
        self.step = 0           # G steps taken
        self.epoch = 0          # epochs completed
        self.batch_in_epoch = 0
        self._stop_requested = False

    # ---- the data order: a permutation per epoch, from (seed, epoch) alone ----
    def epoch_order(self, epoch):
        return np.random.default_rng([self.cfg.seed, 3, epoch]).permutation(len(self.images))

    def real_batches(self, order, b):
        """The k real batches of step ``b`` within an epoch, on the run's backend."""
        n, k = self.cfg.batch_size, self.cfg.k
        for j in range(k):
            idx = order[(b * k + j) * n:(b * k + j + 1) * n]
            yield self.device_images[to_device(idx, self.cfg.backend)]

    # ---- checkpoints --------------------------------------------------------
    def dropouts(self):
        return [m for net in (self.G, self.D) for m in net.modules() if isinstance(m, Dropout)]

    def checkpoint_path(self):
        return os.path.join(self.out, CHECKPOINT)

    def save_checkpoint(self):
        arrays = {}
        parts = [("G", self.G), ("D", self.D), ("opt_G", self.opt_G), ("opt_D", self.opt_D)]
        if self.ema:
            parts.append(("G_ema", self.averaged_generator()))
        for prefix, obj in parts:
            arrays.update({f"{prefix}/{k}": v for k, v in obj.state_dict().items()})
        meta = dict(step=self.step, epoch=self.epoch, batch_in_epoch=self.batch_in_epoch,
                    ema_t=self.ema.t if self.ema else 0,
                    noise_rng=self.gan.noise_rng.bit_generator.state,
                    dropout_calls=[d.calls for d in self.dropouts()],
                    config=dataclasses.asdict(self.cfg))
        arrays["meta"] = np.array(json.dumps(meta))
        save_npz_atomic(self.checkpoint_path(), arrays)

    def load_checkpoint(self, path=None):
        path = path or self.checkpoint_path()
        try:
            with np.load(path) as f:
                arrays = dict(f)
            meta = json.loads(str(arrays.pop("meta")))
        except FileNotFoundError:
            raise FileNotFoundError(f"cannot resume: no checkpoint at {path}") from None
        except Exception as exc:
            raise RuntimeError(f"cannot resume: the checkpoint {path} is unreadable ({exc})") from exc

        def part(prefix):
            return {k[len(prefix) + 1:]: v for k, v in arrays.items() if k.startswith(prefix + "/")}

        self.G.load_state_dict(part("G"))
        self.D.load_state_dict(part("D"))
        self.opt_G.load_state_dict(part("opt_G"))
        self.opt_D.load_state_dict(part("opt_D"))
        if self.ema:
            self.ema.shadow.load_state_dict(part("G_ema"))
            self.ema.t, self.ema.stale = meta["ema_t"], False
        self.step, self.epoch, self.batch_in_epoch = meta["step"], meta["epoch"], meta["batch_in_epoch"]
        self.gan.noise_rng.bit_generator.state = meta["noise_rng"]
        for d, calls in zip(self.dropouts(), meta["dropout_calls"]):
            d.calls = calls
        return meta

    # ---- samples and logs ----------------------------------------------------
    def averaged_generator(self):
        """The weight-averaged G, its batchnorm statistics measured on 10 seeded noise batches of 256."""
        if self.ema.stale:
            rng = np.random.default_rng([self.cfg.seed, 5])
            zs = (to_device(rng.standard_normal((256, self.cfg.resolved_z_dim())).astype(np.float32),
                            self.cfg.backend) for _ in range(10))
            self.ema.recalibrate(zs)
        return self.ema.shadow

    def sample(self, z):
        """G(z) in eval mode (batchnorm uses its running statistics); the averaged G if ``cfg.ema``."""
        if self.ema:
            return self.averaged_generator()(z)
        self.G.eval()
        try:
            return self.G(z)
        finally:
            self.G.train()

    def save_samples(self, name):
        path = os.path.join(self.out, "samples", f"{name}.png")
        save_grid(path, self.sample(self.fixed_z), nrow=8)
        return path

    def _open_log(self):
        path = os.path.join(self.out, "log.csv")
        fields = ["step", "epoch", "d_loss", "g_loss", "d_real", "d_fake", "d_acc", "time"]
        if self.step == 0 or not os.path.exists(path):
            f = open(path, "w", newline="")
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
        else:  # keep the log up to the checkpoint's step, drop lines written after it
            rows = [r for r in csv.DictReader(open(path, newline="")) if int(r["step"]) <= self.step]
            f = open(path, "w", newline="")
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        return f, writer

    # ---- the loop -------------------------------------------------------------
    def _on_sigint(self, signum, frame):
        if self._stop_requested:  # second Ctrl-C: stop now, the last checkpoint stays
            raise KeyboardInterrupt
        self._stop_requested = True
        print("\nCtrl-C: finishing this step, saving a checkpoint, then stopping (Ctrl-C again to abort).")

    def request_stop(self):
        """Ask the loop to save a checkpoint and stop after the current step."""
        self._stop_requested = True

    def train(self, resume=False, callback=None):
        """Train to ``cfg.epochs`` (or ``cfg.max_steps``). Returns "finished", "interrupted" or "stopped".

        ``callback(trainer, stats)`` runs after each step (tests use it).
        """
        cfg = self.cfg
        if resume:
            self.load_checkpoint()
        with open(os.path.join(self.out, "config.json"), "w") as f:
            json.dump(dataclasses.asdict(cfg), f, indent=2)
        log_file, log = self._open_log()
        old_handler = None
        try:
            old_handler = signal.signal(signal.SIGINT, self._on_sigint)
        except ValueError:  # not the main thread: Ctrl-C handling is the caller's
            pass
        t0 = time.perf_counter()
        status = "finished"
        try:
            if self.step == 0:
                self.save_samples(f"step_{0:06d}")
            while self.epoch < cfg.epochs:
                status = self._run_epoch(log, log_file, t0, callback)
                if status != "running":
                    break
                self.epoch += 1
                self.batch_in_epoch = 0
                self.save_checkpoint()
                status = "finished"
        except NonFiniteLossError as exc:
            log_file.flush()
            kept = "the last good checkpoint is kept at " + self.checkpoint_path() if os.path.exists(
                self.checkpoint_path()) else "no checkpoint had been written yet"
            raise NonFiniteLossError(f"training stopped at step {self.step + 1} (epoch {self.epoch + 1}): {exc}; "
                                     f"{kept}. Try a lower learning rate.") from None
        finally:
            log_file.close()
            if old_handler is not None:
                signal.signal(signal.SIGINT, old_handler)
        if status in ("interrupted", "stopped"):
            self.save_checkpoint()
        self.save_samples("final")
        self._write_pictures()
        return status

    def _run_epoch(self, log, log_file, t0, callback):
        cfg = self.cfg
        order = self.epoch_order(self.epoch)
        bar = range(self.batch_in_epoch, self.batches_per_epoch)
        if cfg.progress:
            from tqdm import tqdm

            bar = tqdm(bar, desc=f"epoch {self.epoch + 1}/{cfg.epochs}", initial=self.batch_in_epoch,
                       total=self.batches_per_epoch, dynamic_ncols=True, leave=True)
        for b in bar:
            self._set_learning_rates()
            stats = self.gan.step(self.real_batches(order, b)).as_floats()
            if self.ema:
                self.ema.update()
            self.step += 1
            self.batch_in_epoch = b + 1
            log.writerow(dict(step=self.step, epoch=self.epoch + 1, time=round(time.perf_counter() - t0, 3),
                              **{k: round(v, 5) for k, v in stats.items()}))
            if cfg.progress and self.step % 10 == 0:
                bar.set_postfix(D=f"{stats['d_loss']:.3f}", G=f"{stats['g_loss']:.3f}",
                                Dx=f"{stats['d_real']:.2f}", DGz=f"{stats['d_fake']:.2f}")
            if self.step % 100 == 0:
                log_file.flush()                               # so `tail -f log.csv` follows the run
            if self.step % cfg.sample_every == 0:
                self.save_samples(f"step_{self.step:06d}")
            if callback is not None:
                callback(self, stats)
            if self._stop_requested:
                return "interrupted"
            if cfg.max_steps is not None and self.step >= cfg.max_steps:
                return "stopped"
        log_file.flush()
        return "running"

    def generate(self, n, seed=0, batch_size=500):
        """n samples from fresh noise (seeded, independent of training's noise), eval mode."""
        rng = np.random.default_rng([self.cfg.seed, 4, seed])
        out = []
        for i in range(0, n, batch_size):
            z = rng.standard_normal((min(batch_size, n - i), self.cfg.resolved_z_dim())).astype(np.float32)
            out.append(to_numpy(self.sample(to_device(z, self.cfg.backend))))
        return np.concatenate(out)

    def evaluate(self, n=None):
        """minigan.metrics on ``n`` samples (default ``cfg.eval_samples``), written to metrics.json.

        ``real_floor`` holds the same metrics for ``n`` real training images: the best a
        generator can score at this sample size.
        """
        from . import metrics

        n = n or self.cfg.eval_samples
        report = metrics.evaluate_samples(self.generate(n))
        report.update(step=self.step, epoch=self.epoch, real_floor=metrics.real_floor(n))
        tmp = os.path.join(self.out, "metrics.json.tmp")
        with open(tmp, "w") as f:
            json.dump(report, f, indent=2)
        os.replace(tmp, os.path.join(self.out, "metrics.json"))
        return report

    def _set_learning_rates(self):
        """With ``lr_decay="linear"``: lr constant for the first half of ``epochs``, then linearly to 0.

        A function of the step and the planned length alone, so a resumed run
        gets the same rates (``max_steps`` may stop a run early; it does not
        change the schedule).
        """
        if self.cfg.lr_decay == "none":
            return
        total = self.cfg.epochs * self.batches_per_epoch
        factor = min(1.0, 2.0 * (1.0 - self.step / total))
        self.opt_G.lr = (self.cfg.lr_g or self.cfg.lr) * factor
        self.opt_D.lr = (self.cfg.lr_d or self.cfg.lr) * factor

    def _write_pictures(self):
        samples = os.path.join(self.out, "samples")
        frames = sorted(os.path.join(samples, p) for p in os.listdir(samples) if p.startswith("step_"))
        save_gif(os.path.join(self.out, "progress.gif"), frames + [os.path.join(samples, "final.png")])
        plot_curves(os.path.join(self.out, "log.csv"), os.path.join(self.out, "curves.png"))
        # a copy of the final grid at the top of the run folder, easy to find
        save_grid(os.path.join(self.out, "samples.png"), self.sample(self.fixed_z), nrow=8)


def load_generator(path, backend="numpy"):
    """G from a run's checkpoint (its weight average if the run kept one), in eval mode, and the config.

    ``path`` is a checkpoint file or a run folder holding ``checkpoint.npz``.
    """
    if os.path.isdir(path):
        path = os.path.join(path, CHECKPOINT)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}: train first, e.g. python examples/train_mlp_gan.py")
    with np.load(path) as f:
        arrays = dict(f)
    meta = json.loads(str(arrays["meta"]))
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    cfg = TrainConfig(**{k: v for k, v in meta["config"].items() if k in known})
    cfg.backend = backend
    cfg.betas = tuple(cfg.betas)
    G, _ = build_models(cfg)
    prefix = "G_ema/" if cfg.ema else "G/"  # the averaged weights are the ones to sample from
    G.load_state_dict({k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)})
    return G.eval(), cfg
