"""Image-to-image models: the tasks' data, the translators' networks and what they share.

- ``data.py``: the tasks made from MNIST (edges, thickness, rotated, superres), paired or unpaired.
- ``translator.py``: :class:`Translator`, what every translator shares (translate, grids, judging).
- ``cycle.py``: the two-domain translator with a cycle loss, which CycleGAN and DiscoGAN both are.
- ``networks.py``: U-Net, ResNet and encoder-decoder generators, PatchGAN and SRGAN discriminators.
- ``perceptual.py``, ``image_pool.py``: SRGAN's feature loss, CycleGAN's pool of past fakes.
"""
