"""CycleGAN's pool of past fakes (Shrivastava et al. 2017; Zhu et al. 2017, section 4).

D is updated on a mix of the newest fakes and fakes G drew earlier, so it does
not chase only G's latest move (which makes the pair oscillate). The pool keeps
up to ``size`` past fakes. For each new fake: while the pool is not full, it is
stored and used as it is; once full, with probability 1/2 it replaces a random
stored fake and the stored one is used instead, otherwise it is used as it is.
``size=0`` turns the pool off (every fake used as it is). The pool and its
random generator are part of a run's checkpoint, so a resumed run draws the
same fakes.
"""
import json

import numpy as np

from ..backend import get_array_module, to_device, to_numpy


class ImagePool:
    """``pool.query(fakes)`` -> fakes for D's step: each the new one or, half the time once full, an older one."""

    def __init__(self, size=50, seed=0, backend="numpy"):
        if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 0:
            raise ValueError(f"ImagePool: size must be an integer >= 0, got {size!r}")
        self.size = int(size)
        self.rng = np.random.default_rng(seed)
        self.backend = backend                              # where a checkpoint's fakes go back to
        self.images = []                                    # stored fakes, each (C, H, W), on the fakes' backend

    def query(self, fakes):
        if self.size == 0:
            return fakes
        out = []
        for fake in fakes:
            if len(self.images) < self.size:                # filling up: keep it, use it
                self.images.append(fake.copy())
                out.append(fake)
            elif self.rng.random() < 0.5:                   # full, heads: use a stored fake, keep the new one
                i = int(self.rng.integers(self.size))
                out.append(self.images[i])
                self.images[i] = fake.copy()
            else:                                           # full, tails: use the new one
                out.append(fake)
        return get_array_module(fakes).stack(out)

    def state_dict(self):
        """What a checkpoint keeps: the stored fakes (NumPy, (k, C, H, W)) and the generator's state (as JSON)."""
        stored = np.stack([to_numpy(x) for x in self.images]) if self.images else np.zeros((0,), np.float32)
        return {"images": stored, "rng": np.array(json.dumps(self.rng.bit_generator.state))}

    def load_state_dict(self, state):
        """Restore :meth:`state_dict`'s fakes (on the pool's backend) and generator."""
        self.images = [to_device(x, self.backend) for x in state["images"]] if len(state["images"]) else []
        self.rng.bit_generator.state = json.loads(str(state["rng"]))
