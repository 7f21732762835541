"""Train the fully connected GAN on MNIST.

    python examples/train_mlp_gan.py                  # CPU, 20 epochs
    python examples/train_mlp_gan.py --backend cupy   # on an NVIDIA GPU
    python examples/train_mlp_gan.py --limit 512 --epochs 1   # a smoke run
"""
import sys

from minigan.cli import config_from_args, run, train_parser

if __name__ == "__main__":
    args = train_parser("mlp", __doc__.splitlines()[0]).parse_args()
    sys.exit(run(config_from_args("mlp", args), resume=args.resume))
