"""The command line shared by examples/train_mlp_gan.py and examples/train_dcgan.py."""
import argparse
import json
import os
import sys

from .backend import BackendError
from .data import DataError
from .gan import NonFiniteLossError
from .training import TrainConfig, Trainer


def train_parser(model, description):
    d = TrainConfig(model=model)
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--backend", choices=["numpy", "cupy"], default="numpy")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr, help="learning rate of both nets")
    p.add_argument("--lr-d", type=float, default=None, help="D's learning rate (default: --lr)")
    p.add_argument("--lr-g", type=float, default=None, help="G's learning rate (default: --lr)")
    p.add_argument("--beta1", type=float, default=d.betas[0])
    p.add_argument("--optimizer", choices=["adam", "sgd", "rmsprop"], default=d.optimizer)
    p.add_argument("--g-loss", choices=["nonsaturating", "minimax"], default=d.g_loss)
    p.add_argument("--k", type=int, default=d.k, help="D steps per G step")
    p.add_argument("--label-smoothing", type=float, default=d.label_smoothing,
                   help="one-sided: real labels become 1 - this")
    p.add_argument("--d-dropout", type=float, default=d.d_dropout, help="dropout in D")
    p.add_argument("--lr-decay", choices=["none", "linear"], default=d.lr_decay,
                   help="linear: constant learning rates for the first half of the run, then down to 0")
    p.add_argument("--ema", type=float, default=d.ema,
                   help="sample from an exponential moving average of G's weights with this decay (0: off)")
    p.add_argument("--z-dim", type=int, default=None)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--out", default=f"runs/{model}_gan" if model == "mlp" else "runs/dcgan")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    p.add_argument("--data-dir", default=None, help="folder with the MNIST files (else $MINIGAN_DATA_DIR, "
                                                    "~/.cache/minigan/mnist, or download)")
    p.add_argument("--sample-every", type=int, default=d.sample_every, help="steps between sample grids")
    p.add_argument("--limit", type=int, default=None, help="use only the first N images (smoke runs)")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many steps")
    p.add_argument("--no-eval", action="store_true", help="skip the metrics at the end")
    p.add_argument("--eval-samples", type=int, default=d.eval_samples)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def config_from_args(model, args, **extra):
    return TrainConfig(
        model=model, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, lr_d=args.lr_d, lr_g=args.lr_g,
        betas=(args.beta1, 0.999), optimizer=args.optimizer, g_loss=args.g_loss, k=args.k,
        label_smoothing=args.label_smoothing, d_dropout=args.d_dropout, ema=args.ema, lr_decay=args.lr_decay, z_dim=args.z_dim, seed=args.seed,
        backend=args.backend, out=args.out, data_dir=args.data_dir, limit=args.limit,
        sample_every=args.sample_every, max_steps=args.max_steps, evaluate=not args.no_eval,
        eval_samples=args.eval_samples, progress=not args.no_progress, **extra)


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
        print(f"resume with the same command and --resume")
        return 130
    if cfg.evaluate:
        metrics = trainer.evaluate()
        print(json.dumps(metrics, indent=2))
    print("samples:", os.path.join(cfg.out, "samples.png"), " curves:", os.path.join(cfg.out, "curves.png"),
          " animation:", os.path.join(cfg.out, "progress.gif"))
    return 0
