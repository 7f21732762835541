"""minigan's version: what a checkpoint records beside the commit (``training/run.py``)."""
__version__ = "0.2.0"
