"""Draw samples from a trained generator: a PNG grid and, optionally, the raw images.

    python examples/generate.py runs/mlp_gan                  # 64 samples -> runs/mlp_gan/generated.png
    python examples/generate.py runs/dcgan --n 100 --nrow 10 --seed 1 --out dcgan.png
    python examples/generate.py runs/mlp_gan --npy samples.npy  # also (N, 1, 28, 28) float32 in [-1, 1]
    python examples/generate.py runs/cgan --digit 7            # a conditional model: 7s only
    python examples/generate.py runs/infogan --code 3          # InfoGAN: categorical code 3 only
    python examples/generate.py runs/lapgan --n 100            # LAPGAN: drawn through the pyramid, 7 -> 14 -> 28
    python examples/generate.py runs/stackgan --caption "a thick seven slanted to the right"

G's input is drawn from a NumPy generator seeded with --seed, so a seed gives
the same samples on both backends. Pictures go into the run folder unless
--out says otherwise. At most 10,000 samples a call (a 100 x 100 grid, 31 MB
of images): for more, call it again with other seeds.
"""
import os
import sys

import numpy as np

from minigan.backend import to_numpy
from minigan.gan.priors import PriorError
from minigan.training.cli import check_output, load_or_exit, positive_int, run_folder, seed_int, tool_parser
from minigan.training.plots import save_grid

MAX_SAMPLES = 10_000  # a 100 x 100 grid; (N, 1, 28, 28) float32 is 3 KB a sample, so 31 MB


def main(argv=None):
    p = tool_parser(__doc__)
    p.add_argument("--n", type=positive_int, default=64, help="number of samples")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of G's input")
    p.add_argument("--out", default=None, help="the PNG grid (unset: RUN/generated.png)")
    p.add_argument("--npy", default=None, help="also save the images here (.npy; unset: no .npy file)")
    p.add_argument("--nrow", type=positive_int, default=8, help="images per row of the grid")
    p.add_argument("--digit", type=int, default=None,
                   help="a conditional model: draw this digit only (unset: every digit)")
    p.add_argument("--code", type=int, default=None,
                   help="InfoGAN: draw this value of the categorical code only (unset: every value)")
    p.add_argument("--caption", default=None, help="StackGAN: draw from this caption (words of docs/captions.md; "
                                                  "unset: each sample from one of the 90 captions, at random)")
    args = p.parse_args(argv)
    if args.n > MAX_SAMPLES:
        p.error(f"--n {args.n}: at most {MAX_SAMPLES} samples a call ({args.n * 28 * 28 * 4 / 1e9:.3g} GB of "
                "images asked for); draw more with further calls and other --seed values")
    out = args.out or os.path.join(run_folder(args.run), "generated.png")
    check_output(p, "--out", out, (".png",))
    check_output(p, "--npy", args.npy, (".npy",))
    fixed = {k: v for k, v in (("digit", args.digit), ("code", args.code), ("caption", args.caption)) if v is not None}
    model = load_or_exit(args.run, args.backend)
    if not (hasattr(model, "prior") and hasattr(model, "sample")):
        hint = "; it translates images: use examples/translate.py" if hasattr(model, "translate") else ""
        print(f"error: {args.run} holds a {model.label()} run, which draws no samples{hint}", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    try:
        images = np.concatenate([
            to_numpy(model.sample(model.prior.sample(min(500, args.n - i), rng, args.backend, **fixed)))
            for i in range(0, args.n, 500)]).astype(np.float32)
    except PriorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in (out, args.npy):
        if path and os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
    save_grid(out, images, nrow=min(args.nrow, args.n))
    print(f"{args.n} samples of the {model.label()} generator -> {out}")
    if args.npy:
        np.save(args.npy, images)
        print(f"images {images.shape} float32 in [-1, 1] -> {args.npy}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
