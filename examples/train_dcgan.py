"""Train the DCGAN (transposed convolutions) on MNIST.

    python examples/train_dcgan.py                    # CPU, 5 epochs
    python examples/train_dcgan.py --backend cupy     # on an NVIDIA GPU
    python examples/train_dcgan.py --upsample nearest # Upsample2d + Conv2d instead of ConvTranspose2d
"""
import sys

from minigan.cli import config_from_args, run, train_parser

if __name__ == "__main__":
    parser = train_parser("dcgan", __doc__.splitlines()[0])
    parser.set_defaults(epochs=5)
    parser.add_argument("--upsample", choices=["convtranspose", "nearest"], default="convtranspose",
                        help="how G doubles the image size")
    args = parser.parse_args()
    sys.exit(run(config_from_args("dcgan", args, upsample=args.upsample), resume=args.resume))
