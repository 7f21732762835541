"""Draw samples from a trained generator: a PNG grid and, optionally, the raw images.

    python examples/generate.py runs/mlp_gan                       # 64 samples -> samples.png
    python examples/generate.py runs/dcgan/checkpoint.npz --n 100 --nrow 10 --seed 1 --out dcgan.png
    python examples/generate.py runs/mlp_gan --npy samples.npy     # also (N, 1, 28, 28) float32 in [-1, 1]

z ~ N(0, I) comes from a NumPy generator seeded with --seed, so a seed gives the
same samples on both backends.
"""
import argparse
import os
import sys

import numpy as np

from minigan.backend import BackendError, to_numpy
from minigan.latent import decode
from minigan.plots import save_grid
from minigan.training import load_generator


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("run", help="a run folder (holding checkpoint.npz) or a checkpoint file")
    p.add_argument("--n", type=int, default=64, help="number of samples")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise")
    p.add_argument("--out", default="samples.png", help="the PNG grid")
    p.add_argument("--npy", default=None, help="also save the images here (.npy)")
    p.add_argument("--backend", choices=["numpy", "cupy"], default="numpy")
    p.add_argument("--nrow", type=int, default=8, help="images per row of the grid")
    args = p.parse_args(argv)
    if args.n < 1:
        p.error("--n must be at least 1")
    try:
        G, cfg = load_generator(args.run, args.backend)
    except (FileNotFoundError, BackendError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    z = np.random.default_rng(args.seed).standard_normal((args.n, cfg.resolved_z_dim())).astype(np.float32)
    images = np.concatenate([to_numpy(decode(G, z[i:i + 500])) for i in range(0, len(z), 500)]).astype(np.float32)
    for path in (args.out, args.npy):
        if path and os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
    save_grid(args.out, images, nrow=args.nrow)
    print(f"{args.n} samples of the {cfg.model} generator -> {args.out}")
    if args.npy:
        np.save(args.npy, images)
        print(f"images {images.shape} float32 in [-1, 1] -> {args.npy}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
