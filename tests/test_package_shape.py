"""The package's shape holds: wings that import only downwards, no cycle, no model importing another,
each model's step in its own file (or one hop away), and the old import paths forwarded.

The import graph is read from the source with ``ast``, imports inside functions included: an
import moved into a function to dodge a cycle is still a cycle.
"""
import ast
import importlib
import inspect
import pathlib
import re
import textwrap
import warnings

import pytest

from minigan import _moved, models

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "minigan"

#: the layers, bottom first: a module imports only from its own layer or those below it
LAYERS = [
    ("the backend", ["minigan.backend", "minigan.version"]),
    ("the engine", ["minigan.nn", "minigan.nn.*"]),
    ("data, metrics and settings", ["minigan.data", "minigan.metrics", "minigan.training.config",
                                    "minigan.training.plots", "minigan.training.checkpoint"]),
    ("what a model is", ["minigan.training.model"]),
    ("the GAN game", ["minigan.gan", "minigan.gan.*"]),
    ("image to image", ["minigan.translation", "minigan.translation.*"]),
    ("coarse to fine", ["minigan.coarse", "minigan.coarse.*"]),
    ("the models", ["minigan.models", "minigan.models.*"]),
    ("the run", ["minigan.training", "minigan.training.run", "minigan.training.cli"]),
    ("the package", ["minigan", "minigan._moved"]),
]


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def layer_of(name):
    for i, (_, patterns) in enumerate(LAYERS):
        for pattern in patterns:
            if name == pattern or (pattern.endswith(".*") and name.startswith(pattern[:-1])):
                return i
    raise AssertionError(f"{name} belongs to no layer of tests/test_package_shape.py: add it to LAYERS")


def imports(name):
    """The minigan modules ``name`` imports, anywhere in its source."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:                          # `from . import x` may name a module
                target = f"{source}.{alias.name}"
                found.add(target if target in MODULES else source)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imports(name) for name in MODULES}


def test_every_module_is_in_a_layer_and_imports_only_downwards():
    upward = [f"{a} ({LAYERS[layer_of(a)][0]}) imports {b} ({LAYERS[layer_of(b)][0]})"
              for a, targets in GRAPH.items() for b in targets if layer_of(b) > layer_of(a)]
    assert not upward, "imports from a layer above: " + "; ".join(sorted(upward))


def test_no_import_cycle():
    state, path = {}, []

    def visit(name):
        state[name] = "open"
        path.append(name)
        for target in sorted(GRAPH[name]):
            if state.get(target) == "open":
                cycle = path[path.index(target):] + [target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[name] = "done"

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)


def test_no_model_imports_another():
    """What two models share lives below them (the two-domain translator in translation/cycle.py)."""
    crossed = [f"{a} imports {b}" for a, targets in GRAPH.items() if a.startswith("minigan.models.")
               for b in targets if b.startswith("minigan.models.")]
    assert not crossed, "; ".join(crossed)


def test_the_layers_are_folders():
    """The engine, the game, the translators, the coarse-to-fine pieces and the run each have a folder."""
    top = sorted(p.name for p in PACKAGE.iterdir() if p.suffix == ".py")
    assert top == ["__init__.py", "_moved.py", "backend.py", "data.py", "metrics.py", "version.py"]
    for folder in ("nn", "gan", "translation", "coarse", "training", "models"):
        assert (PACKAGE / folder / "__init__.py").is_file(), folder


# ---- one hop from a model's file to its losses and its G.backward ------------------------------------------

SHARED_STEPS = {"GANModel": "minigan/gan/model.py", "CycleTranslator": "minigan/translation/cycle.py"}


def trivial(function):
    """True for a method whose body does nothing: a docstring and pass, ..., or a constant returned."""
    body = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0].body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return all(isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
               or (isinstance(s, ast.Return) and (s.value is None or isinstance(s.value, (ast.Constant, ast.Dict))))
               for s in body)


def reached(model_cls):
    """What a step runs through: ``step``, every ``self.<method>(`` it calls, transitively, and the functions
    of the model's own module it calls (the VAE's ``negative_elbo``)."""
    seen, todo = {}, ["step"]
    own = vars(inspect.getmodule(model_cls))
    while todo:
        name = todo.pop()
        function = getattr(model_cls, name, None) if name in dir(model_cls) else own.get(name)
        if name in seen or not inspect.isfunction(function) or not function.__module__.startswith("minigan"):
            continue
        seen[name] = function
        source = inspect.getsource(function)
        todo += re.findall(r"\bself\.([a-z_][a-z_0-9]*)\(", source)
        todo += [n for n in re.findall(r"(?<![.\w])([a-z_][a-z_0-9]*)\(", source)
                 if inspect.isfunction(own.get(n)) and own[n].__module__ == model_cls.__module__]
    return seen


@pytest.mark.parametrize("name", models.names())
def test_a_models_step_is_in_its_file_or_one_hop_away_with_no_hook_between(name):
    model_cls = models.get(name)
    owner = next(c for c in model_cls.__mro__ if "step" in vars(c))
    if owner is not model_cls:   # a step taken as it is: from the shared class the model derives from directly
        assert owner in model_cls.__bases__ and owner.__name__ in SHARED_STEPS, (
            f"{name}: its step is {owner.__qualname__}, more than one hop from {model_cls.__module__}")
    methods = reached(model_cls)
    hooks = [m for m, f in methods.items() if trivial(f)]
    assert not hooks, f"{name}: the step runs through methods that do nothing here: {hooks}"
    source = "\n".join(inspect.getsource(f) for f in methods.values())
    assert re.search(r"\.backward\(", source), f"{name}: no backward pass in its step"
    assert re.search(r"objective\.|loss_through_d|add_d_loss|add_d_term|negative_elbo", source), name


def test_the_original_gan_step_calls_no_hook():
    """GANModel.step's D and G gradients are written out: no method a model fills in between."""
    from minigan.gan.model import GANModel

    assert set(reached(GANModel)) == {"step", "draw", "d_gradients", "g_gradients", "r1_penalty", "update_average"}


# ---- the old flat import paths still work, with a warning ---------------------------------------------------

@pytest.mark.parametrize("old, new", sorted(_moved.MOVED.items()))
def test_an_old_module_path_gives_the_new_module_with_a_warning(old, new):
    with pytest.warns(DeprecationWarning, match=f"{re.escape(old)} is now {re.escape(new)}"):
        module = importlib.import_module(old)
    new_module = importlib.import_module(new)
    public = [n for n in dir(new_module) if not n.startswith("_")]
    assert public and all(getattr(module, n) is getattr(new_module, n) for n in public)


@pytest.mark.parametrize("old_module, name", [(m, n) for m, names in sorted(_moved.RENAMED.items())
                                               for n in sorted(names)])
def test_an_old_name_gives_the_new_object_or_says_why_it_is_gone(old_module, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module = importlib.import_module(old_module)
    target = _moved.RENAMED[old_module][name]
    if target is None:
        with pytest.raises(AttributeError, match=r"is gone: .*own file"):
            getattr(module, name)
        return
    new_module, new_name = target.split(":")
    with pytest.warns(DeprecationWarning, match=re.escape(f"{old_module}.{name} is now {new_module}.{new_name}")):
        obj = getattr(module, name)
    assert obj is getattr(importlib.import_module(new_module), new_name)


def test_a_layer_imported_by_an_old_path_is_the_same_class():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from minigan.layers.dense import Dense as old
    from minigan.nn.layers.dense import Dense
    assert old is Dense
