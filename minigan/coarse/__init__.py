"""Coarse-to-fine models' pieces: the Laplacian pyramid (LAPGAN) and captions made from MNIST (StackGAN)."""
