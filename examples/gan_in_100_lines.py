"""The whole GAN in one plain loop: read this file first.

The original GAN (Goodfellow et al. 2014) with fully connected networks, trained on MNIST with
minigan's hand-written layers. Nothing is hidden behind Run or Model; examples/train_mlp_gan.py
trains the same networks with checkpoints, logs and an average of G's weights on top. The game:

    min_G max_D  E_x[log D(x)] + E_z[log(1 - D(G(z)))]          D(x) = sigmoid(logit(x))

    python examples/gan_in_100_lines.py                         # 10 epochs on a CPU
    python examples/gan_in_100_lines.py --limit 2048 --epochs 1  # a smoke run
"""
import argparse
import os
import time

import numpy as np

from minigan import metrics
from minigan.backend import BackendError, to_device, to_numpy, xp_for
from minigan.data import DataError, batches, load_mnist_uint8
from minigan.nn import Sequential
from minigan.nn.layers import BatchNorm1d, Dense, Dropout, Flatten, LeakyReLU, Reshape, Tanh
from minigan.nn.losses import BCEWithLogits
from minigan.nn.optim import Adam
from minigan.training.plots import save_grid


def main(argv=None):
    p = argparse.ArgumentParser(description="Train the MLP GAN on MNIST in one plain loop.")
    p.add_argument("--epochs", type=int, default=10, help="passes over the training images (default: 10)")
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy"], help="default: numpy (the CPU)")
    p.add_argument("--seed", type=int, default=0, help="seeds the weights, the noise and the batches (default: 0)")
    p.add_argument("--out", default="runs/gan_in_100_lines", help="folder for the sample grids (default: %(default)s)")
    p.add_argument("--limit", type=int, default=None, help="train on the first LIMIT images only (default: all 60000)")
    p.add_argument("--samples", type=int, default=10000, help="samples scored at the end (default: 10000)")
    p.add_argument("--data-dir", help="folder holding the MNIST files (default: $MINIGAN_DATA_DIR, else "
                                      "~/.cache/minigan/mnist, downloading them there if missing)")
    args = p.parse_args(argv)
    try:                                     # no CuPy, or no MNIST: "error: ...", exit status 2, as every trainer
        xp = xp_for(args.backend)
        images = load_mnist_uint8("train", data_dir=args.data_dir)[0][:args.limit]
    except (BackendError, DataError) as exc:
        p.exit(2, f"error: {exc}\n")
    rng, z_dim = np.random.default_rng(args.seed), 64
    os.makedirs(args.out, exist_ok=True)

    # Data: (N, 1, 28, 28) float32, pixels 0..255 mapped to [-1, 1], the range of G's tanh.
    x = images[:, None].astype(np.float32) / 127.5 - 1

    # G: z (N, 64) -> image (N, 1, 28, 28). Batchnorm keeps each layer's activations in a good range.
    G = Sequential(Dense(z_dim, 256, rng=rng), BatchNorm1d(256), LeakyReLU(0.2),
                   Dense(256, 512, rng=rng), BatchNorm1d(512), LeakyReLU(0.2),
                   Dense(512, 1024, rng=rng), BatchNorm1d(1024), LeakyReLU(0.2),
                   Dense(1024, 784, rng=rng), Tanh(), Reshape(1, 28, 28)).to(args.backend)
    # D: image -> one logit (the probability "real" is its sigmoid). Dropout 0.3 keeps D from winning outright.
    D = Sequential(Flatten(), Dense(784, 512, rng=rng), LeakyReLU(0.2), Dropout(0.3, seed=args.seed),
                   Dense(512, 256, rng=rng), LeakyReLU(0.2), Dropout(0.3, seed=args.seed + 1),
                   Dense(256, 128, rng=rng), LeakyReLU(0.2), Dropout(0.3, seed=args.seed + 2),
                   Dense(128, 1, rng=rng)).to(args.backend)
    opt_G = Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))   # the DCGAN paper's settings, for both nets
    opt_D = Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = BCEWithLogits()                    # bce(logits, targets) -> (mean loss, dloss/dlogits)
    real_label = 0.9                         # one-sided label smoothing: D aims at 0.9 for real, 0 for fake

    def noise(n):                            # z ~ N(0, I), drawn on the CPU so both backends see the same z
        return to_device(rng.standard_normal((n, z_dim)).astype(np.float32), args.backend)

    def labels(n, value):
        return xp.full((n, 1), value, dtype=xp.float32)

    fixed_z = noise(64)                      # one fixed z: each epoch's grid shows the same 64 draws
    step, start, history = 0, time.time(), []
    for epoch in range(1, args.epochs + 1):
        for real in batches(x, batch_size=64, rng=rng):
            real, n = to_device(real, args.backend), len(real)
            # ---- D step: maximise log D(x) + log(1 - D(G(z))), i.e. minimise BCE on both halves ----
            D.zero_grad()
            loss_real, dlogit = bce(D(real), labels(n, real_label))   # -log D(x)        (target 0.9)
            D.backward(dlogit)                                         # adds dL/dθ_D of the real half into .grad
            fake = G(noise(n))                                         # x~ = G(z); G only runs forward here
            loss_fake, dlogit = bce(D(fake), labels(n, 0.0))           # -log(1 - D(x~))  (target 0)
            D.backward(dlogit)                                         # ... plus dL/dθ_D of the fake half
            opt_D.step()                                               # θ_D moves; θ_G does not
            # ---- G step: minimise -log D(G(z)) (non-saturating), through D, with θ_D held still ----
            loss_g, dlogit = bce(D(fake), labels(n, 1.0))              # -log D(x~), by the updated D (target 1)
            D.requires_grad_(False)                                    # D's backward gives dL/dx~ only ...
            dfake = D.backward(dlogit)                                 # ... and leaves D's .grad alone
            D.requires_grad_(True)
            G.zero_grad()
            G.backward(dfake)                      # dL/dθ_G = dL/dx~ dx~/dθ_G (G's caches still hold this z)
            opt_G.step()                                               # θ_G moves; θ_D does not
            step += 1
            history.append((float(loss_real + loss_fake), float(loss_g)))   # L_D and L_G of this step
            if step % 200 == 0:
                print(f"epoch {epoch} step {step}: D loss {history[-1][0]:.3f}  G loss {history[-1][1]:.3f}  "
                      f"({time.time() - start:.0f} s)", flush=True)
        G.eval()                                   # batchnorm uses its running statistics to draw samples
        save_grid(os.path.join(args.out, f"epoch_{epoch:03d}.png"), G(fixed_z), nrow=8)
        G.train()
    minutes = (time.time() - start) / 60

    # The judge: minigan's MNIST classifier labels the samples (score: 10 at best; FID: 0 at best).
    G.eval()
    samples = np.concatenate([to_numpy(G(noise(min(500, args.samples - i)))) for i in range(0, args.samples, 500)])
    report = metrics.evaluate_samples(samples)
    digits = " ".join(f"{100 * h:.1f}" for h in report["histogram"])
    print(f"{step} steps in {minutes:.1f} min; {len(samples)} samples: score "
          f"{report['score']:.2f} / 10, FID {report['fid']:.1f}, digits 0-9 (%): {digits}")
    return dict(history=history, report=report, G=G)


if __name__ == "__main__":
    main()
