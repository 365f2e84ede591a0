r"""Nyström-ENGD-W / Nyström-SPRING: SPRING (or, with ``momentum = 0``, ENGD-W) whose kernel solve
``(K + λI)⁻¹`` is replaced by a randomized Nyström approximation (:mod:`pinnsolve.optim.solvers`,
:mod:`pinnsolve.optim.sketch`). It is :class:`~pinnsolve.optim.presets.DampedPreset` with
``solver="nystrom"``.

A fresh sketch is drawn every step from the global torch RNG. The Woodbury paper finds the
approximation helps mainly early and on large batches, because ``d_eff(λ)/N`` stays above 0.5
(log it with ``effective_dimension=True``). ``ℓ ≥ N`` is the exact solve (said once, as a warning).
"""

from __future__ import annotations

from .damping import LOSS_FLOOR
from .presets import DampedPreset


class Nystrom(DampedPreset):
    """SPRING / ENGD-W with a Nyström-approximated kernel solve.

    Args:
        params: model parameters (one group).
        lr, damping, momentum, norm_constraint, line_search, adaptive_damping, effective_dimension, loss_floor:
            as in :class:`~pinnsolve.optim.SPRING` (``momentum=0`` gives Nyström-ENGD-W).
        sketch_size: ``ℓ``: an ``int`` ≥ 1 is a column count, a ``float`` in ``(0, 1]`` a fraction of
            ``N`` (``0.1`` = the paper's 10%). Write ``1.0`` (not ``1``) for "all of N".
        variant: ``"gpu_efficient"`` (Cholesky only) or ``"standard"`` (orthonormal sketch + eigenvalues).
        shift: ``"relative"`` (``ν = eps·‖Y‖_F``) or an absolute ``ν ≥ 0`` (the authors' ``1e-7``).
    """

    def __init__(self, params, lr: float = 1.0, damping: float | str = "auto", momentum: float = 0.0,
                 norm_constraint: float | None = None, line_search: bool = True, sketch_size: int | float = 0.1,
                 variant: str = "gpu_efficient", shift: str | float = "relative", adaptive_damping: bool = False,
                 effective_dimension: bool = False, loss_floor: float = LOSS_FLOOR):
        super().__init__(params, lr=lr, damping=damping, momentum=momentum, norm_constraint=norm_constraint,
                         line_search=line_search, adaptive_damping=adaptive_damping,
                         effective_dimension=effective_dimension, solver="nystrom", sketch_size=sketch_size,
                         variant=variant, shift=shift, loss_floor=loss_floor)
