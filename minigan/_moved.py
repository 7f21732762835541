"""Where the flat modules went: old import paths keep working, with a DeprecationWarning naming the new one.

Until 0.2 minigan/ was one folder of 29 modules. It is now in wings (``nn/``,
``gan/``, ``translation/``, ``coarse/``, ``training/``), and a few things were
renamed so that one name means one thing (a model is a ``Model``, not a
``Model``: a task is a translator's data set). A script written against the old
layout still runs: ``import minigan.layers`` gives the module now at
``minigan.nn.layers``, ``from minigan.run import load_task`` gives
``minigan.training.run.load_model``, each with one warning that says what to
write instead. This file is the only place that knows the old names; nothing
in minigan imports them.
"""
import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

#: old module -> new module (a name under an old module moves with it: minigan.layers.dense -> minigan.nn.layers.dense)
MOVED = {
    "minigan.layers": "minigan.nn.layers",
    "minigan.conv": "minigan.nn.conv",
    "minigan.init": "minigan.nn.init",
    "minigan.optim": "minigan.nn.optim",
    "minigan.losses": "minigan.nn.losses",
    "minigan.gradcheck": "minigan.nn.gradcheck",
    "minigan.fastpath": "minigan.nn.fastpath",
    "minigan.objectives": "minigan.gan.objectives",
    "minigan.priors": "minigan.gan.priors",
    "minigan.penalties": "minigan.gan.penalties",
    "minigan.ema": "minigan.gan.ema",
    "minigan.networks": "minigan.gan.networks",
    "minigan.latent": "minigan.gan.latent",
    "minigan.translation_data": "minigan.translation.data",
    "minigan.translation_networks": "minigan.translation.networks",
    "minigan.perceptual": "minigan.translation.perceptual",
    "minigan.image_pool": "minigan.translation.image_pool",
    "minigan.pyramid": "minigan.coarse.pyramid",
    "minigan.captions": "minigan.coarse.captions",
    "minigan.run": "minigan.training.run",
    "minigan.task": "minigan.training.model",
    "minigan.config": "minigan.training.config",
    "minigan.cli": "minigan.training.cli",
    "minigan.plots": "minigan.training.plots",
}

#: names of an old module that now live elsewhere or are called otherwise: {old module: {old name: "module:new name"}}
#: (None: gone, with the reason). minigan.gan and minigan.translation were modules and are now packages.
RENAMED = {
    "minigan.gan": {"GANTask": "minigan.gan.model:GANModel", "GANConfig": "minigan.gan.model:GANConfig",
                    "BCEGANConfig": "minigan.gan.model:BCEGANConfig",
                    "load_generator": "minigan.training.run:load_generator",
                    "GANStep": None},
    "minigan.translation": {"TranslationTask": "minigan.translation.translator:Translator",
                            "TranslationConfig": "minigan.translation.translator:TranslationConfig",
                            "TranslationError": "minigan.translation.translator:TranslationError",
                            "input_gradient": "minigan.nn:input_gradient"},
    "minigan.task": {"Task": "minigan.training.model:Model"},
    "minigan.run": {"load_task": "minigan.training.run:load_model"},
}
#: why a name is gone
GONE = {"GANStep": "each model's step is in its own file since minigan 0.2 (the original GAN's: "
                   "minigan.gan.model.GANModel.step; its pieces: minigan.gan.step)"}


def _new_module(old):
    """The new dotted name of an old module path, or None if it did not move."""
    for prefix, new in MOVED.items():
        if old == prefix or old.startswith(prefix + "."):
            return new + old[len(prefix):]
    return None


def moved_attribute(old_module, name):
    """The object an old module's ``name`` now is (one DeprecationWarning), or AttributeError as Python gives it."""
    renamed = RENAMED.get(old_module, {})
    if name not in renamed:
        raise AttributeError(f"module {old_module!r} has no attribute {name!r}")
    target = renamed[name]
    if target is None:
        raise AttributeError(f"{old_module}.{name} is gone: {GONE[name]}")
    module, new_name = target.split(":")
    warnings.warn(f"{old_module}.{name} is now {module}.{new_name}", DeprecationWarning, stacklevel=3)
    return getattr(importlib.import_module(module), new_name)


class _OldPath(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old module path and hands back a stand-in module that forwards every name to the new module."""

    def find_spec(self, fullname, path=None, target=None):
        new = _new_module(fullname)
        if new is None:
            return None
        is_package = hasattr(importlib.import_module(new), "__path__")
        return importlib.util.spec_from_loader(fullname, self, is_package=is_package)

    def create_module(self, spec):
        new_name = _new_module(spec.name)
        new = importlib.import_module(new_name)
        warnings.warn(f"{spec.name} is now {new_name}", DeprecationWarning, stacklevel=2)
        stand_in = types.ModuleType(spec.name, new.__doc__)
        renamed = RENAMED.get(spec.name, {})

        def forward(name):
            if name in renamed:
                return moved_attribute(spec.name, name)
            return getattr(new, name)

        stand_in.__getattr__ = forward
        stand_in.__all__ = [n for n in dir(new) if not n.startswith("_")] + list(renamed)
        if hasattr(new, "__path__"):
            stand_in.__path__ = []               # a package: its old submodule paths are found here too
        return stand_in

    def exec_module(self, module):
        pass


def install():
    """Let the old paths be found (after every real module: an old path never shadows a new one).

    minigan.gan and minigan.translation are packages now, found before any old path: their old
    names are looked up here when Python does not find them on the package (PEP 562).
    """
    if not any(isinstance(f, _OldPath) for f in sys.meta_path):
        sys.meta_path.append(_OldPath())
    for old in ("minigan.gan", "minigan.translation"):
        package = importlib.import_module(old)
        package.__getattr__ = lambda name, old=old: moved_attribute(old, name)
