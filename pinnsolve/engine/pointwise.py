"""Residuals of a per-point function (no network parameters): the exact solution's residuals, and the one
call of a condition's residual at one point that the generic path ``vmap``s."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.func import vmap

from ..problem import Condition, Problem
from ..problem import coefficients as coef
from .batches import Batch
from .jet import FunctionJet


def point_residual(condition: Condition, fn, x: Tensor, y: Tensor | None = None, n_outputs: int = 1,
                   coefficients: dict[str, Tensor] | None = None) -> Tensor:
    """The residual of ``condition`` at one point ``x: [d]`` for a per-point function ``fn: [d] -> [] or [m]``."""
    return coef.call_residual(condition.residual, FunctionJet(fn, x, n_outputs), x, y, coefficients)


def function_residuals(problem: Problem, fn, batch: Batch) -> dict[str, Tensor]:
    """Unscaled residuals of every condition for a per-point function ``fn`` (e.g. the exact solution), with
    the problem's coefficients at their declared values."""
    out, m = {}, problem.n_outputs
    reference = next(iter(batch.values())).x
    values = {k: torch.as_tensor(v, dtype=reference.dtype, device=reference.device) for k, v in problem.parameters.items()}
    for c in problem.conditions:
        x, y = batch[c.name]
        if y is None:
            out[c.name] = vmap(lambda xi: point_residual(c, fn, xi, None, m, values))(x)
        else:
            out[c.name] = vmap(lambda xi, yi: point_residual(c, fn, xi, yi, m, values))(x, y)
    return out
