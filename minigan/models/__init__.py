"""The registry of models: one module per model, each registering its task by name.

The run (``minigan/run.py``), the example scripts, ``benchmarks/bench.py`` and
``benchmarks/profile_step.py`` all find a model here, by the name its task
declares. Adding a model is one new module in this folder, one line below,
and one example script: nothing else changes.
"""
import importlib

_REGISTRY = {}
MODULES = ("mlp_gan", "dcgan")


def register(task_cls):
    """Class decorator: make ``task_cls`` findable as ``get(task_cls.name)``."""
    if task_cls.name in _REGISTRY and _REGISTRY[task_cls.name] is not task_cls:
        raise ValueError(f"two models are named {task_cls.name!r}")
    _REGISTRY[task_cls.name] = task_cls
    return task_cls


def _load_all():
    for module in MODULES:
        importlib.import_module(f"{__name__}.{module}")


def get(name):
    """The task class registered as ``name``, or a ValueError listing the names there are."""
    _load_all()
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}: choose one of {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def names():
    _load_all()
    return sorted(_REGISTRY)
