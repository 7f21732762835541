"""The registry of models: one module per model, each registering its task by name.

The run (``minigan/training/run.py``), the example scripts, ``benchmarks/bench.py`` and
``benchmarks/profile_step.py`` all find a model here, by the name its task
declares. Every module of this folder is imported and registers its task
with ``@register``: adding a model is one new module here and one example
script, and nothing else changes.
"""
import importlib
import pkgutil

_REGISTRY = {}
#: the model modules: every module in this folder
MODULES = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")))


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
