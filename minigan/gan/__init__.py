"""The GAN game: what G is fed, what D and G minimise, and the pieces every GAN step is made of.

- ``step.py``: the terms of D's loss and the gradient of G's loss through D, written once.
- ``model.py``: :class:`GANModel`, what the GAN models of ``minigan/models/`` share, and the
  original GAN's step (Goodfellow et al. 2014, Algorithm 1).
- ``objectives.py``: the losses of the game (BCE, the Wasserstein critic, the hinge, least squares).
- ``priors.py``: what G is fed (noise; noise and a label; noise and codes).
- ``penalties.py``: gradient penalties (WGAN-GP, R1), through each layer's double backward.
- ``ema.py``, ``networks.py``, ``latent.py``: G's weight average, the shared bodies, latent walks.
"""
