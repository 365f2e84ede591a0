r"""SPRING: ENGD-Woodbury with momentum (Goldshlager, Abrahamsen, Lin 2024; Guzmán-Cordero et al. 2025).

.. math::
    φ_k = μφ_{k-1} + J^\top (K + λI)^{-1}\,(r − μJφ_{k-1})
        = \arg\min_φ ‖Jφ − r‖² + λ‖φ − μφ_{k-1}‖²,

the applied step is the bias-corrected ``d_k = φ_k / √(1 − μ^{2k})`` (``k = 1, 2, …``; the stored
``φ_k`` is not corrected). With a fixed ``η`` the step size is norm-capped:
``η_k = min(η, √C/‖φ_k‖)`` (Guzmán-Cordero et al. 2025; measured on ``φ_k``), ``C = norm_constraint``.
``μ = 0`` is exactly ENGD-W. It is :class:`~pinnsolve.optim.presets.DampedPreset` with momentum.
"""

from __future__ import annotations

from .damping import LOSS_FLOOR
from .presets import DampedPreset


class SPRING(DampedPreset):
    """SPRING: ``θ ← θ − η_k φ_k/√(1 − μ^{2k})``.

    Args:
        params: model parameters (one group).
        lr: fixed ``η`` (with the norm cap ``min(η, √C/‖φ_k‖)``).
        damping: ``"auto"`` (default) or a fixed ``λ > 0`` (Cholesky failures handled as in :class:`ENGDW`).
        momentum: ``μ ∈ [0, 1)``.
        norm_constraint: ``C > 0`` of the norm cap, or ``None`` for no cap.
        line_search: use the grid line search instead of the fixed, capped step.
        adaptive_damping: adapt a numeric ``damping`` from there.
        loss_floor: ``ε`` of the adaptive ``λ ≥ εL`` with fresh points (``0``: off).
        effective_dimension: log ``d_eff(λ)/N``.
        space, solver, sketch_size, variant, shift, tol, max_iters, preconditioner: the solve
            (:class:`~pinnsolve.optim.presets.DampedPreset`).
    """

    def __init__(self, params, lr: float = 0.1, damping: float | str = "auto", momentum: float = 0.9,
                 norm_constraint: float | None = 1e-3, line_search: bool = False, adaptive_damping: bool = False,
                 effective_dimension: bool = False, space: str = "auto", solver: str = "cholesky",
                 sketch_size: int | float = 0.1, variant: str = "gpu_efficient", shift: str | float = "relative",
                 tol: float = 1e-10, max_iters: int | None = None, preconditioner: str = "nystrom",
                 loss_floor: float = LOSS_FLOOR):
        super().__init__(params, lr=lr, damping=damping, momentum=momentum, norm_constraint=norm_constraint,
                         line_search=line_search, adaptive_damping=adaptive_damping,
                         effective_dimension=effective_dimension, solver=solver, space=space, sketch_size=sketch_size,
                         variant=variant, shift=shift, tol=tol, max_iters=max_iters, preconditioner=preconditioner,
                         loss_floor=loss_floor)
