r"""ENGD-Woodbury: the ENGD step solved in sample space.

.. math::
    φ = J^\top (K + λI)^{-1} r,\qquad K = JJ^\top \in ℝ^{N×N},

identical to dense ENGD by ``(JᵀJ + λI)⁻¹Jᵀ = Jᵀ(JJᵀ + λI)⁻¹`` but costing one ``N×N`` Cholesky
instead of a ``P×P`` one (Guzmán-Cordero, Dangel, Goldshlager, Zeinhofer, NeurIPS 2025). It is
:class:`~pinnsolve.optim.presets.DampedPreset` without momentum.

``space="auto"`` (default) solves in the smaller space: the kernel when ``N ≤ P``, the ``P×P``
Gramian when ``P < N`` — the same direction. When ``N > P`` the kernel has rank ``≤ P < N`` and, as
``λ → 0``, its solve amplifies the rounding of the part of ``r`` outside ``range(J)`` by ``1/λ``
(measured: 2e-3 parameter error for a 30×5 linear least-squares problem at ``λ = 1e-12``, against
1e-14 in parameter space), which made results depend on the machine; ``space="sample"`` forces
the kernel anyway. ``solver="nystrom"`` or ``"cg"`` replace the exact solve.
"""

from __future__ import annotations

from .damping import LOSS_FLOOR
from .presets import ZERO_DAMPING, DampedPreset  # noqa: F401  (ZERO_DAMPING: the refusal's reason)


class ENGDW(DampedPreset):
    """ENGD with the Woodbury identity: ``θ ← θ − η Jᵀ(K + λI)⁻¹ r``.

    Args:
        params: model parameters (one group).
        lr: fixed step ``η`` (used when ``line_search=False``).
        damping: ``"auto"`` (default: adaptive, :mod:`~pinnsolve.optim.damping`) or a fixed ``λ > 0``. A
            Cholesky failure is handled without a sync: that step falls back to a scaled gradient step
            and ``λ`` is raised ×10 (``diagnostics["cholesky_retries"]`` counts them).
        line_search: grid line search over ``η ∈ {2⁰, …, 2⁻³⁰}``.
        adaptive_damping: adapt a numeric ``damping`` from there.
        loss_floor: ``ε`` of the adaptive ``λ ≥ εL`` with fresh points (``0``: off).
        effective_dimension: log ``d_eff(λ)/N``.
        space, solver, sketch_size, variant, shift, tol, max_iters, preconditioner: the solve
            (:class:`~pinnsolve.optim.presets.DampedPreset`).

    Example:
        >>> opt = ENGDW(model.parameters())
        >>> loss = opt.step(EngineClosure(engine, batch))
    """

    def __init__(self, params, lr: float = 1.0, damping: float | str = "auto", line_search: bool = True,
                 adaptive_damping: bool = False, effective_dimension: bool = False, space: str = "auto",
                 solver: str = "cholesky", sketch_size: int | float = 0.1, variant: str = "gpu_efficient",
                 shift: str | float = "relative", tol: float = 1e-10, max_iters: int | None = None,
                 preconditioner: str = "nystrom", loss_floor: float = LOSS_FLOOR):
        super().__init__(params, lr=lr, damping=damping, momentum=0.0, norm_constraint=None, line_search=line_search,
                         adaptive_damping=adaptive_damping, effective_dimension=effective_dimension, solver=solver,
                         space=space, sketch_size=sketch_size, variant=variant, shift=shift, tol=tol,
                         max_iters=max_iters, preconditioner=preconditioner, loss_floor=loss_floor)
