"""The command line shared by examples/train_mlp_gan.py and examples/train_dcgan.py."""
import argparse
import os
import sys

from .backend import BackendError
from .data import DataError
from .gan import NonFiniteLossError
from .training import TUNED, TrainConfig, Trainer


def train_parser(model, description):
    d = TrainConfig(model=model)
    tuned = TUNED[model]

    def default(name):  # shown in --help; None in the namespace, so "not given" can be told apart
        return f"{tuned[name]} (tuned; --anchor: {getattr(d, name)})" if name in tuned else getattr(d, name)

    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=["numpy", "cupy"], default="numpy")
    p.add_argument("--anchor", action="store_true",
                   help="the textbook settings (PyTorch DCGAN example) instead of the tuned ones")
    p.add_argument("--epochs", type=int, default=d.epochs, help="default %(default)s")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="default %(default)s")
    p.add_argument("--lr", type=float, default=d.lr, help=f"learning rate of both nets, default {d.lr}")
    p.add_argument("--lr-d", type=float, help=f"D's learning rate, default {default('lr_d')} (None: --lr)")
    p.add_argument("--lr-g", type=float, help=f"G's learning rate, default {default('lr_g')} (None: --lr)")
    p.add_argument("--beta1", type=float, default=d.betas[0], help=f"Adam's beta1, default {d.betas[0]}")
    p.add_argument("--optimizer", choices=["adam", "sgd", "rmsprop"], default=d.optimizer)
    p.add_argument("--g-loss", choices=["nonsaturating", "minimax"], default=d.g_loss)
    p.add_argument("--k", type=int, default=d.k, help="D steps per G step, default 1")
    p.add_argument("--label-smoothing", type=float,
                   help=f"one-sided: real labels become 1 - this, default {default('label_smoothing')}")
    p.add_argument("--d-dropout", type=float, help=f"dropout in D, default {default('d_dropout')}")
    p.add_argument("--d-hidden", type=int, help=f"DCGAN: width of a hidden Dense layer before D's logit "
                                                f"(0: none), default {default('d_hidden')}")
    p.add_argument("--lr-decay", choices=["none", "linear"],
                   help=f"linear: constant learning rates for the first half of the epochs, then down to 0; "
                        f"default {default('lr_decay')}")
    p.add_argument("--ema", type=float, help=f"sample from an exponential moving average of G's weights "
                                             f"with this decay (0: off), default {default('ema')}")
    p.add_argument("--z-dim", type=int, default=None, help=f"default {d.resolved_z_dim()}")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--out", default=f"runs/{model}_gan" if model == "mlp" else "runs/dcgan",
                   help="the run folder")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    p.add_argument("--data-dir", default=None, help="folder with the MNIST files (else $MINIGAN_DATA_DIR, "
                                                    "~/.cache/minigan/mnist, or download)")
    p.add_argument("--sample-every", type=int, default=d.sample_every,
                   help=f"steps between sample grids, default {d.sample_every}")
    p.add_argument("--limit", type=int, default=None, help="use only the first N images (smoke runs)")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many steps")
    p.add_argument("--no-eval", action="store_true", help="skip the metrics at the end")
    p.add_argument("--eval-samples", type=int, default=d.eval_samples)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


TUNABLE = ("lr_d", "lr_g", "label_smoothing", "d_dropout", "d_hidden", "lr_decay", "ema")


def config_from_args(model, args, **extra):
    """The anchor settings, then the tuned ones (unless --anchor), then whatever the user gave."""
    settings = dict(model=model, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                    betas=(args.beta1, 0.999), optimizer=args.optimizer, g_loss=args.g_loss, k=args.k,
                    z_dim=args.z_dim, seed=args.seed, backend=args.backend, out=args.out,
                    data_dir=args.data_dir, limit=args.limit, sample_every=args.sample_every,
                    max_steps=args.max_steps, evaluate=not args.no_eval, eval_samples=args.eval_samples,
                    progress=not args.no_progress, **extra)
    if not args.anchor:
        settings.update(TUNED[model])
    settings.update({k: getattr(args, k) for k in TUNABLE if getattr(args, k) is not None})
    return TrainConfig(**settings)


def run(cfg, resume=False):
    """Train, print where everything went, and the metrics. Returns a process exit code."""
    try:
        trainer = Trainer(cfg)
    except (BackendError, DataError, ValueError) as exc:  # no CuPy/GPU, no MNIST, a bad setting
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"minigan: training the {cfg.model} GAN on {len(trainer.images)} images, backend {cfg.backend}, "
          f"run folder {cfg.out}")
    try:
        status = trainer.train(resume=resume)
    except (NonFiniteLossError, FileNotFoundError, RuntimeError) as exc:  # NaN loss; no or bad checkpoint
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"aborted; the last checkpoint is at {trainer.checkpoint_path()}", file=sys.stderr)
        return 130
    print(f"{status} at step {trainer.step} (epoch {trainer.epoch}); checkpoint {trainer.checkpoint_path()}")
    if status == "interrupted":
        print("resume with the same command and --resume")
        return 130
    if cfg.evaluate:
        from .metrics import format_report

        report = trainer.evaluate()
        print(f"metrics of {cfg.eval_samples} samples (written to {os.path.join(cfg.out, 'metrics.json')}):")
        print(format_report("samples", report))
        print(format_report("real_floor", report["real_floor"]))
    print("samples:", os.path.join(cfg.out, "samples.png"), " curves:", os.path.join(cfg.out, "curves.png"),
          " animation:", os.path.join(cfg.out, "progress.gif"))
    return 0
