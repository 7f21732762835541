"""Explore a trained generator's latent space: morph one digit into another, and add latents.

    python examples/explore_latent.py runs/mlp_gan                         # a 3 into a 4
    python examples/explore_latent.py runs/dcgan --from-digit 1 --to-digit 7 --steps 12 --out-dir pictures
    python examples/explore_latent.py runs/mlp_gan --arithmetic 7-1+4 --arithmetic 9-4+7

Writes OUT_DIR/interpolation.png (OUT_DIR: RUN/latent unless --out-dir says otherwise) (one row from a
confident FROM digit to a confident TO digit, endpoints found with the MNIST classifier) and
OUT_DIR/arithmetic.png (one row per A-B+C: mean z of A, of B, of C, then
A - B + C), and prints what the classifier sees in each picture. See
docs/latent.md.
"""
import argparse
import os
import re
import sys

import numpy as np

from minigan.backend import to_numpy
from minigan.gan import latent
from minigan.gan.model import GANModel
from minigan.gan.priors import Gaussian
from minigan.metrics import ClassifierWeightsError
from minigan.training.cli import check_output, load_or_exit, positive_int, run_folder, seed_int, tool_parser
from minigan.training.plots import save_grid

MAX_STEPS = 100  # images along the interpolation: one row of the picture


def triple(text):
    m = re.fullmatch(r"\s*(\d)\s*-\s*(\d)\s*\+\s*(\d)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected A-B+C with digits, e.g. 7-1+4, got {text!r}")
    return tuple(int(g) for g in m.groups())


def main(argv=None):
    p = tool_parser(__doc__)
    p.add_argument("--from-digit", type=int, default=3, choices=range(10), metavar="D",
                   help="the digit the interpolation starts from")
    p.add_argument("--to-digit", type=int, default=4, choices=range(10), metavar="D",
                   help="the digit it ends at")
    p.add_argument("--steps", type=int, default=10, help="images along the interpolation, both ends included")
    p.add_argument("--mode", choices=["slerp", "linear"], default="slerp",
                   help="the path between the two latents: along the sphere (slerp) or straight")
    p.add_argument("--arithmetic", type=triple, action="append", metavar="A-B+C",
                   help="a row of the arithmetic picture (repeatable; unset: 7-1+4, 8-0+1, 9-4+7)")
    p.add_argument("--per-digit", type=positive_int, default=32, help="latents averaged per digit")
    p.add_argument("--confidence", type=float, default=0.9, help="classifier probability a latent must reach")
    p.add_argument("--max-batches", type=positive_int, default=100,
                   help="batches of 256 latents drawn at most when looking for a digit")
    p.add_argument("--classifier", default=None, help="classifier weights (.npz; unset: the committed ones)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the latents drawn")
    p.add_argument("--out-dir", default=None, help="folder for the pictures (unset: RUN/latent)")
    args = p.parse_args(argv)
    if not 2 <= args.steps <= MAX_STEPS:
        p.error(f"--steps {args.steps}: must be from 2 to {MAX_STEPS} (the images of one row)")
    if not 0 <= args.confidence <= 1:
        p.error(f"--confidence {args.confidence}: must be in [0, 1]")
    triples = args.arithmetic or [(7, 1, 4), (8, 0, 1), (9, 4, 7)]
    out_dir = args.out_dir or os.path.join(run_folder(args.run), "latent")
    check_output(p, "--out-dir", out_dir, folder=True)
    model = load_or_exit(args.run, args.backend)
    if not isinstance(model, GANModel) or type(model.prior) is not Gaussian:
        print(f"error: {args.run} holds a {model.label()} run; explore_latent.py walks the noise space of an "
              "unconditional GAN (mlp, dcgan)", file=sys.stderr)
        return 2
    G = model.sampler()
    try:
        classifier = None
        if args.classifier:
            from minigan.metrics import load_classifier
            classifier = load_classifier(args.classifier)
        z_dim, rng = model.cfg.z_dim, np.random.default_rng(args.seed)
        find = dict(classifier=classifier, rng=rng, confidence=args.confidence, max_batches=args.max_batches)

        # ---- interpolation ---------------------------------------------------------------
        z0 = latent.find_digit_latents(G, z_dim, args.from_digit, 1, **find)[0]
        z1 = latent.find_digit_latents(G, z_dim, args.to_digit, 1, **find)[0]
        images = latent.interpolate(G, z0, z1, steps=args.steps, mode=args.mode)
        probs = latent.classify(images, classifier)
    except (ClassifierWeightsError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "interpolation.png")
    save_grid(path, to_numpy(images), nrow=args.steps)
    print(f"{args.mode} from a {args.from_digit} to a {args.to_digit} -> {path}; the classifier sees:")
    for t, pr in zip(np.linspace(0, 1, args.steps), probs):
        print(f"  t={t:.2f}  {pr.argmax()}  (p={pr.max():.2f})")

    # ---- arithmetic on averaged latents --------------------------------------------------
    digits = sorted({d for tr in triples for d in tr})
    try:
        means = latent.digit_means(G, z_dim, digits, per_digit=args.per_digit, **find)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows, typical = [], np.sqrt(z_dim)
    print(f"arithmetic on mean latents of {args.per_digit} samples per digit "
          f"(a sample from N(0, I) has |z| ~ {typical:.1f}):")
    for a, b, c in triples:
        r = latent.latent_arithmetic(G, means, a, b, c, classifier)
        rows.append(to_numpy(r["images"]))
        norms = np.linalg.norm(to_numpy(r["z"]), axis=1)
        seen = [f"{d} (p={p:.2f}, |z|={n:.1f})" for d, p, n in zip(r["predicted"], r["confidence"], norms)]
        print(f"  {a} - {b} + {c}:  mean {a} -> {seen[0]},  mean {b} -> {seen[1]},  mean {c} -> {seen[2]},"
              f"  {a}-{b}+{c} -> {seen[3]}")
    path = os.path.join(out_dir, "arithmetic.png")
    save_grid(path, np.concatenate(rows), nrow=4)
    print(f"rows: mean z of A, of B, of C, A - B + C -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
