r"""SPRING: ENGD-Woodbury with momentum (Goldshlager, Abrahamsen, Lin 2024; Guzmán-Cordero et al. 2025).

.. math::
    φ_k = μφ_{k-1} + J^\top (K + λI)^{-1}\,(r − μJφ_{k-1})
        = \arg\min_φ ‖Jφ − r‖² + λ‖φ − μφ_{k-1}‖²,

the applied step is the bias-corrected ``d_k = φ_k / √(1 − μ^{2k})`` (``k = 1, 2, …``; the stored
``φ_k`` is not corrected). With a fixed ``η`` the step size is norm-capped:
``η_k = min(η, √C/‖φ_k‖)`` (SPEC §2, measured on ``φ_k``), ``C = norm_constraint``.
``μ = 0`` is exactly ENGD-W.
"""

from __future__ import annotations

import torch
from torch import Tensor

import warnings

from .base import NaturalGradientOptimizer
from .engd_w import ENGDW, damped_defaults
from .step_rules import norm_capped_step_size
from .validation import check_positive, check_range


def spring_defaults(lr, damping, momentum, norm_constraint, line_search, adaptive_damping, effective_dimension,
                    space="auto") -> dict:
    """Validated hyper-parameters of SPRING (and Nyström)."""
    check_range("momentum", momentum, 0.0, 1.0)
    if norm_constraint is not None:
        check_positive("norm_constraint", norm_constraint)
    defaults = damped_defaults(lr, damping, line_search, adaptive_damping, effective_dimension, space)
    return dict(defaults, momentum=float(momentum), norm_constraint=norm_constraint)


class SPRING(ENGDW):
    """SPRING: ``θ ← θ − η_k φ_k/√(1 − μ^{2k})``.

    Args:
        params: model parameters (one group).
        lr: fixed step ``η`` (with the norm cap ``min(η, √C/‖φ_k‖)``).
        damping: ``λ > 0`` (Cholesky failures handled as in :class:`ENGDW`).
        momentum: ``μ ∈ [0, 1)``.
        norm_constraint: ``C > 0`` of the norm cap, or ``None`` for no cap.
        line_search: use the grid line search instead of the fixed, capped step.
        adaptive_damping: Levenberg–Marquardt update of ``λ``.
        effective_dimension: log ``d_eff(λ)/N``.
        space: ``"auto"``, ``"sample"`` or ``"parameter"`` (see :class:`ENGDW`).
    """

    def __init__(self, params, lr: float = 0.1, damping: float | str = "auto", momentum: float = 0.9,
                 norm_constraint: float | None = 1e-3, line_search: bool = False, adaptive_damping: bool = False,
                 effective_dimension: bool = False, space: str = "auto"):
        defaults = spring_defaults(lr, damping, momentum, norm_constraint, line_search, adaptive_damping,
                                   effective_dimension, space)
        NaturalGradientOptimizer.__init__(self, params, defaults)

    def init_state(self, state: dict) -> None:
        p = self._params[0]
        state["phi"] = torch.zeros(sum(q.numel() for q in self._trainable()), dtype=p.dtype, device=p.device)

    def direction(self, r: Tensor, J: Tensor, damping: Tensor, state: dict, group: dict):
        mu, previous = group["momentum"], state["phi"]
        if previous.numel() != J.shape[1]:
            warnings.warn(f"{type(self).__name__}: the set of trainable parameters changed ({previous.numel()} -> "
                          f"{J.shape[1]} values); the momentum restarts from zero")
            previous = torch.zeros(J.shape[1], dtype=J.dtype, device=J.device)
        step, failed = self.least_squares(J, r - mu * (J @ previous), damping, state, group)
        phi = mu * previous + step
        state["phi"] = torch.where(torch.isfinite(phi).all(), phi, previous)
        return phi, failed

    def applied_step(self, phi: Tensor, state: dict, group: dict) -> Tensor:
        mu = group["momentum"]
        if mu == 0.0:
            return phi
        k = state["step"].to(phi.dtype)
        return phi / torch.sqrt(1.0 - torch.pow(torch.as_tensor(mu, dtype=phi.dtype, device=phi.device), 2.0 * k))

    def fixed_step_size(self, phi: Tensor, state: dict, group: dict) -> Tensor:
        if group["norm_constraint"] is None:
            return super().fixed_step_size(phi, state, group)
        return norm_capped_step_size(group["lr"], phi, group["norm_constraint"])
