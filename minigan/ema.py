r"""An exponential moving average of the generator's weights, for sampling.

A GAN's generator keeps moving around the equilibrium: consecutive iterates
differ in noisy ways (speckles, strokes that come and go). Averaging the
iterates,

    θ_ema <- β θ_ema + (1 - β) θ          after every G step,

smooths that noise out and gives markedly better samples for no extra
training (Yazıcı et al., "The Unusual Effectiveness of Averaging in GAN
Training", ICLR 2019). The average is only *read*: it never feeds back into
training. Early on β is ramped up as min(β, (1 + t) / (10 + t)) so the average
is not dominated by the random initial weights.
"""


class EMA:
    """``shadow`` is a copy of ``model`` whose weights track the average of ``model``'s."""

    def __init__(self, model, shadow, beta=0.999):
        self.model, self.shadow, self.beta = model, shadow, beta
        self.shadow.load_state_dict(model.state_dict())
        self.shadow.eval()
        self.t = 0

    def update(self):
        """Move the average towards the current weights; copy batchnorm's running statistics."""
        beta = min(self.beta, (1 + self.t) / (10 + self.t))
        for avg, p in zip(self.shadow.parameters(), self.model.parameters()):
            avg.data *= beta
            avg.data += (1 - beta) * p.data                     # θ_ema = β θ_ema + (1 - β) θ
        for (_, avg_layer), (_, layer) in zip(self.shadow._named_modules(), self.model._named_modules()):
            for k in layer.buffers:
                setattr(avg_layer, k, getattr(layer, k).copy())
        self.t += 1
