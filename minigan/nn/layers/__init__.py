"""Every layer with its forward and its backward side by side, one idea per file."""
from .activations import LeakyReLU, PReLU, ReLU, Sigmoid, Tanh, sigmoid
from .batchnorm import BatchNorm1d, BatchNorm2d
from .combine import Concat, Fork, Identity, Parallel, Residual
from .conditioning import ConditioningAugmentation
from .convolution import Conv2d, ConvTranspose2d
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding, OneHot, one_hot
from .instancenorm import InstanceNorm2d
from .layernorm import LayerNorm
from .minibatch_std import MinibatchStd
from .reparameterize import Reparameterize
from .reshape import Flatten, PixelShuffle, ReflectionPad2d, Reshape, Upsample2d
from .spectral_norm import SpectralNorm, spectral_normalize

__all__ = ["Dense", "Conv2d", "ConvTranspose2d", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "LeakyReLU", "ReLU",
           "Tanh", "Sigmoid", "sigmoid", "Dropout", "Flatten", "Reshape", "Upsample2d", "Identity", "Concat",
           "Parallel", "Fork", "Embedding", "OneHot", "one_hot", "Reparameterize", "SpectralNorm",
           "spectral_normalize", "MinibatchStd", "InstanceNorm2d", "PReLU", "PixelShuffle",
           "ReflectionPad2d", "Residual", "ConditioningAugmentation"]
