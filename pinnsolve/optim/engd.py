r"""Dense (parameter-space) energy natural gradient descent — the reference method.

.. math::
    φ = (G + λI)^{-1} J^\top r,\qquad G = J^\top J \in ℝ^{P×P},

optionally with a running average ``Ḡ ← βḠ + (1 − β)G`` in place of ``G`` (``gramian_average = β``).
One ``P×P`` Cholesky per step (Müller & Zeinhofer, ICML 2023). By the push-through identity
``(JᵀJ + λI)⁻¹Jᵀ = Jᵀ(JJᵀ + λI)⁻¹`` it gives the same step as :class:`~pinnsolve.optim.ENGDW`
for ``β = 0``; the tests hold the Woodbury path to it. Use it when ``P ≪ N``.
"""

from __future__ import annotations

from torch import Tensor

from . import kernel as kn
from .base import NaturalGradientOptimizer
from .damping import LOSS_FLOOR
from .rows import Rows
from .validation import check_damping, check_positive, check_range


class ENGD(NaturalGradientOptimizer):
    """Dense ENGD: ``θ ← θ − η (G + λI)⁻¹ Jᵀr``.

    Args:
        params: model parameters (one group).
        lr: fixed step ``η`` (used when ``line_search=False``).
        damping: ``"auto"`` (default, :mod:`~pinnsolve.optim.damping`) or ``λ ≥ 0``; ``λ = 0`` is the Gauss–Newton step, which needs ``J`` of full column rank
            (``N ≥ P``): otherwise the Cholesky fails and the step falls back to a gradient step.
        line_search: grid line search over ``η ∈ {2⁰, …, 2⁻³⁰}`` (one batched pass).
        gramian_average: ``β ∈ [0, 1)``; ``0`` uses this step's Gramian only.
        adaptive_damping: adapt a numeric ``damping`` from there (:mod:`~pinnsolve.optim.damping`).
        loss_floor: ``ε`` of the adaptive ``λ ≥ εL`` with fresh points (``0``: off).
        effective_dimension: log ``d_eff(λ)/N`` (costs an eigendecomposition of ``K``).

    Example:
        >>> opt = ENGD(model.parameters(), damping=1e-8)
        >>> loss = opt.step(EngineClosure(engine, batch))
    """

    def __init__(self, params, lr: float = 1.0, damping: float | str = "auto", line_search: bool = True,
                 gramian_average: float = 0.0, adaptive_damping: bool = False, effective_dimension: bool = False,
                 loss_floor: float = LOSS_FLOOR):
        check_positive("lr", lr, label="learning rate")
        check_damping(damping, allow_zero=True)
        check_range("gramian_average", gramian_average, 0.0, 1.0)
        check_positive("loss_floor", loss_floor, allow_zero=True)
        defaults = dict(lr=lr, damping=damping, line_search=bool(line_search), gramian_average=float(gramian_average),
                        adaptive_damping=bool(adaptive_damping), effective_dimension=bool(effective_dimension),
                        loss_floor=float(loss_floor))
        super().__init__(params, defaults)

    def direction(self, rows: Rows, damping: Tensor, state: dict, group: dict):
        G = rows.gramian_lower()
        beta = group["gramian_average"]
        if beta > 0:
            if "gramian" not in state:
                state["gramian"] = G
            else:
                state["gramian"] = beta * state["gramian"] + (1 - beta) * G
            G = state["gramian"]
        return kn.damped_solve(G, rows.Jt(rows.r), damping)
