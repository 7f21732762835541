"""Dense (fully connected) layer: y = x W + b."""
import numpy as np

from .. import init
from ..core import Layer, Parameter, require_int


class Dense(Layer):
    """y = x W + b.

    Shapes: x (N, in_features), W (in_features, out_features), b (out_features,),
    y (N, out_features). (PyTorch's ``nn.Linear`` stores W transposed, as
    (out, in); here W is stored the way the formula reads.)
    """

    init_kind = "linear"

    def __init__(self, in_features, out_features, bias=True, dtype=np.float32, rng=None):
        self.in_features = require_int("Dense", "in_features", in_features, 1)
        self.out_features = require_int("Dense", "out_features", out_features, 1)
        shape = (in_features, out_features)
        # --8<-- [start:dense-init]
        self.weight = Parameter(init.default_uniform(shape, in_features, dtype=dtype, r=rng))
        self.bias = Parameter(init.default_uniform((out_features,), in_features, dtype=dtype, r=rng)) if bias else None
        # --8<-- [end:dense-init]

    def check_input(self, x):
        super().check_input(x)
        # --8<-- [start:dense-check-input]
        self.expect_shape(x, (None, self.in_features), f"(N, {self.in_features})")
        # --8<-- [end:dense-check-input]

    def forward(self, x):
        self.x = x                                  # backward needs x for dL/dW
        self.dy = None                              # the previous backward's dy is stale: let it go
        y = x @ self.weight.data
        if self.bias is not None:
            y += self.bias.data
        return y

    def backward(self, dy):
        self.dy = dy                                # double_backward needs dy for its dP/dW
        if self.requires_grad:                      # (False: only dL/dx is wanted)
            self.weight.grad += self.x.T @ dy       # dL/dW = x^T dL/dy        (in, out)
            if self.bias is not None:
                self.bias.grad += dy.sum(axis=0)    # dL/db = sum_n dL/dy_n     (out,)
        if not self.input_grad:                     # (False: nobody reads dL/dx, Layer.no_input_grad)
            return None
        if self.out_features == 1:                  # one output: dy W^T is an outer product, which OpenBLAS
            return dy * self.weight.data.T          # runs 10x slower as a matrix product (0.44 vs 0.04 ms)
        return dy @ self.weight.data.T              # dL/dx = dL/dy W^T         (N, in)

    def double_backward(self, ddx):
        """Differentiate backward's dx = dy W^T once more, given ddx = dP/d(dx) (docs/wgan_gp.md).

        dx is linear in dy and in W and does not depend on x: dP/d(dy) is the
        forward's x W applied to ddx (no bias), dP/dW is the mixed term, and
        there is no second-order term for x.
        """
        if self.requires_grad:
            self.weight.grad += ddx.T @ self.dy     # dP/dW = ddx^T dy           (in, out)
        return ddx @ self.weight.data, None         # dP/d(dy) = ddx W            (N, out)

    def __repr__(self):
        return f"Dense({self.in_features}, {self.out_features}, bias={self.bias is not None})"
