r"""Sven: steps by the truncated Moore–Penrose pseudoinverse of the row Jacobian (Bright-Thonney et al. 2026).

.. math::
    φ = V_k Σ_k^{-1} U_k^\top r = J^\top U_k Σ_k^{-2} U_k^\top r,\qquad J = UΣV^\top,\; K = JJ^\top = UΣ^2U^\top,

keeping at most ``k`` singular values and only those with ``σ > rtol·σ_max``. With ``k ≥ rank J``
and ``rtol = 0`` this is the minimum-norm least-squares step ``J⁺r``.

**Default ``svd_mode="kernel"``**: an ``eigh`` of the ``N×N`` kernel in float64 gives the same
truncated update as a full SVD of the ``N×P`` Jacobian (the same ``U``, ``σ² = λ(K)``, and
``V_kΣ_k⁻¹ = JᵀU_kΣ_k⁻²``) at a fraction of the cost when ``P ≫ N`` (a GEMM for ``K`` plus an
``N×N`` eigh instead of an ``O(NP·min(N,P))`` SVD; see BENCHMARKS.md). Float64 is what keeps it
exact: a Gram matrix's eigenvalues carry an absolute error ``~eps·σ_max²``, so float32 corrupts
directions below ``~3e-4·σ_max`` whereas float64 resolves them to ``~1.5e-8·σ_max``; values below
``√(N·eps)·σ_max`` are dropped as noise (far below the default ``rtol = 1e-3``).

Rows: with an :class:`~pinnsolve.optim.EngineClosure` the rows are scaled residuals; with
``PerSampleClosure(..., rows="losses")`` they are per-sample losses as in the seed package.

Fallbacks (no crash): ``k > N`` uses ``k = N``; an all-zero Jacobian keeps no singular value and
gives a zero step (``diagnostics["rank"] = 0``); a NaN residual gives a zero step;
``svd_mode="lobpcg"`` with ``k > N/3`` uses the kernel mode for that step (with a warning).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from . import kernel as kn
from .base import NaturalGradientOptimizer, check_positive
from .svd import SVD_MODES, truncated_pinv_apply, truncated_svd


def microbatch_rows(r: Tensor, J: Tensor, size: int) -> tuple[Tensor, Tensor]:
    """Sum rows within consecutive groups of ``size``: ``[N], [N, P] -> [⌈N/size⌉], [⌈N/size⌉, P]``."""
    groups = torch.arange(r.shape[0], device=r.device) // size
    n = math.ceil(r.shape[0] / size)
    return (torch.zeros(n, dtype=r.dtype, device=r.device).index_add_(0, groups, r),
            torch.zeros(n, J.shape[1], dtype=J.dtype, device=J.device).index_add_(0, groups, J))


class Sven(NaturalGradientOptimizer):
    """Truncated-pseudoinverse optimizer: ``θ ← θ − η V_kΣ_k⁻¹U_kᵀ r``.

    Args:
        params: model parameters (one group).
        lr: fixed step ``η`` (the seed package's ``lr``).
        k: at most this many singular values (``batch_size // 2`` is a good start).
        rtol: drop ``σ ≤ rtol·σ_max``.
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

    damped = False

    def __init__(self, params, lr: float = 0.1, k: int = 64, rtol: float = 1e-3, svd_mode: str = "kernel",
                 line_search: bool = False, param_fraction: float = 1.0, microbatch_size: int | None = None,
                 oversampling: int = 10, power_iterations: int = 2, effective_dimension: bool = False):
        check_positive("learning rate", lr)
        if not (isinstance(k, int) and not isinstance(k, bool) and k >= 1):
            raise ValueError(f"Invalid k value: {k}")
        if not (isinstance(rtol, (int, float)) and 0.0 <= rtol < 1.0):
            raise ValueError(f"Invalid rtol value: {rtol}")
        if svd_mode not in SVD_MODES:
            raise ValueError(f"Invalid svd_mode value: {svd_mode} (choose one of {SVD_MODES})")
        if not (isinstance(param_fraction, (int, float)) and 0.0 < param_fraction <= 1.0):
            raise ValueError(f"Invalid param_fraction value: {param_fraction}")
        if microbatch_size is not None and not (isinstance(microbatch_size, int) and microbatch_size >= 1):
            raise ValueError(f"Invalid microbatch_size value: {microbatch_size}")
        if not (isinstance(oversampling, int) and oversampling >= 0):
            raise ValueError(f"Invalid oversampling value: {oversampling}")
        if not (isinstance(power_iterations, int) and power_iterations >= 0):
            raise ValueError(f"Invalid power_iterations value: {power_iterations}")
        defaults = dict(lr=lr, k=k, rtol=float(rtol), svd_mode=svd_mode, line_search=bool(line_search),
                        param_fraction=float(param_fraction), microbatch_size=microbatch_size,
                        oversampling=oversampling, power_iterations=power_iterations,
                        effective_dimension=bool(effective_dimension))
        super().__init__(params, defaults)
        self._rank = None

    def jacobian_columns(self, closure, num_params: int) -> Tensor | None:
        fraction = self.param_groups[0]["param_fraction"]
        if fraction >= 1.0:
            return None
        count = max(1, math.ceil(fraction * num_params))
        device = self._params[0].device
        return torch.randperm(num_params, device=device)[:count].sort().values

    def direction(self, r: Tensor, J: Tensor, damping: Tensor, state: dict, group: dict):
        if group["microbatch_size"] is not None:
            r, J = microbatch_rows(r, J, group["microbatch_size"])
        k, rtol, mode = min(group["k"], r.shape[0]), group["rtol"], group["svd_mode"]
        factors = None if mode == "kernel" else truncated_svd(J, k, mode, group["oversampling"], group["power_iterations"])
        if factors is None:
            x, rank = kn.truncated_kernel_pinv(kn.kernel(J), r, k, rtol)
            phi = J.mT @ x
        else:
            phi, rank = truncated_pinv_apply(*factors, r, k, rtol)
        self._rank = rank
        return phi, None

    def extra_diagnostics(self, state: dict, group: dict) -> None:
        self.diagnostics["rank"] = self._rank
