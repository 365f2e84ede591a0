r"""The damped natural-gradient step, composed: a solver, a momentum, a step rule and a damping rule.

.. math::
    φ_k = μφ_{k-1} + J^\top (K + λI)^{-1}\,(r − μJφ_{k-1}),\qquad θ ← θ − η_k\, φ_k / \sqrt{1 − μ^{2k}},

the minimiser of ``‖Jφ − r‖² + λ‖φ − μφ_{k−1}‖²`` (SPRING; Goldshlager, Abrahamsen, Lin 2024). ``μ = 0``
is ENGD-W (Guzmán-Cordero, Dangel, Goldshlager, Zeinhofer, NeurIPS 2025). The parts:

- **solver** (:mod:`~pinnsolve.optim.solvers`): ``cholesky`` (exact, in the smaller space), ``nystrom``
  (randomized sketch) or ``cg`` (matrix-free, preconditioned) — for any ``μ``;
- **step rule** (:mod:`~pinnsolve.optim.step_rules`): the grid line search, or a fixed ``lr`` with the
  optional norm cap ``η_k = min(lr, √C/‖φ_k‖)``;
- **damping rule** (:mod:`~pinnsolve.optim.damping`): fixed ``λ`` or adaptive (``damping="auto"``).

:class:`~pinnsolve.optim.ENGDW`, :class:`~pinnsolve.optim.SPRING` and :class:`~pinnsolve.optim.Nystrom`
are this class with their defaults, the names configs and users already use.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from . import kernel as kn
from .base import NaturalGradientOptimizer
from .damping import LOSS_FLOOR
from .rows import Rows
from .sketch import VARIANTS, sketch_columns
from .solvers import PRECONDITIONERS, SOLVERS, make_solver
from .step_rules import norm_capped_step_size
from .validation import check_choice, check_damping, check_int, check_positive, check_range
from ..errors import HyperParameterError

ZERO_DAMPING = ("λ = 0 leaves K + λI singular whenever N > P or J loses rank; use a small λ such as 1e-10, "
                "or optimizer=engd (λ = 0 allowed: Gauss-Newton) or optimizer=sven for an undamped step")


def natural_gradient_defaults(lr, damping, momentum, norm_constraint, line_search, adaptive_damping, effective_dimension,
                              solver, space, sketch_size, variant, shift, tol, max_iters, preconditioner,
                              loss_floor=LOSS_FLOOR) -> dict:
    """Validated hyper-parameters of :class:`NaturalGradient`."""
    check_positive("lr", lr, label="learning rate")
    check_damping(damping, why_zero=ZERO_DAMPING)
    check_range("momentum", momentum, 0.0, 1.0)
    check_positive("loss_floor", loss_floor, allow_zero=True)
    if norm_constraint is not None:
        check_positive("norm_constraint", norm_constraint)
    check_choice("solver", solver, SOLVERS)
    check_choice("space", space, kn.SPACES)
    valid_size = (isinstance(sketch_size, int) and not isinstance(sketch_size, bool) and sketch_size >= 1) or (
        isinstance(sketch_size, float) and 0.0 < sketch_size <= 1.0)
    if not valid_size:
        raise HyperParameterError("sketch_size", sketch_size, "an integer >= 1 (columns) or a float in (0, 1] "
                                  "(fraction of N; write 1.0, not 1, for all of N)")
    check_choice("variant", variant, VARIANTS)
    if not (shift == "relative" or (isinstance(shift, (int, float)) and not isinstance(shift, bool) and shift >= 0)):
        raise HyperParameterError("shift", shift, "'relative' or an absolute value >= 0")
    check_positive("tol", tol)
    check_int("max_iters", max_iters, 1, allow_none=True)
    check_choice("preconditioner", preconditioner, PRECONDITIONERS)
    return dict(lr=lr, damping=damping, momentum=float(momentum), norm_constraint=norm_constraint,
                line_search=bool(line_search), adaptive_damping=bool(adaptive_damping), loss_floor=float(loss_floor),
                effective_dimension=bool(effective_dimension), solver=solver, space=space, sketch_size=sketch_size,
                variant=variant, shift=shift, tol=float(tol), max_iters=max_iters, preconditioner=preconditioner)


class NaturalGradient(NaturalGradientOptimizer):
    """ENGD-W / SPRING / Nyström / matrix-free, from parts (see the module docstring).

    Args:
        params: model parameters (one group).
        lr: fixed step ``η`` (used when ``line_search=False``; capped by ``norm_constraint``).
        damping: ``λ > 0`` or ``"auto"`` (:mod:`~pinnsolve.optim.damping`).
        momentum: ``μ ∈ [0, 1)`` (SPRING); 0 is ENGD-W.
        norm_constraint: ``C`` of the cap ``min(η, √C/‖φ‖)`` of a fixed step, or ``None``.
        line_search: grid line search over ``η ∈ {2⁰, …, 2⁻³⁰}`` instead of the fixed step.
        adaptive_damping: adapt a numeric ``damping`` from there.
        loss_floor: ``ε`` of the adaptive ``λ ≥ εL`` when the closure's points are fresh (``0``: off;
            :mod:`~pinnsolve.optim.damping`).
        effective_dimension: log ``d_eff(λ)/N`` (gathers ``K``: an eigendecomposition per step).
        solver: ``"cholesky"``, ``"nystrom"`` or ``"cg"`` (:mod:`~pinnsolve.optim.solvers`).
        space: the Cholesky solver's ``"auto"`` (smaller of ``K`` and ``G``), ``"sample"`` or ``"parameter"``.
        sketch_size, variant, shift: the Nyström sketch (also the CG preconditioner's ``ℓ`` and shift).
        tol, max_iters, preconditioner: of the CG solver.
    """

    def __init__(self, params, lr: float = 1.0, damping: float | str = "auto", momentum: float = 0.0,
                 norm_constraint: float | None = None, line_search: bool = True, adaptive_damping: bool = False,
                 effective_dimension: bool = False, solver: str = "cholesky", space: str = "auto",
                 sketch_size: int | float = 0.1, variant: str = "gpu_efficient", shift: str | float = "relative",
                 tol: float = 1e-10, max_iters: int | None = None, preconditioner: str = "nystrom",
                 loss_floor: float = LOSS_FLOOR):
        defaults = natural_gradient_defaults(lr, damping, momentum, norm_constraint, line_search, adaptive_damping,
                                             effective_dimension, solver, space, sketch_size, variant, shift, tol,
                                             max_iters, preconditioner, loss_floor)
        super().__init__(params, defaults)
        self.solver = make_solver(solver, space, sketch_size, variant, shift, tol, max_iters, preconditioner)
        self._info: dict[str, Tensor] = {}
        self._warned: tuple | None = None

    def init_state(self, state: dict) -> None:
        if self.param_groups[0]["momentum"] > 0:
            p = self._params[0]
            state["phi"] = torch.zeros(sum(q.numel() for q in self._trainable()), dtype=p.dtype, device=p.device)

    def direction(self, rows: Rows, damping: Tensor, state: dict, group: dict):
        self._warn_about_sketch(rows.n, group)
        mu = group["momentum"]
        if mu == 0.0:
            phi, failed, self._info = self.solver(rows, rows.r, damping)
            return phi, failed
        previous = state["phi"]
        if previous.numel() != rows.num_columns:
            warnings.warn(f"{type(self).__name__}: the set of trainable parameters changed ({previous.numel()} -> "
                          f"{rows.num_columns} values); the momentum restarts from zero")
            previous = torch.zeros(rows.num_columns, dtype=rows.dtype, device=rows.device)
        step, failed, self._info = self.solver(rows, rows.r - mu * rows.Jv(previous), damping)
        phi = mu * previous + step
        state["phi"] = torch.where(torch.isfinite(phi).all(), phi, previous)
        return phi, failed

    def applied_step(self, phi: Tensor, state: dict, group: dict) -> Tensor:
        mu = group["momentum"]
        if mu == 0.0:
            return phi
        k = state["step"].to(phi.dtype)
        return phi / torch.sqrt(1.0 - torch.pow(torch.as_tensor(mu, dtype=phi.dtype, device=phi.device), 2.0 * k))

    def after_step(self, state: dict, group: dict, eta: Tensor) -> None:
        """With momentum and the line search, the momentum keeps the step taken.

        SPRING's recursion assumes a fixed step. With the line search choosing ``η_k`` the momentum keeps
        ``η_k φ_k`` instead of ``φ_k`` (the same with ``η = 1``): after a short step (``η ≪ 1``) the unscaled
        ``φ_k`` made the next direction overshoot by about ``1/η``, so the search picked a short step again,
        and a refused step (``η = 0``) now restarts the momentum. Measured with the default damping, 200
        steps: logfp9d l2_rel 0.36 → 0.024 (seed 0), poisson2d 3.9e-6 → 1.2e-6, poisson5d 1.5e-4 → 4.8e-5 (RESULTS.md).
        """
        if group["momentum"] > 0.0 and group["line_search"]:
            state["phi"] = eta * state["phi"]

    def fixed_step_size(self, phi: Tensor, state: dict, group: dict) -> Tensor:
        if group["norm_constraint"] is None:
            return super().fixed_step_size(phi, state, group)
        return norm_capped_step_size(group["lr"], phi, group["norm_constraint"])

    def extra_diagnostics(self, state: dict, group: dict) -> None:
        self.diagnostics.update(self._info)

    def _warn_about_sketch(self, n: int, group: dict) -> None:
        """Say once when a Nyström sketch is the whole kernel, or so close to it that its Cholesky fails."""
        if group["solver"] != "nystrom":
            return
        ell = sketch_columns(group["sketch_size"], n)
        if self._warned == (n, ell):
            return
        self._warned = (n, ell)
        if ell >= n:
            warnings.warn(f"{type(self).__name__}: sketch_size={group['sketch_size']} gives {ell} >= N = {n} columns, the "
                          "whole kernel; using the exact Cholesky solve (the same as optimizer=engd_w / spring, at their cost)")
        elif group["variant"] == "gpu_efficient" and ell > 0.9 * n:
            warnings.warn(f"{type(self).__name__}: sketch_size={group['sketch_size']} gives {ell} of N = {n} columns; this "
                          "close to N the GPU-efficient sketch's Cholesky is ill-conditioned and tends to fail. Use "
                          "sketch_size <= 0.5, variant=standard, or sketch_size=1.0 for the exact solve")
