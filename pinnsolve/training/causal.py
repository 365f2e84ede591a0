r"""Causal weighting in time (Wang, Sankaran, Perdikaris, "Respecting causality for training
physics-informed neural networks", CMAME 421, 2024, eq. (3.6) and Algorithm 1).

The time interval ``[t_min, t_max]`` is cut into ``M`` equal slabs; with ``L_i`` the mean squared residual
of the points of the PDE condition in slab ``i`` (``‖r‖²`` summed over components), slab ``i``'s weight is

.. math::
    w_i = \exp\Big(-ε \sum_{k<i} L_k\Big),\qquad w_1 = 1,

held fixed during the step (no gradient flows through it). A point in slab ``i`` gets ``ω_n = w_i``, so
its row is scaled by ``√w_i`` and the condition's loss becomes ``(w_c/N_c) Σ_n ω_n r_n² ≈ (w_c/M) Σ_i w_i L_i``,
the paper's weighted loss: later times count only once the earlier ones are resolved. ``ε`` runs through a
schedule (the paper's ``10⁻², 10⁻¹, 1, 10, 100``) and moves on once every slab's weight exceeds
``tolerance`` (the paper's ``δ = 0.99``). The weights are recomputed from the step's own points before
each step, so the natural-gradient step and its line search minimise the same weighted loss.

    pinnsolve problem=allen_cahn callbacks=[causal]
    pinnsolve problem=wave callbacks=[causal] callbacks.causal.slabs=16 'callbacks.causal.epsilon=[1,10]'
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import ConfigError
from . import distributed as dd
from .callbacks import Callback


def causal_weights(t: Tensor, residuals: Tensor, slabs: int, epsilon: float, t_min: float, t_max: float,
                   reduce=None) -> tuple[Tensor, Tensor]:
    """Per-point weights ``ω: [n]`` and per-slab weights ``w: [M]`` (module docstring) for times ``t: [n]``
    and residuals ``[n]`` or ``[n, m]``; ``reduce`` sums the slabs' totals over processes (``None``: one).
    An empty slab has ``L_i = 0``."""
    index = ((t - t_min) / (t_max - t_min) * slabs).floor().clamp(0, slabs - 1).long()
    squares = residuals.reshape(len(t), -1).square().sum(dim=1)
    totals = torch.zeros(2, slabs, dtype=squares.dtype, device=squares.device)
    totals[0].index_add_(0, index, squares)
    totals[1].index_add_(0, index, torch.ones_like(squares))
    if reduce is not None:
        totals = reduce(totals)
    mean = totals[0] / totals[1].clamp_min(1)
    w = torch.exp(-epsilon * (torch.cumsum(mean, 0) - mean))
    return w[index], w


class CausalWeighting(Callback):
    """Weigh the points of ``condition`` by causal weights in time before every step (module docstring).

    Args:
        condition: the condition weighed (``None``: the first, the PDE condition).
        slabs: ``M``, the number of time slabs.
        epsilon: the schedule of ``ε`` (one number or a rising list).
        tolerance: move to the next ``ε`` once every slab's weight exceeds this.
        time_dim: the time coordinate (``None``: the input named ``t``).
        t_range: ``[t_min, t_max]`` (``None``: the condition's domain's bounds in ``time_dim``).
    """

    def __init__(self, condition: str | None = None, slabs: int = 32, epsilon=(1e-2, 1e-1, 1.0, 10.0, 100.0),
                 tolerance: float = 0.99, time_dim: int | None = None, t_range=None):
        schedule = [float(e) for e in ([epsilon] if isinstance(epsilon, (int, float)) else epsilon)]
        if not schedule or any(not e > 0 for e in schedule) or schedule != sorted(schedule):
            raise ConfigError(f"causal: epsilon={schedule} must be positive numbers in rising order")
        if not (isinstance(slabs, int) and slabs >= 1):
            raise ConfigError(f"causal: slabs={slabs} must be a whole number >= 1 (the time slabs)")
        if not 0 < tolerance <= 1:
            raise ConfigError(f"causal: tolerance={tolerance} must lie in (0, 1] (every slab's weight above it moves ε on)")
        self.condition, self.slabs, self.schedule, self.tolerance = condition, slabs, schedule, float(tolerance)
        self.time_dim, self.t_range = time_dim, None if t_range is None else [float(v) for v in t_range]
        self.stage, self.min_weight, self.engine, self.name = 0, None, None, None

    @property
    def epsilon(self) -> float:
        return self.schedule[self.stage]

    def on_fit_start(self, trainer) -> None:
        problem = trainer.problem
        self.name = self.condition or problem.conditions[0].name
        condition = problem.conditions_named([self.name], "causal")[self.name]
        if self.time_dim is None:
            if "t" not in problem.input_names:
                raise ConfigError(f"causal: the problem's inputs {problem.input_names} have no 't'; "
                                  "give callbacks.causal.time_dim=<index of the time coordinate>")
            self.time_dim = problem.input_names.index("t")
        if self.t_range is None:
            bounds = condition.points.bounds()
            if bounds is None:
                raise ConfigError(f"causal: the points of '{self.name}' give no bounds; "
                                  "give callbacks.causal.t_range=[t_min,t_max]")
            self.t_range = [float(bounds[0][self.time_dim]), float(bounds[1][self.time_dim])]
        if not self.t_range[1] > self.t_range[0]:
            raise ConfigError(f"causal: t_range={self.t_range} must have t_min < t_max")
        self.engine, self.reduce = trainer.engine, dd.all_reduce_sum if trainer.distributed else None

    def on_batch(self, trainer, batch) -> None:
        x, y = batch[self.name]
        r = self.engine.residual_values(self.name, x, y)
        point, slab = self._weights(x, r)
        while bool(slab.min() > self.tolerance) and self.stage + 1 < len(self.schedule):
            self.stage += 1
            trainer.notice(f"step {trainer.step}: causal weighting: every slab's weight is above {self.tolerance}; "
                           f"ε raised to {self.epsilon:g}")
            point, slab = self._weights(x, r)
        self.min_weight = slab.min()  # a tensor: read once, at the end (no sync per step)
        self.engine.weigh_points(self.name, x, point)

    def _weights(self, x: Tensor, r: Tensor) -> tuple[Tensor, Tensor]:
        return causal_weights(x[:, self.time_dim], r, self.slabs, self.epsilon, *self.t_range, reduce=self.reduce)

    def on_fit_end(self, trainer, summary: dict) -> None:
        weight = None if self.min_weight is None else float(self.min_weight)
        summary["causal"] = {"epsilon": self.epsilon, "stage": self.stage, "min_weight": weight}

    def on_teardown(self, trainer) -> None:
        if self.engine is not None and self.name is not None:
            self.engine.weigh_points(self.name, None, None)

    def state_dict(self) -> dict:
        return {"stage": self.stage}

    def load_state_dict(self, state: dict) -> None:
        self.stage = min(int(state.get("stage", 0)), len(self.schedule) - 1)
