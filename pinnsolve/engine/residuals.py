r"""The residual-Jacobian engine: every method in pinnsolve starts here.

For a problem with conditions ``c`` (``N_c`` points, weight ``w_c``) the engine stacks the
per-point residuals into

.. math::
    r = \big[\sqrt{w_c / N_c}\; r_c(x_{c,n})\big]_{c,n} ∈ ℝ^N,\qquad L = ½‖r‖²,\qquad
    J = ∂r/∂θ ∈ ℝ^{N×P},

so that ``∇L = Jᵀr``, the Gauss–Newton Gramian is ``G = JᵀJ`` and the kernel is ``K = JJᵀ``.
Per-point weights ``ω_n ≥ 0`` held for a batch's points (:meth:`ResidualEngine.weigh_points`, e.g. causal
weights in time) scale those rows by a further ``√ω_n``: ``L = ½ Σ_c (w_c/N_c) Σ_n ω_n r_c(x_n)²``.
Two paths compute ``J``: the forward Laplacian (:mod:`pinnsolve.engine.forward_laplacian`) for MLPs whose
residuals read value, gradient and Laplacians, and ``vmap(jacrev(·))`` of the per-point residual
(any model, any residual). ``jacobian="auto"`` picks the fast path where it applies.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.func import functional_call, jacrev, vmap

from ..problem import coefficients as coef
from . import forward_laplacian as fl
from .batches import Batch, row_range
from .pointwise import point_residual
from .plan import Plan, plan_condition, traced_error
from ..optim.workspace import Workspace
from ..optim.parameters import ParameterLayout
from ..problem import Condition, Problem
from ..chunked import chunked

JACOBIAN_MODES = ("auto", "fast", "generic")
"""How the engine computes ``J`` (``trainer.jacobian=``): ``auto`` takes the fast path wherever it applies."""


class ResidualEngine:
    """Residuals ``r: [N]``, loss ``½‖r‖²`` and Jacobian ``J: [N, P]`` of a problem for a model.

    Args:
        problem: the conditions.
        model: maps ``[n, d] -> [n, m]``; its parameters are ``θ`` in ``named_parameters()`` order.
        jacobian: ``auto`` (fast path where it applies), ``fast`` (fail if it cannot) or ``generic``.
        chunk_size: compute ``J`` in chunks of at most this many points (memory), ``None`` for all.

    Example:
        >>> r, J = engine.residuals_and_jacobian(batch)   # r: [N], J: [N, P]
        >>> K = J @ J.T                                    # the kernel of every natural-gradient method
    """

    def __init__(self, problem: Problem, model: nn.Module, jacobian: str = "auto", chunk_size: int | None = None):
        if jacobian not in JACOBIAN_MODES:
            raise ValueError(f"jacobian must be one of {JACOBIAN_MODES}, got '{jacobian}'")
        if chunk_size is not None and int(chunk_size) <= 0:
            raise ValueError(f"chunk_size must be positive or None, got {chunk_size}")
        self.problem, self.model, self.mode = problem, model, jacobian
        coef.attach(model, problem.parameters)
        self.chunk_size = None if chunk_size is None else int(chunk_size)
        self.layout = ParameterLayout.of(model)
        self.names = self.layout.names
        self.num_params = self.layout.numel
        self._plans: dict[str, Plan] = {}
        self._chunk: int | None = None
        self.n_outputs = 1  # the model's output width, read when the first condition is planned
        self.workspace = Workspace()
        self._point_weights: dict[str, tuple[Tensor, Tensor]] = {}
        self.record_jacobian_norms = False  # set by kernel-balanced weights: see residuals_and_jacobian
        self.jacobian_norms: dict[str, Tensor] = {}

    # ---- parameters ------------------------------------------------------------------------
    def params(self) -> dict[str, Tensor]:
        return dict(self.model.named_parameters())

    def unflatten(self, theta: Tensor) -> dict[str, Tensor]:
        """Split a flat ``θ: [P]`` into a parameter dict (views; see :class:`~pinnsolve.optim.parameters.ParameterLayout`)."""
        return self.layout.unflatten(theta)

    # ---- planning ----------------------------------------------------------------------------
    def plan(self, condition: Condition, x: Tensor, y: Tensor | None) -> Plan:
        """Probe the residual once on its first point to decide the path and check its output (cached)."""
        if condition.name not in self._plans:
            with torch.no_grad():
                self.n_outputs = self.model(x[:1]).shape[-1]
            values = {k: v.detach() for k, v in coef.of(self.params()).items()}
            self._plans[condition.name] = plan_condition(condition, self.model, self.mode, x, y, self.n_outputs, values)
            try:  # the probe called the residual on one concrete point; training calls it under vmap
                with torch.no_grad():
                    self._condition_residual(condition, self.params(), x[:2], None if y is None else y[:2])
            except Exception as exc:  # noqa: BLE001 - re-raised with how residuals are called
                del self._plans[condition.name]
                raise traced_error(condition.name, "residual", exc) from exc
        return self._plans[condition.name]

    def paths(self) -> dict[str, str]:
        """Which path each planned condition uses (``fast`` or ``generic``)."""
        return {name: plan.path for name, plan in self._plans.items()}

    # ---- per condition -------------------------------------------------------------------------
    def _point_residual_fn(self, condition: Condition):
        """``(params, x, [y]) -> r`` for one point, through ``functional_call`` (the generic path)."""

        def one(params, xi, yi=None):
            return point_residual(condition, lambda xx: functional_call(self.model, params, (xx[None],))[0], xi, yi,
                                  self.n_outputs, coef.of(params))

        return one

    def _condition_residual(self, condition: Condition, params: dict[str, Tensor], x: Tensor, y: Tensor | None) -> Tensor:
        plan = self.plan(condition, x, y)
        if plan.path == "fast":
            out = fl.propagate(self.model, params, x, plan.layout)
            return fl.apply_residual(condition.residual, plan.layout, out, x, y, coef.of(params))
        args, dims = ((params, x), (None, 0)) if y is None else ((params, x, y), (None, 0, 0))
        return vmap(self._point_residual_fn(condition), in_dims=dims)(*args)

    def _condition_jacobian(self, condition: Condition, x: Tensor, y: Tensor | None, out: Tensor) -> Tensor:
        """Scaled residual rows of one chunk; their Jacobian rows are written into ``out: [rows, P]``."""
        plan = self.plan(condition, x, y)
        params = {k: v.detach() for k, v in self.params().items()}
        scale = self._scale(condition)
        if plan.path == "fast":
            return fl.residual_and_jacobian(self.model, params, x, y, condition.residual, plan.layout, out, scale)
        one = self._point_residual_fn(condition)
        args, dims = ((params, x), (None, 0)) if y is None else ((params, x, y), (None, 0, 0))
        r = vmap(one, in_dims=dims)(*args)
        jac = vmap(jacrev(one), in_dims=dims)(*args)
        column = 0
        for name in self.names:
            block = jac[name].reshape(r.numel(), -1)
            out[:, column : column + block.shape[1]] = scale * block
            column += block.shape[1]
        return scale * r.reshape(-1)

    def global_rows(self, rank: int, world: int) -> Tensor:
        """Positions ``[N_i]`` of rank ``rank``'s rows in the one-process stacking of all conditions' rows
        (each rank keeps rows ``[⌊i·N_c/W⌋, ⌊(i+1)·N_c/W⌋)`` of condition ``c``; needs planned conditions)."""
        parts, offset = [], 0
        for c in self.problem.conditions:
            m = self._plans[c.name].n_components
            start, end = row_range(c.n_points, rank, world)
            parts.append(torch.arange(offset + start * m, offset + end * m))
            offset += c.n_points * m
        return torch.cat(parts)

    def _rows(self, condition: Condition, x: Tensor) -> int:
        plan = self._plans[condition.name]
        return x.shape[0] * plan.n_components

    def _scale(self, condition: Condition) -> float:
        return (condition.weight / condition.n_points) ** 0.5

    def weigh_points(self, name: str, x: Tensor | None, weights: Tensor | None) -> None:
        """Hold per-point weights ``weights: [n] ≥ 0`` for condition ``name``'s points ``x: [n, d]`` (this very
        tensor: other points of that condition stay unweighted); ``None`` drops them. Every product of the
        engine on a batch with these points — residuals, ``J``, losses, the line search's losses — scales
        their rows by ``√ω_n``, so a step and its line search minimise the same weighted loss."""
        if weights is None:
            self._point_weights.pop(name, None)
            return
        if weights.shape != x.shape[:1] or not bool((weights >= 0).all()):
            raise ValueError(f"weights for '{name}' must be [n] = {list(x.shape[:1])} and >= 0, got {list(weights.shape)}")
        self._point_weights[name] = (x, weights.to(x.device, x.dtype).detach())

    def _row_factors(self, condition: Condition, x: Tensor, start: int = 0, stop: int | None = None) -> Tensor | None:
        """``√ω_n`` for points ``x[start:stop]``, one per row (repeated over the components), or ``None``."""
        held = self._point_weights.get(condition.name)
        if held is None or held[0] is not x:
            return None
        return held[1][start:stop].sqrt().repeat_interleave(self._plans[condition.name].n_components)

    # ---- public API ----------------------------------------------------------------------------
    def condition_residuals(self, batch: Batch, params: dict[str, Tensor] | None = None) -> dict[str, Tensor]:
        """Unscaled residuals ``r_c: [N_c]`` (or ``[N_c, m]``) per condition, differentiable in ``θ``."""
        params = self.params() if params is None else params
        return {c.name: self._condition_residual(c, params, *batch[c.name]) for c in self.problem.conditions}

    @torch.no_grad()
    def residual_values(self, name: str, x: Tensor, y: Tensor | None = None, chunk: int = 16384) -> Tensor:
        """Unscaled residuals of condition ``name`` at ``x: [n, d]``: ``[n]`` (``[n, m]`` for ``m`` components),
        without gradients, ``chunk`` points per pass (residual-based point placement)."""
        condition = next((c for c in self.problem.conditions if c.name == name), None)
        if condition is None:
            raise KeyError(f"no condition '{name}' (the problem has {[c.name for c in self.problem.conditions]})")
        params = {k: v.detach() for k, v in self.params().items()}
        parts = [self._condition_residual(condition, params, x[i : i + chunk], None if y is None else y[i : i + chunk])
                 for i in range(0, len(x), chunk)]
        return torch.cat(parts)

    def residuals(self, batch: Batch, params: dict[str, Tensor] | None = None) -> Tensor:
        """Stacked scaled residuals ``r: [N]``, differentiable in ``θ`` (for first-order optimizers)."""
        per_condition = self.condition_residuals(batch, params)
        parts = []
        for c in self.problem.conditions:
            r = self._scale(c) * per_condition[c.name].reshape(-1)
            factors = self._row_factors(c, batch[c.name].x)
            parts.append(r if factors is None else factors * r)
        return torch.cat(parts)

    def loss(self, batch: Batch, params: dict[str, Tensor] | None = None) -> Tensor:
        """``L = ½‖r‖²``, a scalar differentiable in ``θ``."""
        return 0.5 * self.residuals(batch, params).square().sum()

    def residuals_and_jacobian(self, batch: Batch, columns: Tensor | None = None, reuse: bool = False) -> tuple[Tensor, Tensor]:
        """``r: [N]`` and ``J = ∂r/∂θ: [N, P]`` at the model's current parameters (no graph).

        ``reuse=True`` (the optimizers' closures) writes ``J`` into a buffer kept from call to call
        (:mod:`~pinnsolve.optim.workspace`): it stays valid until the next such call.

        ``J`` is allocated once and every chunk of every condition writes its rows in place.
        ``columns: [P_s]`` (Sven's ``param_fraction``) returns ``J[:, columns]: [N, P_s]`` only: each
        chunk is built whole in a scratch buffer of ``chunk × P`` and sliced, and without a
        ``chunk_size`` the chunks are sized so that the scratch holds about ``N_c·P_s`` numbers; the
        peak is then about ``2·N·P_s`` instead of ``N·P``.

        With :attr:`record_jacobian_norms` set, :attr:`jacobian_norms` then holds, per condition,
        ``[Σ_n ‖∂r_c(x_n)/∂θ‖², n]``: the trace of the condition's unscaled kernel block and its point count
        (this process's points; the columns taken), which kernel-balanced weights read (one ``O(NP)`` pass).
        """
        for c in self.problem.conditions:
            self.plan(c, *batch[c.name])
        if self.record_jacobian_norms:
            self.jacobian_norms = {}
        reference = next(self.model.parameters())
        new = lambda rows, cols: torch.empty(rows, cols, dtype=reference.dtype, device=reference.device)  # noqa: E731
        n_rows = sum(self._rows(c, batch[c.name].x) for c in self.problem.conditions)
        shape = (n_rows, self.num_params if columns is None else columns.numel())
        J = self.workspace.get("jacobian", shape, reference.dtype, reference.device) if reuse else new(*shape)
        rs, row, scratch = [], 0, new(0, self.num_params)
        for c in self.problem.conditions:
            x, y = batch[c.name]
            step = self.chunk_size or x.shape[0]
            if columns is not None and self.chunk_size is None:
                step = max(1, math.ceil(x.shape[0] * columns.numel() / self.num_params))
            for start in range(0, x.shape[0], step):
                xs, ys = x[start : start + step], None if y is None else y[start : start + step]
                rows = self._rows(c, xs)
                if columns is None:
                    rs.append(self._condition_jacobian(c, xs, ys, J[row : row + rows]))
                else:
                    if scratch.shape[0] < rows:  # one scratch buffer, grown only for a larger chunk
                        scratch = new(rows, self.num_params)
                    rs.append(self._condition_jacobian(c, xs, ys, scratch[:rows]))
                    J[row : row + rows] = scratch[:rows, columns]
                if self.record_jacobian_norms and c.weight > 0:
                    trace = torch.linalg.vector_norm(J[row : row + rows]).square() / self._scale(c) ** 2
                    self.jacobian_norms[c.name] = self.jacobian_norms.get(c.name, 0) + torch.stack([trace, trace.new_tensor(len(xs))])
                factors = self._row_factors(c, x, start, start + step)
                if factors is not None:
                    J[row : row + rows].mul_(factors[:, None])
                    rs[-1] = factors * rs[-1]
                row += rows
        return torch.cat(rs), J

    def losses_at(self, batch: Batch, thetas: Tensor, chunk: int | None = None) -> Tensor:
        """Losses ``L(θ_m)`` for candidate parameter vectors ``thetas: [M, P]`` (the grid line search).

        ``chunk`` candidates share one ``vmap``-ed pass (default :meth:`candidates_per_pass`: one at a
        time on the CPU, where a loop is fastest, as many as fit the memory budget on a GPU). With a
        ``chunk_size`` the points go through in chunks of that size as well, so the line search's
        memory follows the same budget as the Jacobian's. No host synchronisation.
        """
        per_pass = chunk or self.candidates_per_pass(batch)
        with torch.no_grad():
            if per_pass == 1:
                return torch.stack([self._chunked_loss(batch, self.unflatten(theta)) for theta in thetas])
            loss_of = vmap(lambda theta: self._chunked_loss(batch, self.unflatten(theta)))
            return chunked(loss_of, thetas, per_pass)

    def _chunked_loss(self, batch: Batch, params: dict[str, Tensor]) -> Tensor:
        """``½‖r‖²`` with the points of each condition taken ``chunk_size`` at a time."""
        if self.chunk_size is None:
            return self.loss(batch, params)
        total = 0.0
        for c in self.problem.conditions:
            x, y = batch[c.name]
            for start in range(0, x.shape[0], self.chunk_size):
                ys = None if y is None else y[start : start + self.chunk_size]
                r = self._condition_residual(c, params, x[start : start + self.chunk_size], ys).reshape(-1)
                factors = self._row_factors(c, x, start, start + self.chunk_size)
                total = total + 0.5 * self._scale(c) ** 2 * (r if factors is None else factors * r).square().sum()
        return total

    def candidates_per_pass(self, batch: Batch, budget_bytes: int | None = None) -> int:
        """How many candidate parameter vectors one forward pass carries (cached after the first call).

        On the CPU: 1 (a loop over candidates beats a batched pass there). On a GPU: the budget is
        the scratch of one Jacobian chunk (``chunk_size × P`` numbers) when a ``chunk_size`` is set,
        else a quarter of the free memory; each candidate holds about four ``[points, C, width]``
        activations, ``C = d + 2`` channels.
        """
        if self._chunk is None:
            reference = next(self.model.parameters())
            if not reference.is_cuda and budget_bytes is None:
                self._chunk = 1
                return 1
            points = self.chunk_size or sum(points.x.shape[0] for points in batch.values())
            if budget_bytes is None:
                if self.chunk_size is not None:
                    budget_bytes = self.chunk_size * self.num_params * reference.element_size()
                else:
                    budget_bytes = torch.cuda.mem_get_info(reference.device)[0] // 4
            width = max((m.out_features for m in self.model.modules() if isinstance(m, nn.Linear)), default=1)
            per_candidate = 4 * points * (2 + self.problem.dim) * width * reference.element_size()
            self._chunk = int(max(1, min(64, budget_bytes // max(1, per_candidate))))
        return self._chunk
