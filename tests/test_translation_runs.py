"""Every image-to-image model's run: stopped part-way and resumed, it ends exactly where an unbroken run ends.

The weights, the optimizers' moments, CycleGAN's pools of past fakes, SRGAN's switch from
pre-training to the GAN (the cut falls in pre-training, the resume crosses the switch) and
the log, bit for bit. Small networks on a few real MNIST digits.
"""
import numpy as np
import pytest

from minigan import models
from minigan.training.config import validate
from minigan.training.run import Run, read_checkpoint

SMALL = {"pix2pix": dict(base=4, limit=64, batch_size=16),                      # 4 steps an epoch
         "cyclegan": dict(base=2, blocks=1, pool_size=5, limit=96, batch_size=8),  # 48 per domain: 6 steps
         "discogan": dict(base=4, limit=96, batch_size=8),
         "srgan": dict(base=2, blocks=1, limit=64, batch_size=16, pretrain_epochs=1)}


def config(name, out, **kw):
    model_cls = models.get(name)
    return validate(model_cls.Config(epochs=2, out=str(out), progress=False, sample_every=2, **SMALL[name], **kw))


def without_time(path):
    with open(path) as f:
        return [line.rsplit(",", 1)[0] for line in f]


@pytest.mark.parametrize("name", sorted(SMALL))
def test_a_stopped_and_resumed_run_ends_where_an_unbroken_one_does(mnist, tmp_path, name):
    straight = Run(config(name, tmp_path / "a"))
    assert straight.train() == "finished"
    cut = Run(config(name, tmp_path / "b", max_steps=3))
    assert cut.train() == "stopped" and cut.step == 3
    resumed = Run(config(name, tmp_path / "b"), resume=True, allow_changes=True)
    assert resumed.train() == "finished" and resumed.step == straight.step
    meta_a, a = read_checkpoint(str(tmp_path / "a" / "checkpoint.npz"))
    meta_b, b = read_checkpoint(str(tmp_path / "b" / "checkpoint.npz"))
    assert meta_a["step"] == meta_b["step"] and meta_a["rngs"] == meta_b["rngs"] and sorted(a) == sorted(b)
    for key in a:
        assert np.array_equal(a[key], b[key]), key
    assert without_time(tmp_path / "a" / "log.csv") == without_time(tmp_path / "b" / "log.csv")
    if name == "cyclegan":
        assert any(k.startswith("pool_a/") for k in a)                # the pools are in the checkpoint
