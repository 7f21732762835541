"""Train the variational autoencoder (Kingma & Welling 2014) on MNIST; with --torch-twin, its PyTorch twin beside it.

    python examples/train_vae.py                  # pytorch/examples' VAE: 784-400-20, Adam 1e-3, batch 128, 10 epochs
    python examples/train_vae.py --z-dim 2        # a 2-D latent: manifold.png shows the decoder over it
    python examples/train_vae.py --torch-twin     # and the PyTorch twin, side by side (needs PyTorch)
    python examples/train_vae.py --torch-twin --same-eps   # the twin also gets minigan's ε: only rounding differs
    python examples/train_vae.py --limit 512 --epochs 1 --out runs/smoke   # a smoke run

The run folder gets samples from the prior (a fixed z, every --sample-every
steps, and the GIF), reconstructions.png (test images beside their
reconstructions), manifold.png with --z-dim 2, the log and its curves, and
the negative ELBO on the MNIST test set (metrics.json).

--torch-twin trains benchmarks/twins/vae.py's PyTorch VAE in the same
process: the same initial weights (copied from minigan's), the same settings,
the same batches in the same order; its ε is its own (torch.randn_like),
or with --same-eps minigan's ε of the same step, so that the two runs differ
only by floating-point rounding.
After each epoch both are measured on the same test images with the same ε,
and the script prints both negative ELBOs, the gap, and each framework's
seconds; the rows go to RUN/torch_twin.json. The twin keeps no checkpoint,
so a twin run cannot be resumed. The model is minigan/models/vae.py; --help
lists every setting.
"""
import json
import os
import sys
import time

from minigan.backend import BackendError, to_numpy
from minigan.data import DataError
from minigan.training.cli import config_from_args, evaluate_run, run, settings_table, train_parser
from minigan.training.config import ConfigError
from minigan.training.run import NonFiniteLossError, Run, RunError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv=None):
    p = train_parser("vae")
    p.add_argument("--torch-twin", action="store_true",
                   help="also train the PyTorch twin (benchmarks/twins/vae.py) from the same weights on the same "
                        "batches, and print both test negative ELBOs after every epoch")
    p.add_argument("--same-eps", action="store_true",
                   help="with --torch-twin: give the twin minigan's ε at every step instead of its own draws")
    args = p.parse_args(argv)
    try:
        cfg = config_from_args("vae", args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.same_eps and not args.torch_twin:
        print("error: --same-eps gives the PyTorch twin minigan's ε: add --torch-twin", file=sys.stderr)
        return 2
    if args.settings:
        print(settings_table("vae", cfg, args))
        return 0
    if not args.torch_twin:
        return run(cfg, resume=args.resume, overwrite=args.overwrite, allow_changes=args.allow_changes)
    if args.resume:
        print("error: --torch-twin trains both models from their first step (the twin keeps no checkpoint): "
              "drop --resume, or resume without --torch-twin", file=sys.stderr)
        return 2
    return train_with_twin(cfg, args.overwrite, args.same_eps)


def train_with_twin(cfg, overwrite, same_eps=False):
    """Train minigan's VAE and the PyTorch twin side by side; print and save both test negative ELBOs."""
    try:
        import torch
    except ImportError:
        print("error: --torch-twin needs PyTorch (pip install torch)", file=sys.stderr)
        return 2
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from twins.vae import build

    try:
        r = Run(cfg, overwrite=overwrite)
        test_images = r.model.test_set()[:cfg.eval_samples]
    except (ConfigError, BackendError, DataError, RunError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    device = "cuda" if cfg.backend == "cupy" else "cpu"
    torch.manual_seed(cfg.seed)                          # the twin's ε
    twin = build(r.model, device)                         # minigan's initial weights, copied
    eps = r.model.test_noise(len(test_images))            # one ε for both test measurements
    clock = dict(twin=0.0, eval=0.0, start=time.perf_counter())
    rows = []

    def measure(run):
        start = time.perf_counter()
        ours = run.model.test_elbo(len(test_images))
        theirs = twin.evaluate(test_images, eps)
        clock["eval"] += time.perf_counter() - start
        wall = time.perf_counter() - clock["start"]
        row = dict(epoch=run.epoch + run.batch_in_epoch / run.batches_per_epoch, step=run.step,
                   minigan=ours["neg_elbo"], pytorch=theirs[0],
                   minigan_terms=[ours["reconstruction"], ours["kl"]], pytorch_terms=list(theirs[1:]),
                   gap=(ours["neg_elbo"] - theirs[0]) / theirs[0],
                   minigan_s=wall - clock["twin"] - clock["eval"], pytorch_s=clock["twin"])
        rows.append(row)
        print(f"epoch {row['epoch']:g}: test negative ELBO  minigan {row['minigan']:.2f}  PyTorch "
              f"{row['pytorch']:.2f}  gap {100 * row['gap']:+.2f}%   seconds so far: minigan "
              f"{row['minigan_s']:.0f}, PyTorch {row['pytorch_s']:.0f}", flush=True)

    def after_step(run, stats):
        (images, _), = run.real_batches(run.epoch_orders(run.epoch), run.batch_in_epoch - 1)  # minigan's batch
        start = time.perf_counter()
        eps = torch.as_tensor(to_numpy(run.model.reparameterize.eps), device=device) if same_eps else None
        twin.step(torch.as_tensor(to_numpy(images), device=device), eps=eps)
        clock["twin"] += time.perf_counter() - start
        if run.batch_in_epoch == run.batches_per_epoch:
            measure(run)

    print(f"minigan: training the vae model and its PyTorch twin on {len(r.images)} images, backend "
          f"{cfg.backend}, run folder {cfg.out}")
    try:
        status = r.train(callback=after_step)
    except (NonFiniteLossError, RunError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aborted", file=sys.stderr)
        return 130
    if status == "interrupted":
        print(f"interrupted at step {r.step} ({r.describe_epoch()}); a twin run cannot be resumed (train again, or "
              "resume without --torch-twin)")
        return 130
    if not rows or rows[-1]["step"] != r.step:             # stopped by --max-steps within an epoch
        measure(r)
    last = rows[-1]
    with open(os.path.join(cfg.out, "torch_twin.json"), "w") as f:
        json.dump(dict(config=dict(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, z_dim=cfg.z_dim,
                                   hidden=cfg.hidden, seed=cfg.seed, test_images=len(test_images), same_eps=same_eps),
                       rows=rows),
                  f, indent=2)
    print(f"{status} at step {r.step} ({r.describe_epoch()}): test negative ELBO on {len(test_images)} images, "
          f"minigan {last['minigan']:.2f}, PyTorch {last['pytorch']:.2f} nats per image; gap {100 * last['gap']:+.2f}% "
          f"(minigan - PyTorch, relative to PyTorch)")
    print(f"wall-clock: minigan {last['minigan_s']:.0f} s, PyTorch {last['pytorch_s']:.0f} s "
          f"(training, without the test measurements' {clock['eval']:.0f} s); rows in "
          f"{os.path.join(cfg.out, 'torch_twin.json')}")
    return evaluate_run(r, len(test_images)) if cfg.evaluate else 0   # metrics.json, as without the twin


if __name__ == "__main__":
    sys.exit(main())
