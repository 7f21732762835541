"""Train SRGAN (Ledig et al. 2017) on MNIST: 7 x 7 digits (4 x 4 average pooling) back to 28 x 28.

    python examples/train_srgan.py                               # 2 epochs of SRResNet (pixel MSE), then 2 of SRGAN
    python examples/train_srgan.py --content mse --adversarial 0 # SRResNet alone, 4 epochs
    python examples/train_srgan.py --content mse                 # the paper's SRGAN-MSE
    python examples/train_srgan.py --backend cupy                # on an NVIDIA GPU
    python examples/translate.py runs/srgan --n 100 --npy sr.npy # super-resolve test digits afterwards

The grids show ten 7 x 7 test digits (enlarged), G's 28 x 28 outputs and the
true digits. metrics.json holds, on the test digits, how often minigan's
classifier reads the output as the true digit, the FID against the test
digits, the L1 and PSNR to the true digits, and the same numbers for bicubic
upsampling. The model is minigan/models/srgan.py; --help lists every setting.
"""
import sys

from minigan.training.cli import main

if __name__ == "__main__":
    sys.exit(main("srgan"))
