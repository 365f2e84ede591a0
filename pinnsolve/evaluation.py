r"""Errors against the exact solution on a fixed evaluation set.

.. math::
    \mathrm{l2\_rms} = \sqrt{\tfrac1M \sum_m (u_θ(x_m) − u⋆(x_m))^2},\qquad
    \mathrm{l2\_rel} = ‖u_θ − u⋆‖ / ‖u⋆‖

over ``M = 10·N_Ω`` points drawn once from the seed. ``l2_rms`` is what the papers log as "L2
error". For a system (``m > 1`` outputs) both run over every output, and ``l2_rel_<name>`` gives
each output's own relative error.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.func import vmap


class ErrorMetric:
    """Caches ``u⋆`` on the evaluation points and measures a model against it.

    Args:
        exact: per-point exact solution ``[d] -> []`` (``[m]`` for a system).
        points: evaluation points ``[M, d]``.
        chunk: points per forward pass.
        output_names: names of the ``m`` outputs (for ``l2_rel_<name>``); ``None`` for one output.
    """

    def __init__(self, exact, points: Tensor, chunk: int = 65536, output_names: list[str] | None = None):
        self.points, self.chunk = points, chunk
        self.names = list(output_names) if output_names and len(output_names) > 1 else []
        width = max(1, len(self.names))
        self.reference = torch.cat([vmap(exact)(block) for block in points.split(chunk)]).reshape(len(points), -1)
        if self.reference.shape[1] != width:
            raise ValueError(f"the exact solution gives {self.reference.shape[1]} value(s) per point, but the problem "
                             f"has {width} output(s): return one value per output (a vector [m] for a system)")

    @torch.no_grad()
    def predict(self, model: nn.Module, points: Tensor | None = None) -> Tensor:
        """``u_θ`` at the points: ``[M]``, or ``[M, m]`` for a system."""
        points = self.points if points is None else points
        out = torch.cat([model(block) for block in points.split(self.chunk)])
        return out.reshape(len(points), -1) if self.names else out.reshape(-1)

    def __call__(self, model: nn.Module) -> dict[str, Tensor]:
        """``{"l2_rms": …, "l2_rel": …}`` (and ``l2_rel_<name>`` per output of a system), 0-d tensors (no host sync)."""
        error = self.predict(model).reshape(self.reference.shape) - self.reference
        values = {
            "l2_rms": error.square().mean().sqrt(),
            "l2_rel": error.norm() / self.reference.norm(),
        }
        for i, name in enumerate(self.names):
            values[f"l2_rel_{name}"] = error[:, i].norm() / self.reference[:, i].norm()
        return values
