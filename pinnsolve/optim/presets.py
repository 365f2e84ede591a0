r"""The damped presets' flat keys, mapped to parts of :class:`~pinnsolve.optim.natural_gradient.NaturalGradient`.

ENGD-W, SPRING and Nyström are one shell whose parts their config keys choose:

==========================================  ======================================================
keys                                        part
==========================================  ======================================================
``solver``, ``space``, ``sketch_size``,     :func:`~pinnsolve.optim.solvers.make_solver`: Cholesky (in
``variant``, ``shift``, ``tol``,            the smaller space), Nyström sketch or conjugate gradients
``max_iters``, ``preconditioner``
``momentum``                                ``0``: :class:`~pinnsolve.optim.momentum.NoMomentum`, else
                                            ``SpringMomentum(μ)``
``line_search``, ``norm_constraint``, ``lr``  ``GridLineSearch`` or ``FixedStep(norm_cap)`` reading ``lr``
``damping``, ``adaptive_damping``,          ``FixedDamping(λ)`` or ``AdaptiveDamping(λ₀ or auto, ε)``
``loss_floor``
==========================================  ======================================================

The keys stay in the parameter group (``state_dict()``, schedulers), as they always have.
"""

from __future__ import annotations

import warnings

from . import kernel as kn
from .damping import LOSS_FLOOR, DampingRule
from .momentum import momentum_part
from .natural_gradient import NaturalGradient
from .sketch import VARIANTS
from .solvers import PRECONDITIONERS, SOLVERS, make_solver
from .step_rules import step_rule
from .validation import check_choice, check_damping, check_int, check_positive, check_range
from ..errors import HyperParameterError

ZERO_DAMPING = ("λ = 0 leaves K + λI singular whenever N > P or J loses rank; use a small λ such as 1e-10, "
                "or optimizer=engd (λ = 0 allowed: Gauss-Newton) or optimizer=sven for an undamped step")


def natural_gradient_defaults(lr, damping, momentum, norm_constraint, line_search, adaptive_damping, effective_dimension,
                              solver, space, sketch_size, variant, shift, tol, max_iters, preconditioner,
                              loss_floor=LOSS_FLOOR) -> dict:
    """Validated flat keys of :class:`DampedPreset`."""
    check_positive("lr", lr, label="learning rate")
    check_damping(damping, why_zero=ZERO_DAMPING)
    check_range("momentum", momentum, 0.0, 1.0)
    check_positive("loss_floor", loss_floor, allow_zero=True)
    if norm_constraint is not None:
        check_positive("norm_constraint", norm_constraint)
    check_choice("solver", solver, SOLVERS)
    check_choice("space", space, kn.SPACES)
    valid_size = (isinstance(sketch_size, int) and not isinstance(sketch_size, bool) and sketch_size >= 1) or (
        isinstance(sketch_size, float) and 0.0 < sketch_size <= 1.0)
    if not valid_size:
        raise HyperParameterError("sketch_size", sketch_size, "an integer >= 1 (columns) or a float in (0, 1] "
                                  "(fraction of N; write 1.0, not 1, for all of N)")
    check_choice("variant", variant, VARIANTS)
    if not (shift == "relative" or (isinstance(shift, (int, float)) and not isinstance(shift, bool) and shift >= 0)):
        raise HyperParameterError("shift", shift, "'relative' or an absolute value >= 0")
    check_positive("tol", tol)
    check_int("max_iters", max_iters, 1, allow_none=True)
    check_choice("preconditioner", preconditioner, PRECONDITIONERS)
    return dict(lr=lr, damping=damping, momentum=float(momentum), norm_constraint=norm_constraint,
                line_search=bool(line_search), adaptive_damping=bool(adaptive_damping), loss_floor=float(loss_floor),
                effective_dimension=bool(effective_dimension), solver=solver, space=space, sketch_size=sketch_size,
                variant=variant, shift=shift, tol=float(tol), max_iters=max_iters, preconditioner=preconditioner)


class DampedPreset(NaturalGradient):
    """ENGD-W / SPRING / Nyström / matrix-free from flat keys (the table in the module docstring).

    Args:
        params: model parameters (one group).
        lr: fixed step ``η`` (used when ``line_search=False``; capped by ``norm_constraint``).
        damping: ``λ > 0`` or ``"auto"`` (:mod:`~pinnsolve.optim.damping`).
        momentum: ``μ ∈ [0, 1)`` (SPRING); 0 is ENGD-W.
        norm_constraint: ``C`` of the cap ``min(η, √C/‖φ‖)`` of a fixed step, or ``None``.
        line_search: grid line search over ``η ∈ {2⁰, …, 2⁻³⁰}`` instead of the fixed step.
        adaptive_damping: adapt a numeric ``damping`` from there.
        loss_floor: ``ε`` of the adaptive ``λ ≥ εL`` when the closure's points are fresh (``0``: off).
        effective_dimension: log ``d_eff(λ)/N`` (gathers ``K``: an eigendecomposition per step).
        solver: ``"cholesky"``, ``"nystrom"`` or ``"cg"`` (:mod:`~pinnsolve.optim.solvers`).
        space: the Cholesky solver's ``"auto"`` (smaller of ``K`` and ``G``), ``"sample"`` or ``"parameter"``.
        sketch_size, variant, shift: the Nyström sketch (also the CG preconditioner's ``ℓ`` and shift).
        tol, max_iters, preconditioner: of the CG solver.
    """

    def __init__(self, params, lr: float = 1.0, damping: float | str = "auto", momentum: float = 0.0,
                 norm_constraint: float | None = None, line_search: bool = True, adaptive_damping: bool = False,
                 effective_dimension: bool = False, solver: str = "cholesky", space: str = "auto",
                 sketch_size: int | float = 0.1, variant: str = "gpu_efficient", shift: str | float = "relative",
                 tol: float = 1e-10, max_iters: int | None = None, preconditioner: str = "nystrom",
                 loss_floor: float = LOSS_FLOOR):
        defaults = natural_gradient_defaults(lr, damping, momentum, norm_constraint, line_search, adaptive_damping,
                                             effective_dimension, solver, space, sketch_size, variant, shift, tol,
                                             max_iters, preconditioner, loss_floor)
        parts = dict(solver=make_solver(solver, space, sketch_size, variant, shift, tol, max_iters, preconditioner),
                     momentum=momentum_part(defaults["momentum"]),
                     step_rule=step_rule(defaults["line_search"], norm_constraint),
                     damping=DampingRule(damping, defaults["adaptive_damping"], defaults["loss_floor"]))
        super().__init__(params, **parts, defaults=defaults)
        warn_if_floor_ignored(self, defaults)


def warn_if_floor_ignored(optimizer: NaturalGradient, defaults: dict) -> None:
    """A ``loss_floor`` other than the default is read only by the adaptive damping: say so with a fixed ``λ``."""
    floor = defaults.get("loss_floor", LOSS_FLOOR)
    if floor != LOSS_FLOOR and not optimizer.damping.adaptive:
        warnings.warn(f"{type(optimizer).__name__}: loss_floor={floor} is read only by the adaptive damping "
                      f"(damping='auto' or adaptive_damping=True); with the fixed damping={defaults['damping']} "
                      "it is ignored")
