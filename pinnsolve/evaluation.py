r"""Errors against the exact solution on a fixed evaluation set.

.. math::
    \mathrm{l2\_rms} = \sqrt{\tfrac1M \sum_m (u_θ(x_m) − u⋆(x_m))^2},\qquad
    \mathrm{l2\_rel} = ‖u_θ − u⋆‖ / ‖u⋆‖

over ``M = 10·N_Ω`` points drawn once from the seed. ``l2_rms`` is what the papers log as "L2
error" (SPEC §1).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.func import vmap


class ErrorMetric:
    """Caches ``u⋆`` on the evaluation points and measures a model against it.

    Args:
        exact: per-point exact solution ``[d] -> []``.
        points: evaluation points ``[M, d]``.
        chunk: points per forward pass.
    """

    def __init__(self, exact, points: Tensor, chunk: int = 65536):
        self.points, self.chunk = points, chunk
        self.reference = torch.cat([vmap(exact)(block) for block in points.split(chunk)]).reshape(-1)

    @torch.no_grad()
    def predict(self, model: nn.Module, points: Tensor | None = None) -> Tensor:
        points = self.points if points is None else points
        return torch.cat([model(block) for block in points.split(self.chunk)]).reshape(-1)

    def __call__(self, model: nn.Module) -> dict[str, Tensor]:
        """``{"l2_rms": …, "l2_rel": …}`` as 0-d tensors (no host sync)."""
        error = self.predict(model) - self.reference
        return {
            "l2_rms": error.square().mean().sqrt(),
            "l2_rel": error.norm() / self.reference.norm(),
        }
