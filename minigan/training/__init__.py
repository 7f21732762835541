"""The run around any model: its settings, the command line, the folder, checkpoints, resume, plots.

- ``config.py``: each setting declared once (default, check, flag, what resume does).
- ``model.py``: :class:`Model`, what the run asks of a model (its networks, step, pictures, metrics).
- ``run.py``: :class:`Run`, the training loop with checkpoints, resume, Ctrl-C and the NaN guard.
- ``cli.py``: the command line of every ``examples/train_*.py``.
- ``plots.py``: sample grids, the GIF and the loss curves.
"""
