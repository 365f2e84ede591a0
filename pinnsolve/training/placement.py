r"""Residual-based adaptive point placement (RAD; Wu, Zhu, Tan, Kartha, Lu, "A comprehensive study of
non-adaptive and residual-based adaptive sampling for physics-informed neural networks", CMAME 2023).

Each step, the ``N_c`` points of a resampled condition are drawn from a pool of ``pool · N_c`` candidates
(drawn from the condition's own source) with probability

.. math::
    p(x) \propto \frac{|r(x)|^k}{\mathbb{E}\,|r|^k} + c

(``|r|`` the Euclidean norm of the residual's components at ``x``, the mean over the pool), without
replacement. ``c → ∞`` is uniform sampling, ``c = 0`` follows the residual alone; the paper's default is
``k = 1, c = 1``. Shocks and layers (Burgers' at ``x = 0``) get the points they need without a finer
uniform batch. The draws use the run's training generator, so a resumed run places the same points.

    pinnsolve problem=burgers callbacks=[rad]                       # k = 1, c = 1, pool = 10, the PDE condition
    pinnsolve problem=burgers callbacks=[rad] callbacks.rad.k=2 callbacks.rad.c=0
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import ConfigError
from .callbacks import Callback


def rad_probabilities(residuals: Tensor, k: float, c: float) -> Tensor:
    """``p_i = (s_i / mean(s) + c) / Σ_j (s_j / mean(s) + c)`` with ``s = ‖r_i‖^k``: ``[n]`` from ``[n]`` or ``[n, m]``."""
    score = residuals.reshape(len(residuals), -1).norm(dim=1).pow(k)
    mean = score.mean()
    weight = (score / mean if mean > 0 else torch.zeros_like(score)) + c
    if not (weight.sum() > 0):
        weight = torch.ones_like(score)
    return weight / weight.sum()


class ResidualAdaptivePlacement(Callback):
    """Draw the points of ``conditions`` by RAD (module docstring) at every step.

    Args:
        conditions: names of the conditions placed this way (``None``: the first, the PDE condition).
        k: the exponent of ``|r|``.
        c: the uniform share (``≥ 0``; ``k = 0`` or large ``c`` is uniform).
        pool: candidates per point (``≥ 1``).
    """

    def __init__(self, conditions: list[str] | None = None, k: float = 1.0, c: float = 1.0, pool: int = 10):
        if not (k >= 0 and c >= 0):
            raise ConfigError(f"rad: k={k} and c={c} must be >= 0 (p ∝ |r|^k / mean + c)")
        if not (isinstance(pool, int) and pool >= 1):
            raise ConfigError(f"rad: pool={pool} must be a whole number >= 1 (candidates per point)")
        self.conditions, self.k, self.c, self.pool = None if conditions is None else list(conditions), k, c, pool
        self.engine = None

    def on_fit_start(self, trainer) -> None:
        problem = trainer.problem
        names = list(self.conditions or [problem.conditions[0].name])
        problem.conditions_named(names, "rad")
        fixed = [n for n in names if trainer.sampler.is_fixed(n)]
        if fixed:
            raise ConfigError(f"rad: the points of {fixed} are fixed, so they cannot be placed by the residual; "
                              "draw them afresh (trainer.resample=true and a condition that is not fixed)")
        self.engine = trainer.engine
        for name in names:
            trainer.sampler.placement[name] = self.draw

    def draw(self, condition, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        """``N_c`` points of ``condition`` (and their targets) from ``pool · N_c`` candidates by RAD."""
        n = condition.n_points
        x, y = condition.points.draw(self.pool * n, generator)
        dtype = next(self.engine.model.parameters()).dtype
        device = next(self.engine.model.parameters()).device
        xs = x.to(device, dtype)
        ys = None if y is None else torch.as_tensor(y).to(device)
        p = rad_probabilities(self.engine.residual_values(condition.name, xs, ys), self.k, self.c)
        index = torch.multinomial(p, n, replacement=False, generator=generator)
        return x[index.to(x.device)], None if y is None else y[index.to(y.device)]

    def on_teardown(self, trainer) -> None:
        trainer.sampler.placement.clear()
