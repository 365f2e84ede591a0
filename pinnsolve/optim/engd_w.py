r"""ENGD-Woodbury: the ENGD step solved in sample space.

.. math::
    φ = J^\top (K + λI)^{-1} r,\qquad K = JJ^\top \in ℝ^{N×N},

identical to dense ENGD by ``(JᵀJ + λI)⁻¹Jᵀ = Jᵀ(JJᵀ + λI)⁻¹`` but costing one ``N×N`` Cholesky
instead of a ``P×P`` one (Guzmán-Cordero, Dangel, Goldshlager, Zeinhofer, NeurIPS 2025).
The damped least-squares solve is the one overridable method :meth:`ENGDW.least_squares`, which
SPRING reuses and Nyström replaces by a sketch.

``space="auto"`` (default) solves in the smaller space: the kernel when ``N ≤ P``, the ``P×P``
Gramian when ``P < N`` — the same direction. When ``N > P`` the kernel has rank ``≤ P < N`` and, as
``λ → 0``, its solve amplifies the rounding of the part of ``r`` outside ``range(J)`` by ``1/λ``
(measured: 2e-3 parameter error for a 30×5 linear least-squares problem at ``λ = 1e-12``, against
1e-14 in parameter space), which made results depend on the machine; ``space="sample"`` forces
the kernel anyway.
"""

from __future__ import annotations

from torch import Tensor

from . import kernel as kn
from .base import NaturalGradientOptimizer
from .validation import check_choice, check_damping, check_positive

ZERO_DAMPING = ("λ = 0 leaves K + λI singular whenever N > P or J loses rank; use a small λ such as 1e-10, "
                "or optimizer=engd (λ = 0 allowed: Gauss-Newton) or optimizer=sven for an undamped step")


def damped_defaults(lr, damping, line_search, adaptive_damping, effective_dimension, space="auto") -> dict:
    """Validated hyper-parameters shared by the damped methods."""
    check_positive("lr", lr, label="learning rate")
    check_damping(damping, why_zero=ZERO_DAMPING)
    check_choice("space", space, kn.SPACES)
    return dict(lr=lr, damping=damping, line_search=bool(line_search), adaptive_damping=bool(adaptive_damping),
                effective_dimension=bool(effective_dimension), space=space)


class ENGDW(NaturalGradientOptimizer):
    """ENGD with the Woodbury identity: ``θ ← θ − η Jᵀ(K + λI)⁻¹ r``.

    Args:
        params: model parameters (one group).
        lr: fixed step ``η`` (used when ``line_search=False``).
        damping: ``λ > 0``. A Cholesky failure is handled without a sync: that step falls back to a
            scaled gradient step and ``λ`` is multiplied by 10 for later steps
            (``diagnostics["cholesky_retries"]`` counts them).
        line_search: grid line search over ``η ∈ {2⁰, …, 2⁻³⁰}`` (one batched pass).
        adaptive_damping: Levenberg–Marquardt update of ``λ``.
        effective_dimension: log ``d_eff(λ)/N``.
        space: ``"auto"`` (the smaller of ``K`` and ``G``), ``"sample"`` (always ``K``) or ``"parameter"``.

    Example:
        >>> opt = ENGDW(model.parameters(), damping=1e-10)
        >>> loss = opt.step(EngineClosure(engine, batch))
    """

    def __init__(self, params, lr: float = 1.0, damping: float | str = "auto", line_search: bool = True,
                 adaptive_damping: bool = False, effective_dimension: bool = False, space: str = "auto"):
        super().__init__(params, damped_defaults(lr, damping, line_search, adaptive_damping, effective_dimension, space))

    def least_squares(self, J: Tensor, g: Tensor, damping: Tensor, state: dict, group: dict) -> tuple[Tensor, Tensor]:
        """``Jᵀ(K + λI)⁻¹ g: [P]`` and the 0-d failure flag, by Cholesky in the smaller space."""
        return kn.damped_least_squares(J, g, damping, group["space"])

    def direction(self, r: Tensor, J: Tensor, damping: Tensor, state: dict, group: dict):
        return self.least_squares(J, r, damping, state, group)
