"""The registry of models: one module per model, each registering its model by name.

The run (``minigan/training/run.py``), the example scripts, ``benchmarks/bench.py`` and
``benchmarks/profile_step.py`` all find a model here, by the name its model
declares. Every module of this folder is imported and registers its model class
with ``@register``: adding a model is one new module here and one example
script, and nothing else changes.
"""
import importlib
import pkgutil

_REGISTRY = {}
#: the model modules: every module in this folder
MODULES = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")))


def register(model_cls):
    """Class decorator: make ``task_cls`` findable as ``get(task_cls.name)``."""
    if model_cls.name in _REGISTRY and _REGISTRY[model_cls.name] is not model_cls:
        raise ValueError(f"two models are named {model_cls.name!r}")
    _REGISTRY[model_cls.name] = model_cls
    return model_cls


def _load_all():
    for module in MODULES:
        importlib.import_module(f"{__name__}.{module}")


def get(name):
    """The model class registered as ``name``, or a ValueError listing the names there are."""
    _load_all()
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}: choose one of {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def label(name):
    """A model as messages name it: its file's name, as its example's (``examples/train_<file>.py``).

    That is the registry's name for every model but the MLP GAN: ``label("mlp")`` is ``"mlp_gan"``
    (its registry name stays "mlp": checkpoints store it). An unknown name is given back as it is.
    """
    _load_all()
    return _REGISTRY[name].label() if name in _REGISTRY else str(name)


def names():
    _load_all()
    return sorted(_REGISTRY)
