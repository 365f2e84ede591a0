"""The trainer's closure: a problem's scaled residuals and their Jacobian, as the optimizers take them.

:class:`EngineClosure` implements the closure contract of :mod:`pinnsolve.optim.closure`
(``residuals_and_jacobian``, ``objective``, ``losses_at``) on a :class:`~pinnsolve.engine.ResidualEngine`
and one batch: the rows are the **scaled residuals** of the problem, ``objective(r) = ½‖r‖²`` — what
ENGD, ENGD-W, SPRING and Nyström are defined on (Guzmán-Cordero et al. 2025).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..optim.closure import half_squared_norm
from ..optim.rows import Rows, sum_over
from .batches import Batch
from .residuals import ResidualEngine


class EngineClosure:
    """The trainer's closure: a :class:`~pinnsolve.engine.ResidualEngine` on one batch.

    With several processes (``engine.group``) the batch holds this rank's points: the rows are this
    rank's, and the objective and the line search's losses are summed over all ranks.

    Args:
        engine: residuals and Jacobian of the problem for the model being trained.
        batch: this step's points (this rank's slice of them).
        fresh_points: some of the points are drawn afresh every step (the adaptive damping then keeps
            ``λ`` above a fraction of the loss: :mod:`~pinnsolve.optim.damping`).
    """

    rows = "residuals"

    def __init__(self, engine: ResidualEngine, batch: Batch, fresh_points: bool = False):
        self.engine, self.batch, self.fresh_points = engine, batch, fresh_points
        self.layout = engine.layout
        self.group = getattr(engine, "group", None)
        self.sequential = engine.candidates_per_pass(batch) == 1  # the CPU: the line search walks its grid

    def residuals_and_jacobian(self, columns: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``r: [N_i]``, ``J: [N_i, P]`` (or ``J[:, columns]: [N_i, P_s]``, built chunk by chunk so the full
        ``J`` is never held: :meth:`~pinnsolve.engine.ResidualEngine.residuals_and_jacobian`). ``J`` is
        the engine's reused buffer: valid until the next step builds its own."""
        return self.engine.residuals_and_jacobian(self.batch, columns, reuse=True)

    def jacobian_rows(self, columns: Tensor | None = None) -> Rows:
        """This rank's rows as :class:`~pinnsolve.optim.rows.Rows` (which owns the reductions over ranks)."""
        r, J = self.residuals_and_jacobian(columns)
        index = None if self.group is None else self.engine.global_rows(torch.distributed.get_rank(self.group),
                                                                         torch.distributed.get_world_size(self.group))
        return Rows(r, J, self.group, index=None if index is None else index.to(r.device))

    def objective(self, r: Tensor) -> Tensor:
        return sum_over(self.group, half_squared_norm(r))

    def losses_at(self, thetas: Tensor) -> Tensor:
        """``½‖r(θ_m)‖²`` for ``thetas: [M, P]`` (this rank's points, then one all-reduce of ``M`` numbers)."""
        return sum_over(self.group, self.engine.losses_at(self.batch, thetas))
