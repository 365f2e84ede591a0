r"""ENGD-Woodbury: the ENGD step solved in sample space.

.. math::
    φ = J^\top (K + λI)^{-1} r,\qquad K = JJ^\top \in ℝ^{N×N},

identical to dense ENGD by ``(JᵀJ + λI)⁻¹Jᵀ = Jᵀ(JJᵀ + λI)⁻¹`` but costing one ``N×N`` Cholesky
instead of a ``P×P`` one (Guzmán-Cordero, Dangel, Goldshlager, Zeinhofer, NeurIPS 2025).
The kernel solve is the one overridable method :meth:`ENGDW.solve`, which SPRING reuses and
Nyström replaces by a sketch.

Limitation: when ``N > P`` the kernel has rank ``≤ P < N`` and, as ``λ → 0``, the rounding error of
the part of ``r`` outside ``range(J)`` is amplified by ``1/λ`` (measured: 2e-3 parameter error for a
30×5 linear least-squares problem at ``λ = 1e-12``, against 1e-14 for dense ENGD). PINN batches
have ``N < P`` or a damping large enough; otherwise prefer :class:`~pinnsolve.optim.ENGD`.
"""

from __future__ import annotations

from torch import Tensor

from . import kernel as kn
from .base import NaturalGradientOptimizer, check_positive


def damped_defaults(lr, damping, line_search, adaptive_damping, effective_dimension) -> dict:
    """Validated hyper-parameters shared by the damped sample-space methods."""
    check_positive("learning rate", lr)
    check_positive("damping", damping)
    return dict(lr=lr, damping=damping, line_search=bool(line_search), adaptive_damping=bool(adaptive_damping),
                effective_dimension=bool(effective_dimension))


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

    Example:
        >>> opt = ENGDW(model.parameters(), damping=1e-10)
        >>> loss = opt.step(EngineClosure(engine, batch))
    """

    def __init__(self, params, lr: float = 1.0, damping: float = 1e-10, line_search: bool = True,
                 adaptive_damping: bool = False, effective_dimension: bool = False):
        super().__init__(params, damped_defaults(lr, damping, line_search, adaptive_damping, effective_dimension))

    def solve(self, J: Tensor, g: Tensor, damping: Tensor, state: dict, group: dict) -> tuple[Tensor, Tensor]:
        """``x = (K + λI)⁻¹ g: [N]`` and the 0-d failure flag, by Cholesky of the exact kernel."""
        return kn.damped_solve(kn.kernel(J), g, damping)

    def direction(self, r: Tensor, J: Tensor, damping: Tensor, state: dict, group: dict):
        x, failed = self.solve(J, r, damping, state, group)
        return J.mT @ x, failed
