"""Train pix2pix (Isola et al. 2017) on MNIST: edge maps -> digits, learned from pairs.

    python examples/train_pix2pix.py                   # CPU, 5 epochs: U-Net G, PatchGAN D, BCE + 100 L1
    python examples/train_pix2pix.py --loss l1         # the paper's ablation: L1 alone (blurry where unsure)
    python examples/train_pix2pix.py --loss gan        # ... or the GAN term alone
    python examples/train_pix2pix.py --backend cupy    # on an NVIDIA GPU
    python examples/translate.py runs/pix2pix --n 100 --npy out.npy   # translate test edge maps afterwards

The run folder's grids show ten test edge maps (one per digit), G's outputs
and the true digits, row by row; metrics.json holds how often minigan's
classifier reads the output as the digit the edges came from, the FID against
the test digits and the L1 to them. The model is minigan/models/pix2pix.py;
--help lists every setting.
"""
import sys

from minigan.training.cli import main

if __name__ == "__main__":
    sys.exit(main("pix2pix"))
