"""docs/models.md writes a whole new model (the least-squares GAN) in one file: it must keep working.

The page's code block is executed as a module of ``minigan.models``; the model
then trains through the shared run, and its objective's gradients match
finite differences.
"""
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import minigan.models as models
from minigan.nn.gradcheck import numerical_gradient, rel_error
from minigan.training.run import Run

PAGE = Path(__file__).resolve().parents[1] / "docs" / "models.md"


@pytest.fixture(scope="module")
def lsgan():
    code = next(b for b in re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S) if "class LSGAN" in b)
    module = types.ModuleType("minigan.models.lsgan_from_docs")
    module.__package__ = "minigan.models"
    sys.modules[module.__name__] = module
    try:
        exec(compile(code, str(PAGE), "exec"), module.__dict__)
        yield module
    finally:
        models._REGISTRY.pop("lsgan", None)
        sys.modules.pop(module.__name__, None)


def test_the_pages_model_trains_through_the_shared_run(lsgan, tmp_path):
    images = np.tanh(np.random.default_rng(0).standard_normal((128, 1, 28, 28))).astype(np.float32)
    cfg = lsgan.Config(out=str(tmp_path), epochs=1, batch_size=32, max_steps=3, progress=False, evaluate=False)
    run = Run(cfg, images=images)
    assert run.train() == "stopped" and isinstance(run.model, lsgan.LSGAN)
    assert (tmp_path / "checkpoint.npz").exists() and (tmp_path / "curves.png").exists()
    assert (tmp_path / "log.csv").read_text().splitlines()[0].split(",")[:4] == ["step", "epoch", "d_loss", "g_loss"]


@pytest.mark.parametrize("term", ["d_real", "d_fake", "g"])
def test_the_pages_objective_has_the_right_gradients(lsgan, term):
    out = np.random.default_rng(1).standard_normal((6, 1))
    objective = lsgan.LeastSquares()
    loss, grad = getattr(objective, term)(out)
    assert rel_error(grad, numerical_gradient(lambda: getattr(objective, term)(out)[0], out)) < 1e-7
