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

from ..errors import ConfigError
from ..chunked import chunked


class ErrorMetric:
    """Caches ``u⋆`` on the evaluation points and measures a model against it.

    Args:
        exact: per-point exact solution ``[d] -> []`` (``[m]`` for a system).
        points: evaluation points ``[M, d]``.
        chunk: points per forward pass.
        output_names: names of the ``m`` outputs (for ``l2_rel_<name>``); ``None`` for one output.
        values: ``u⋆`` at ``points`` (``[M]`` or ``[M, m]``) given as data instead of ``exact``
            (:class:`~pinnsolve.problem.reference_data.ReferenceData`).
    """

    def __init__(self, exact, points: Tensor, chunk: int = 65536, output_names: list[str] | None = None,
                 values: Tensor | None = None):
        self.points, self.chunk = points, chunk
        self.names = list(output_names) if output_names and len(output_names) > 1 else []
        width = max(1, len(self.names))
        self.reference = (values.to(points).reshape(len(points), -1) if values is not None
                          else self._reference(exact, points, chunk))
        if self.reference.shape[1] != width:
            raise ConfigError(f"the exact solution gives {self.reference.shape[1]} value(s) per point, but the problem "
                              f"has {width} output(s): return one value per output (a vector [m] for a system)")
        bad = ~torch.isfinite(self.reference).all(dim=1)
        if bad.any():
            first = points[bad.nonzero()[0, 0]].tolist()
            raise ConfigError(
                f"the exact solution is NaN or infinite at {int(bad.sum())} of {len(points)} evaluation points (first "
                f"at x = {[round(v, 6) for v in first]}), so every error against it would be NaN. Fix exact(x) there, "
                "or leave exact out of the Problem"
            )

    @staticmethod
    def _reference(exact, points: Tensor, chunk: int) -> Tensor:
        """``u⋆`` at ``points``: ``[M, m]``; a function written for a batch or for numpy is one clear error."""
        try:
            return chunked(vmap(exact), points, chunk).reshape(len(points), -1)
        except Exception as exc:  # noqa: BLE001 - re-raised with how exact(x) is called
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ConfigError(
                f"the exact solution failed ({type(exc).__name__}: {first}). exact(x) is called for ONE point: x has "
                f"shape [{points.shape[1]}] (write x[0] for its first coordinate, not x[:, 0]); it is batched with "
                "torch.func.vmap, so it must stay in torch (no numpy, .item() or Python if on a value: use "
                "torch.where) and return a scalar (a vector [m] for a system)"
            ) from exc

    @torch.no_grad()
    def predict(self, model: nn.Module, points: Tensor | None = None) -> Tensor:
        """``u_θ`` at the points: ``[M]``, or ``[M, m]`` for a system."""
        points = self.points if points is None else points
        out = chunked(model, points, self.chunk)
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
