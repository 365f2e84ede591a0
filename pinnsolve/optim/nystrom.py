r"""Nyström-ENGD-W / Nyström-SPRING: SPRING (or, with ``momentum = 0``, ENGD-W) whose kernel solve
``(K + λI)⁻¹`` is replaced by a randomized Nyström approximation (:mod:`pinnsolve.optim.sketch`).

A fresh sketch is drawn every step from the global torch RNG. The Woodbury paper finds the
approximation helps mainly early and on large batches, because ``d_eff(λ)/N`` stays above 0.5
(log it with ``effective_dimension=True``).
"""

from __future__ import annotations

from torch import Tensor

from .sketch import VARIANTS, nystrom_solve
from .base import NaturalGradientOptimizer
from .spring import SPRING, spring_defaults


class Nystrom(SPRING):
    """SPRING / ENGD-W with a Nyström-approximated kernel solve.

    Args:
        params: model parameters (one group).
        lr, damping, momentum, norm_constraint, line_search, adaptive_damping, effective_dimension:
            as in :class:`~pinnsolve.optim.SPRING` (``momentum=0`` gives Nyström-ENGD-W).
        sketch_size: ``ℓ``: an ``int`` ≥ 1 is a column count, a ``float`` in ``(0, 1]`` a fraction of
            ``N`` (``0.1`` = the paper's 10%). Write ``1.0`` (not ``1``) for "all of N".
        variant: ``"gpu_efficient"`` (Cholesky only) or ``"standard"`` (QR + SVD).
        shift: ``"relative"`` (``ν = eps·‖Y‖_F``) or an absolute ``ν ≥ 0`` (the authors' ``1e-7``).
    """

    def __init__(self, params, lr: float = 1.0, damping: float = 1e-8, momentum: float = 0.0,
                 norm_constraint: float | None = None, line_search: bool = True, sketch_size: int | float = 0.1,
                 variant: str = "gpu_efficient", shift: str | float = "relative", adaptive_damping: bool = False,
                 effective_dimension: bool = False):
        valid_size = (isinstance(sketch_size, int) and not isinstance(sketch_size, bool) and sketch_size >= 1) or (
            isinstance(sketch_size, float) and 0.0 < sketch_size <= 1.0)
        if not valid_size:
            raise ValueError(f"Invalid sketch_size value: {sketch_size}")
        if variant not in VARIANTS:
            raise ValueError(f"Invalid variant value: {variant} (choose one of {VARIANTS})")
        if not (shift == "relative" or (isinstance(shift, (int, float)) and not isinstance(shift, bool) and shift >= 0)):
            raise ValueError(f"Invalid shift value: {shift}")
        defaults = spring_defaults(lr, damping, momentum, norm_constraint, line_search, adaptive_damping, effective_dimension)
        NaturalGradientOptimizer.__init__(self, params, dict(defaults, sketch_size=sketch_size, variant=variant, shift=shift))

    def solve(self, J: Tensor, g: Tensor, damping: Tensor, state: dict, group: dict) -> tuple[Tensor, Tensor]:
        return nystrom_solve(J, g, damping, group["sketch_size"], group["variant"], group["shift"])
