"""minigan: generative adversarial networks from scratch, with arrays only.

Every layer has a hand-written forward and backward pass; one switch moves the
same code between NumPy (CPU) and CuPy (NVIDIA GPU).
"""
from . import _moved, backend
from .backend import (BackendError, DeviceMismatchError, cupy_available, get_array_module, get_backend, set_backend,
                      to_device, to_numpy)
from .gan import objectives, penalties, priors
from .gan.penalties import gradient_penalty, r1_penalty
from .nn import (DoubleBackwardError, Layer, Parameter, Sequential, ShapeError, fastpath, gradcheck, init, layers,
                 losses, optim)
from .nn.gradcheck import check_double_backward, check_layer, numerical_gradient, rel_error
from .nn.init import seed
from .nn.layers import (BatchNorm1d, BatchNorm2d, Concat, Conv2d, ConvTranspose2d, Dense, Dropout, Embedding, Flatten,
                        Fork, Identity, InstanceNorm2d, LayerNorm, LeakyReLU, OneHot, Parallel, PixelShuffle, PReLU,
                        ReflectionPad2d, ReLU, Reparameterize, Reshape, Residual, Sigmoid, Tanh, Upsample2d)
from .nn.losses import BCE, L1, MSE, BCEWithLogits, BernoulliNLL, GaussianKL, SoftmaxCrossEntropy
from .nn.optim import SGD, Adam, RMSprop, clip_grad_norm, clip_grad_value, clip_weights
from .version import __version__

_moved.install()   # the old flat import paths (minigan.layers, minigan.run, ...) still work, with a warning
