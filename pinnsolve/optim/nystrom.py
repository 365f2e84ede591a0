r"""Nyström-ENGD-W / Nyström-SPRING: SPRING (or, with ``momentum = 0``, ENGD-W) whose kernel solve
``(K + λI)⁻¹`` is replaced by a randomized Nyström approximation (:mod:`pinnsolve.optim.sketch`).

A fresh sketch is drawn every step from the global torch RNG. The Woodbury paper finds the
approximation helps mainly early and on large batches, because ``d_eff(λ)/N`` stays above 0.5
(log it with ``effective_dimension=True``).
"""

from __future__ import annotations

import warnings

from torch import Tensor

from ..errors import HyperParameterError
from .base import NaturalGradientOptimizer
from .sketch import VARIANTS, nystrom_solve, sketch_columns
from .spring import SPRING, spring_defaults
from .validation import check_choice


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

    def __init__(self, params, lr: float = 1.0, damping: float | str = "auto", momentum: float = 0.0,
                 norm_constraint: float | None = None, line_search: bool = True, sketch_size: int | float = 0.1,
                 variant: str = "gpu_efficient", shift: str | float = "relative", adaptive_damping: bool = False,
                 effective_dimension: bool = False):
        valid_size = (isinstance(sketch_size, int) and not isinstance(sketch_size, bool) and sketch_size >= 1) or (
            isinstance(sketch_size, float) and 0.0 < sketch_size <= 1.0)
        if not valid_size:
            raise HyperParameterError("sketch_size", sketch_size, "an integer >= 1 (columns) or a float in (0, 1] "
                                      "(fraction of N; write 1.0, not 1, for all of N)")
        check_choice("variant", variant, VARIANTS)
        if not (shift == "relative" or (isinstance(shift, (int, float)) and not isinstance(shift, bool) and shift >= 0)):
            raise HyperParameterError("shift", shift, "'relative' or an absolute value >= 0")
        defaults = spring_defaults(lr, damping, momentum, norm_constraint, line_search, adaptive_damping, effective_dimension)
        NaturalGradientOptimizer.__init__(self, params, dict(defaults, sketch_size=sketch_size, variant=variant, shift=shift))

    def least_squares(self, J: Tensor, g: Tensor, damping: Tensor, state: dict, group: dict) -> tuple[Tensor, Tensor]:
        """``Jᵀ(K̂ + λI)⁻¹ g`` with the sketched kernel (the exact kernel when ``ℓ ≥ N``)."""
        self._warn_about_sketch(J.shape[0], group)
        x, failed = nystrom_solve(J, g, damping, group["sketch_size"], group["variant"], group["shift"])
        return J.mT @ x, failed

    def _warn_about_sketch(self, n: int, group: dict) -> None:
        """Say once when the sketch is the whole kernel, or so close to it that its Cholesky fails."""
        ell = sketch_columns(group["sketch_size"], n)
        key = (n, ell)
        if getattr(self, "_warned", None) == key:
            return
        self._warned = key
        if ell >= n:
            warnings.warn(f"Nystrom: sketch_size={group['sketch_size']} gives {ell} >= N = {n} columns, the whole kernel; "
                          "using the exact Cholesky solve (the same as optimizer=engd_w / spring, at their cost)")
        elif group["variant"] == "gpu_efficient" and ell > 0.9 * n:
            warnings.warn(f"Nystrom: sketch_size={group['sketch_size']} gives {ell} of N = {n} columns; this close to N the "
                          "GPU-efficient sketch's Cholesky is ill-conditioned and tends to fail. Use sketch_size <= 0.5, "
                          "variant=standard, or sketch_size=1.0 for the exact solve")
