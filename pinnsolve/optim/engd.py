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
from .damping import LOSS_FLOOR, DampingRule
from .natural_gradient import NaturalGradient
from .presets import warn_if_floor_ignored
from .rows import Rows
from .step_rules import step_rule
from .validation import check_damping, check_positive, check_range


class AveragedGramian:
    """The solver part of dense ENGD: ``(Ḡ + λI)⁻¹ Jᵀg`` with ``Ḡ ← βḠ + (1 − β)G`` (``β = 0``: this step's ``G``).
    The average is ``state["gramian"]``."""

    def __init__(self, beta: float = 0.0):
        self.beta = float(beta)

    def __call__(self, rows: Rows, g: Tensor, damping: Tensor, state: dict) -> tuple[Tensor, Tensor, dict]:
        G = rows.gramian_lower()
        if self.beta > 0:
            state["gramian"] = G if "gramian" not in state else self.beta * state["gramian"] + (1 - self.beta) * G
            G = state["gramian"]
        phi, failed = kn.damped_solve(G, rows.Jt(g), damping)
        return phi, failed, {}


class ENGD(NaturalGradient):
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
        super().__init__(params, solver=AveragedGramian(gramian_average), step_rule=step_rule(bool(line_search)),
                         damping=DampingRule(damping, bool(adaptive_damping), float(loss_floor)), defaults=defaults)
        warn_if_floor_ignored(self, defaults)
