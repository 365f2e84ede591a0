r"""The modified MLP of Wang, Teng & Perdikaris (2021), "Understanding and mitigating gradient flow
pathologies in physics-informed neural networks" (SIAM J. Sci. Comput. 43, A3055), Sec. 3.3.

Two encoders of the input gate every hidden layer:

.. math::
    U = σ(W_u x + b_u),\quad V = σ(W_v x + b_v),\quad h_0 = x,\\
    z_l = σ(W_l h_{l-1} + b_l),\quad h_l = z_l ⊙ U + (1 − z_l) ⊙ V \quad (l = 1…L),\qquad
    u = W_{out} h_L + b_{out},

the convention of the authors' JAX code (every hidden layer gated). All widths are equal.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .mlp import check_widths, equal_widths, make_activation, resolve_dtype


class ModifiedMLP(nn.Module):
    """The modified MLP (module docstring) with ``L`` gated hidden layers.

    Args:
        in_features, out_features, activation, dtype: as for :class:`~pinnsolve.models.MLP`.
        hidden: ``L`` equal widths (the encoders have the same width).

    Example:
        >>> ModifiedMLP(2, [8, 8]).num_parameters()  # U, V: 2·24; layers: 24 + 72; head: 9
        153
    """

    def __init__(self, in_features: int, hidden: Sequence[int] = (64, 64, 64), out_features: int = 1,
                 activation: str = "tanh", dtype: torch.dtype | str = torch.float64):
        super().__init__()
        width, depth = equal_widths("ModifiedMLP", hidden)
        check_widths("ModifiedMLP", [in_features, width, out_features])
        dtype = resolve_dtype(dtype)
        d, w = int(in_features), int(width)
        self.encoder_u = nn.Linear(d, w, dtype=dtype)
        self.encoder_v = nn.Linear(d, w, dtype=dtype)
        self.layers = nn.ModuleList([nn.Linear(d if i == 0 else w, w, dtype=dtype) for i in range(int(depth))])
        self.head = nn.Linear(w, int(out_features), dtype=dtype)
        self.activation = make_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u, v = self.activation(self.encoder_u(x)), self.activation(self.encoder_v(x))
        h = x
        for layer in self.layers:
            z = self.activation(layer(h))
            h = v + z * (u - v)
        return self.head(h)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
