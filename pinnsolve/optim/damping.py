r"""Damping rules: the ``λ`` of ``(K + λI)⁻¹`` for each step, and how it changes.

**Fixed** (``damping=<λ>``): the papers' way, ``λ`` tuned per problem over ten decades.

**Adaptive** (``damping="auto"``, the default, or ``adaptive_damping=True`` from a given ``λ₀``):

.. math::
    λ_k = \max\Big(μ_k \, \frac{\operatorname{tr} K_k}{N},\; ε\, L_k\Big), \qquad
    \frac{\operatorname{tr} K_k}{N} = \frac{‖J_k‖_F^2}{N},

the damping relative to the mean eigenvalue of this step's kernel (``O(NP)`` to compute, the same for
the ``P×P`` Gramian route), with the factor ``μ`` moved by what the step showed:

- with the grid line search: the chosen step ``η`` says whether the damped Gauss–Newton direction
  was trustworthy: ``η ≥ 1/4`` divides ``μ`` by 3, ``η ≤ 1/32`` (including no step) multiplies it
  by 3, anything between keeps it;
- with a fixed step: the Levenberg–Marquardt gain ratio ``ρ = (L − L_new)/(L − m)`` of the actual to
  the predicted decrease: ``ρ > ¾`` divides ``μ`` by 3, ``ρ < ¼`` multiplies it by 3;
- a failed Cholesky multiplies ``μ`` by 10.

A raise (poor step, failed Cholesky) starts from the ``λ`` the step used, ``max(μ, εL·N/tr K)``: where
the floor below held ``λ`` up, multiplying a ``μ`` far below it would not raise ``λ`` at all.

The second term applies only when the points are drawn afresh every step (the closure's
``fresh_points``): ``λ`` never falls below ``ε`` (``loss_floor``, default :data:`LOSS_FLOOR`) times
the loss ``L_k = ½‖r_k‖²``, the
Levenberg–Marquardt choice ``λ ∝ ‖r‖²`` (Yamashita & Fukushima 2001), which vanishes as a PINN's
residual does. Without it the line search, which judges each step on the points the step was
computed from, keeps saying "trust more" while with ``N ≪ P`` every step fits its own points and not
the solution: on logfp9d ``λ`` fell to about ``1e-11`` and the error stalled near 0.4 on two seeds of
three (RESULTS.md). On fixed points the line search's verdict is the right one, and the floor would
only slow the first steps.

``μ`` starts at :data:`INITIAL_RELATIVE_DAMPING` (or ``λ₀ / (tr K/N)`` at the first step) and stays in
``[MIN, MAX]``. This rule was chosen by measurement against fixed ``λ`` swept over ``1e-12 … 1e-2``
and other adaptive rules (``scripts/studies/damping_study.py``, BENCHMARKS.md). Every update is a
``torch.where`` on 0-d tensors: no host synchronisation.
"""

from __future__ import annotations

import torch
from torch import Tensor

INITIAL_RELATIVE_DAMPING = 1e-6
FACTOR = 3.0
FAILURE_FACTOR = 10.0
GOOD_STEP, POOR_STEP = 0.25, 1.0 / 32
MIN_RELATIVE, MAX_RELATIVE = 1e-14, 1e2
LOSS_FLOOR = 1e-4
"""``ε`` of ``λ ≥ ε L`` with fresh points. Measured against 1e-2, 1e-3 and 3e-4 (BENCHMARKS.md): larger
values slow nonlinear_disk and poisson5d down, 1e-4 still lifts logfp9d from l2_rel 0.40 to 0.015."""


def kernel_scale(J: Tensor) -> Tensor:
    """``tr(JJᵀ)/N = ‖J‖_F²/N`` (0-d), the mean eigenvalue of the kernel; ``tiny`` for an all-zero ``J``."""
    return (J.square().sum() / max(1, J.shape[0])).clamp_min(torch.finfo(J.dtype).tiny)


def step_verdict(eta: Tensor, line_search: bool, gain_ratio: Tensor | None) -> tuple[Tensor, Tensor]:
    """``(good, poor)`` (0-d bools): ``η ≥ 1/4`` / ``η ≤ 1/32`` with a line search, gain ratio ``> ¾`` /
    ``< ¼`` (or NaN) without."""
    if line_search:
        return eta >= GOOD_STEP, eta <= POOR_STEP
    return gain_ratio > 0.75, ~(gain_ratio >= 0.25)


def adapt_factor(value: Tensor, eta: Tensor, line_search: bool, gain_ratio: Tensor | None,
                 low: float, high: float, raise_from: Tensor | None = None) -> Tensor:
    """``value`` divided by :data:`FACTOR` after a good step, ``raise_from`` (default ``value``) multiplied by
    it after a poor one, clamped (:func:`step_verdict`). Shared by the damping rule (``μ``) and Sven's
    adaptive truncation (``rtol``)."""
    good, poor = step_verdict(eta, line_search, gain_ratio)
    raised = (value if raise_from is None else raise_from) * FACTOR
    return torch.where(good, value / FACTOR, torch.where(poor, raised, value)).clamp(low, high)


class FixedDamping:
    """A fixed ``λ`` (the papers' way). A failed Cholesky multiplies it by :data:`FAILURE_FACTOR` for the
    steps after; ``λ/(tr K/N)`` is reported as ``relative_damping`` (an overdamped run is said)."""

    adaptive = False

    def __init__(self, damping: float):
        self.initial = float(damping)

    def init_state(self, state: dict, reference: Tensor) -> None:
        like = dict(dtype=reference.dtype, device=reference.device)
        state["damping"] = torch.tensor(self.initial, **like)
        state["damping_boost"] = torch.ones((), **like)

    def value(self, state: dict, rows, loss: Tensor | None = None, fresh_points: bool = False) -> Tensor:
        """This step's ``λ`` (0-d)."""
        scale = kernel_scale(rows) if isinstance(rows, Tensor) else rows.kernel_scale()
        damping = state["damping"] * state["damping_boost"]
        state["applied_relative"] = damping / scale
        return damping

    def update(self, state: dict, failed: Tensor | None, eta: Tensor, line_search: bool,
               gain_ratio: Tensor | None = None) -> None:
        if failed is not None:
            state["damping_boost"] = torch.where(failed, state["damping_boost"] * FAILURE_FACTOR, state["damping_boost"])

    def diagnostics(self, state: dict, damping: Tensor) -> dict[str, Tensor]:
        return {"damping": damping.detach(), "relative_damping": state["applied_relative"].clone()}


class AdaptiveDamping:
    """``λ = max(μ·tr K/N, εL)`` with ``μ`` moved by each step's outcome (see the module docstring).

    Args:
        initial: ``λ₀`` (then ``μ₀ = λ₀/(tr K/N)`` at the first step), or ``None`` for ``damping="auto"``
            (``μ₀`` = :data:`INITIAL_RELATIVE_DAMPING`).
        loss_floor: ``ε`` of ``λ ≥ εL`` with fresh points (``0``: none).
    """

    adaptive = True

    def __init__(self, initial: float | None = None, loss_floor: float = LOSS_FLOOR):
        self.initial = None if initial is None else float(initial)
        self.auto = initial is None
        self.loss_floor = float(loss_floor)

    def init_state(self, state: dict, reference: Tensor) -> None:
        """``state["relative_damping"]`` (``μ``); a ``-1`` means "take ``λ₀ / (tr K/N)`` at the first step"."""
        like = dict(dtype=reference.dtype, device=reference.device)
        state["relative_damping"] = torch.tensor(INITIAL_RELATIVE_DAMPING if self.auto else -1.0, **like)
        state["damping_boost"] = torch.ones((), **like)

    def value(self, state: dict, rows, loss: Tensor | None = None, fresh_points: bool = False) -> Tensor:
        """This step's ``λ`` (0-d) for :class:`~pinnsolve.optim.rows.Rows` (or a plain ``J``), the loss at
        the step's start and whether its points are freshly drawn (then ``λ ≥ ε L``, ``ε`` = ``loss_floor``)."""
        scale = kernel_scale(rows) if isinstance(rows, Tensor) else rows.kernel_scale()
        mu = state["relative_damping"]
        if self.initial is not None:  # adaptive from a given λ₀: μ₀ = λ₀ / (tr K / N), once
            mu = torch.where(mu < 0, (self.initial / scale).clamp(MIN_RELATIVE, MAX_RELATIVE), mu)
            state["relative_damping"] = mu
        damping, state["applied_relative"] = mu * scale, mu
        if fresh_points and loss is not None and self.loss_floor > 0:
            floor = self.loss_floor * loss.to(damping.dtype)
            held_up = floor > damping
            damping = torch.where(held_up, floor, damping)
            state["applied_relative"] = torch.where(held_up, floor / scale, mu)  # μ as the step used it
        return damping

    def update(self, state: dict, failed: Tensor | None, eta: Tensor, line_search: bool,
               gain_ratio: Tensor | None = None) -> None:
        """After the step: a Cholesky failure, the step size ``η`` (line search) or the gain ratio (fixed step)."""
        mu = state["relative_damping"]
        used = torch.maximum(mu, state.get("applied_relative", mu))  # a raise starts from the λ the step used
        mu = adapt_factor(mu, eta, line_search, gain_ratio, MIN_RELATIVE, MAX_RELATIVE, raise_from=used)
        if failed is not None:
            mu = torch.where(failed, torch.maximum(mu, used) * FAILURE_FACTOR, mu).clamp(MIN_RELATIVE, MAX_RELATIVE)
        state["relative_damping"] = mu

    def diagnostics(self, state: dict, damping: Tensor) -> dict[str, Tensor]:
        return {"damping": damping.detach(), "relative_damping": state["relative_damping"].clone()}


class NoDamping:
    """``λ = 0``: for methods whose direction needs none (Sven's truncated pseudoinverse)."""

    adaptive = False

    def init_state(self, state: dict, reference: Tensor) -> None:
        pass

    def value(self, state: dict, rows, loss: Tensor | None = None, fresh_points: bool = False) -> Tensor:
        return torch.zeros((), dtype=rows.r.dtype, device=rows.r.device)

    def update(self, state: dict, failed, eta: Tensor, line_search: bool, gain_ratio: Tensor | None = None) -> None:
        pass

    def diagnostics(self, state: dict, damping: Tensor) -> dict[str, Tensor]:
        return {}


def DampingRule(damping: float | str, adaptive: bool = False, loss_floor: float = LOSS_FLOOR):  # noqa: N802
    """The damping part of the flat config keys: ``"auto"`` or ``adaptive`` → :class:`AdaptiveDamping`,
    a number → :class:`FixedDamping`."""
    if damping == "auto" or adaptive:
        return AdaptiveDamping(None if damping == "auto" else float(damping), loss_floor)
    return FixedDamping(damping)
