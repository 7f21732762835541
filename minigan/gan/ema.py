r"""An exponential moving average of the generator's weights, for sampling.

A GAN's generator keeps moving around the equilibrium: consecutive iterates
differ in noisy ways (speckles, strokes that come and go). Averaging the
iterates,

    θ_ema <- β θ_ema + (1 - β) θ          after every G step,

smooths that noise out and gives markedly better samples for no extra
training (Yazıcı et al., "The Unusual Effectiveness of Averaging in GAN
Training", ICLR 2019). The average is only *read*: it never feeds back into
training. Early on β is ramped up so the average is not dominated by the random
initial weights, by one of two rules (``warmup``):

    "tf":    β_t = min(β, (1 + t) / (10 + t))   TensorFlow's ExponentialMovingAverage(num_updates);
                                                 β = 0.999 is reached only at t = 8990
    "mean":  β_t = min(β, t / (t + 1))           the plain mean of every G so far, until the
                                                 window 1 / (1 - β) is full (t = 999 for 0.999)

In a short run the rule decides how many G's are averaged: after 4,690 updates
(5 DCGAN epochs) "tf" has β_t = 0.998, a window of about 500 updates; "mean"
averages the last 1,000.

Batchnorm's running statistics are not weights: those of the live G describe
the live G's activations, not the averaged G's. :meth:`EMA.recalibrate`
measures them afresh by running the averaged G on a few noise batches.
"""


class EMA:
    """``shadow`` is a copy of ``model`` whose weights track the average of ``model``'s."""

    RAMPS = {"tf": lambda t: (1 + t) / (10 + t), "mean": lambda t: t / (t + 1)}

    def __init__(self, model, shadow, beta=0.999, warmup="tf"):
        if warmup not in self.RAMPS:
            raise ValueError(f"EMA: warmup must be one of {sorted(self.RAMPS)}, got {warmup!r}")
        self.model, self.shadow, self.beta, self.ramp = model, shadow, beta, self.RAMPS[warmup]
        self.shadow.load_state_dict(model.state_dict())
        self.shadow.eval()
        self.t = 0
        self.stale = True  # batchnorm statistics not yet measured for the current average

    def update(self):
        """Move the average towards the current weights."""
        # --8<-- [start:ema-update]
        beta = min(self.beta, self.ramp(self.t))
        for avg, p in zip(self.shadow.parameters(), self.model.parameters()):
            avg.data *= beta
            avg.data += (1 - beta) * p.data                     # θ_ema = β θ_ema + (1 - β) θ
        self.t += 1
        self.stale = True
        # --8<-- [end:ema-update]

    def recalibrate(self, z_batches):
        """Set every batchnorm's running mean and variance to their average over ``z_batches``.

        With momentum 1 / (i + 1) at batch i, the running estimate after K
        batches is the plain mean of the K batch statistics.
        """
        norms = [m for m in self.shadow.modules() if "running_mean" in m.buffers]
        momenta = [m.momentum for m in norms]
        # --8<-- [start:ema-recalibrate]
        self.shadow.train()
        try:
            for i, z in enumerate(z_batches):
                for m in norms:
                    m.momentum = 1 / (i + 1)
                self.shadow(z)
        finally:
            for m, momentum in zip(norms, momenta):
                m.momentum = momentum
            self.shadow.eval()
        self.stale = False
        # --8<-- [end:ema-recalibrate]
