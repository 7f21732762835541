"""Where the time of one GAN training step goes: cProfile of GANStep.step, by function.

    python benchmarks/profile_step.py dcgan            # batch 64, 20 steps after 3 warm-up steps
    python benchmarks/profile_step.py mlp --batch 256

Threads: set OPENBLAS_NUM_THREADS / OMP_NUM_THREADS before running, as for bench.py.
"""
import argparse
import cProfile
import pstats
import time

import numpy as np

from minigan import Adam, models
from minigan.gan import GANStep


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", choices=["mlp", "dcgan"])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--top", type=int, default=15)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    if args.model == "mlp":
        G, D, z_dim = models.mlp_generator(rng=rng), models.mlp_discriminator(rng=rng), 64
    else:
        G, D, z_dim = models.dcgan_generator(rng=rng), models.dcgan_discriminator(rng=rng), 100
    gan = GANStep(G, D, Adam(G.parameters(), 2e-4, (0.5, 0.999)), Adam(D.parameters(), 2e-4, (0.5, 0.999)), z_dim)
    real = rng.uniform(-1, 1, (args.batch, 1, 28, 28)).astype(np.float32)
    for _ in range(3):
        gan.step([real])
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    for _ in range(args.steps):
        gan.step([real])
    profile.disable()
    ms = (time.perf_counter() - start) / args.steps * 1000
    print(f"{args.model} GAN, batch {args.batch}: {ms:.1f} ms per step (with the profiler on)\n")
    pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
