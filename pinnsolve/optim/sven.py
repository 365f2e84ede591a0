r"""Sven: steps by the truncated Moore–Penrose pseudoinverse of the row Jacobian (Bright-Thonney et al. 2026).

.. math::
    φ = V_k Σ_k^{-1} U_k^\top r = J^\top U_k Σ_k^{-2} U_k^\top r,\qquad J = UΣV^\top,\; K = JJ^\top = UΣ^2U^\top,

keeping at most ``k`` singular values and only those with ``σ > rtol·σ_max``. With ``k ≥ rank J``
and ``rtol = 0`` this is the minimum-norm least-squares step ``J⁺r``.

**Default ``svd_mode="kernel"``**: an ``eigh`` of the ``N×N`` kernel in float64 (of the ``P×P``
Gramian ``G = JᵀJ`` when ``P < N``, :func:`~pinnsolve.optim.kernel.truncated_pinv_direction`) gives the same
truncated update as a full SVD of the ``N×P`` Jacobian (the same ``U``, ``σ² = λ(K)``, and
``V_kΣ_k⁻¹ = JᵀU_kΣ_k⁻²``) at a fraction of the cost when ``P ≫ N`` (a GEMM for ``K`` plus an
``N×N`` eigh instead of an ``O(NP·min(N,P))`` SVD; see BENCHMARKS.md). Float64 is what keeps it
exact: a Gram matrix's eigenvalues carry an absolute error ``~eps·σ_max²``, so float32 corrupts
directions below ``~3e-4·σ_max`` whereas float64 resolves them to ``~1.5e-8·σ_max``; values below
``√(N·eps)·σ_max`` are dropped as noise (far below the default ``rtol = 1e-3``).

Rows: with an :class:`~pinnsolve.optim.EngineClosure` the rows are scaled residuals; with
``PerSampleClosure(..., rows="losses")`` they are per-sample losses as in the seed package.

**Adaptive truncation** (``rtol="auto"``): ``rtol`` starts at :data:`INITIAL_RTOL` and moves like the
damping of the other methods (:mod:`pinnsolve.optim.damping`): divided by 3 after a line-search step
``η ≥ 1/4`` (keep more directions), multiplied by 3 after ``η ≤ 1/32`` (truncate more), within
``[RTOL_MIN, RTOL_MAX]``. The seed package's fixed ``rtol = 1e-3`` suits its regression tasks; on PINNs it
keeps too few directions (measured in BENCHMARKS.md).

Fallbacks (no crash): ``k > N`` uses ``k = N``; an all-zero Jacobian keeps no singular value and
gives a zero step (``diagnostics["rank"] = 0``); a NaN residual gives a zero step;
``svd_mode="lobpcg"`` with ``k > N/3`` uses the kernel mode for that step (with a warning).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..errors import HyperParameterError
from . import kernel as kn
from .damping import adapt_factor
from .natural_gradient import NaturalGradient
from .rows import Rows
from .step_rules import step_rule
from .svd import SVD_MODES, truncated_pinv_apply, truncated_svd
from .validation import check_choice, check_int, check_positive, check_range


INITIAL_RTOL = 1e-6
RTOL_MIN, RTOL_MAX = 1e-12, 0.5


class TruncatedPseudoinverse:
    """The solver part of Sven: ``V_kΣ_k⁻¹U_kᵀ g`` (see the module docstring); ``λ`` is not read.

    Args:
        k: at most this many singular values (``None``: no cap).
        rtol: drop ``σ ≤ rtol·σ_max``; ``"auto"`` keeps it in ``state["rtol"]`` and moves it by each step's
            outcome (:meth:`update`), as the adaptive damping moves ``μ``.
        svd_mode, oversampling, power_iterations: how the truncated SVD is computed (:mod:`pinnsolve.optim.svd`).
        param_fraction: each step, ``J`` only for a random subset of this fraction of the columns.
        microbatch_size: sum the rows within consecutive sub-batches of this size.

    ``info``: ``rank`` (the singular values kept); :meth:`diagnostics`: with ``rtol="auto"``, ``rtol``.
    """

    def __init__(self, k: int | None = None, rtol: float | str = "auto", svd_mode: str = "kernel",
                 oversampling: int = 10, power_iterations: int = 2, param_fraction: float = 1.0,
                 microbatch_size: int | None = None):
        self.k, self.rtol, self.svd_mode = k, rtol, svd_mode
        self.oversampling, self.power_iterations = oversampling, power_iterations
        self.param_fraction, self.microbatch_size = param_fraction, microbatch_size
        self.adaptive = rtol == "auto"

    def init_state(self, state: dict, reference: Tensor) -> None:
        if self.adaptive:
            state["rtol"] = torch.tensor(INITIAL_RTOL, dtype=reference.dtype, device=reference.device)

    def columns(self, num_params: int, device) -> Tensor | None:
        """The random subset of ``param_fraction`` of the columns to build this step (``None``: all)."""
        if self.param_fraction >= 1.0:
            return None
        count = max(1, math.ceil(self.param_fraction * num_params))
        return torch.randperm(num_params, device=device)[:count].sort().values

    def __call__(self, rows: Rows, g: Tensor, damping: Tensor, state: dict) -> tuple[Tensor, None, dict]:
        if self.microbatch_size is not None:  # consecutive rows of this process
            rows = rows.summed_in_groups(g, self.microbatch_size)
            g = rows.r
        n = rows.n
        k = n if self.k is None else min(self.k, n)
        rtol = state["rtol"] if self.adaptive else self.rtol
        if self.svd_mode == "kernel":
            if rows.num_columns < n:
                phi, rank = kn.truncated_kernel_pinv(rows.gramian_lower(), rows.Jt(g), k, rtol)
            else:
                x, rank = kn.truncated_kernel_pinv(rows.kernel_lower(), rows.gather(g), k, rtol)
                phi = rows.Jt(rows.local(x))
        else:  # the seed package's SVD modes work on the whole J
            J, r = rows.dense(), rows.gather(g)
            k = min(k, J.shape[1])
            factors = truncated_svd(J, k, self.svd_mode, self.oversampling, self.power_iterations)
            if factors is None:
                phi, rank = kn.truncated_pinv_direction(J, r, k, rtol)
            else:
                phi, rank = truncated_pinv_apply(*factors, r, k, rtol)
        return phi, None, {"rank": rank}

    def diagnostics(self, state: dict) -> dict[str, Tensor]:
        """After the step's update: the truncation ``rtol`` the next step starts from."""
        return {"rtol": state["rtol"].clone()} if self.adaptive else {}

    def update(self, state: dict, failed, eta: Tensor, line_search: bool, gain_ratio: Tensor | None) -> None:
        if self.adaptive:
            state["rtol"] = adapt_factor(state["rtol"], eta, line_search, gain_ratio, RTOL_MIN, RTOL_MAX)


class Sven(NaturalGradient):
    """Truncated-pseudoinverse optimizer: ``θ ← θ − η V_kΣ_k⁻¹U_kᵀ r``.

    Args:
        params: model parameters (one group).
        lr: fixed step ``η`` (the seed package's ``lr``).
        k: at most this many singular values (``None``: no cap; the seed package suggests ``batch_size // 2``).
        rtol: drop ``σ ≤ rtol·σ_max``; ``"auto"`` adapts it each step (see the module docstring).
        svd_mode: ``"kernel"`` (default: float64 ``eigh`` of ``K``), ``"torch"``, ``"randomized"``,
            ``"randomized_v2"``, ``"scipy"`` or ``"lobpcg"`` (:mod:`pinnsolve.optim.svd`).
        line_search: grid line search instead of the fixed ``lr``.
        param_fraction: in ``(0, 1]``: each step, ``J`` only for a random subset of this fraction of
            the parameters, and only they move. Both closures build ``J`` chunk by chunk and keep only
            those columns, so ``J``'s memory, ``K`` and the solve shrink with the fraction.
        microbatch_size: sum the rows within consecutive sub-batches of this size (fewer rows).
        oversampling, power_iterations: of the randomized modes.
        effective_dimension: log ``d_eff(0)/N``, i.e. ``rank(K)/N``.

    Example:
        >>> closure = PerSampleClosure(model, lambda pred, y: ((pred - y) ** 2).sum(-1), x, y, rows="losses")
        >>> Sven(model.parameters(), lr=0.1, k=16).step(closure)
    """

    def __init__(self, params, lr: float = 0.1, k: int | None = None, rtol: float | str = "auto", svd_mode: str = "kernel",
                 line_search: bool = True, param_fraction: float = 1.0, microbatch_size: int | None = None,
                 oversampling: int = 10, power_iterations: int = 2, effective_dimension: bool = False):
        check_positive("lr", lr, label="learning rate")
        check_int("k", k, 1, allow_none=True)
        if rtol != "auto":
            check_range("rtol", rtol, 0.0, 1.0)
        check_choice("svd_mode", svd_mode, SVD_MODES)
        if not (isinstance(param_fraction, (int, float)) and 0.0 < param_fraction <= 1.0):
            raise HyperParameterError("param_fraction", param_fraction, "must be in (0, 1]")
        check_int("microbatch_size", microbatch_size, 1, allow_none=True)
        check_int("oversampling", oversampling, 0)
        check_int("power_iterations", power_iterations, 0)
        defaults = dict(lr=lr, k=k, rtol=rtol if rtol == "auto" else float(rtol), svd_mode=svd_mode, line_search=bool(line_search),
                        param_fraction=float(param_fraction), microbatch_size=microbatch_size,
                        oversampling=oversampling, power_iterations=power_iterations,
                        effective_dimension=bool(effective_dimension))
        solver = TruncatedPseudoinverse(k, defaults["rtol"], svd_mode, oversampling, power_iterations,
                                        defaults["param_fraction"], microbatch_size)
        super().__init__(params, solver=solver, step_rule=step_rule(bool(line_search)), defaults=defaults)
