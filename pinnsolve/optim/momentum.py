r"""Momentum parts of a natural-gradient step: none (ENGD-W), or SPRING's.

SPRING (Goldshlager, Abrahamsen, Lin 2024) solves for the direction closest to the last one:

.. math::
    φ_k = μφ_{k-1} + J^\top (K + λI)^{-1}\,(r − μJφ_{k-1})
        = \arg\min_φ ‖Jφ − r‖² + λ‖φ − μφ_{k-1}‖²,

and applies the bias-corrected ``d_k = φ_k / √(1 − μ^{2k})``. A part maps the rows to the right-hand
side the solver needs (:meth:`target`), the solver's answer to ``φ_k`` (:meth:`combine`), ``φ_k`` to
the step applied (:meth:`applied`), and updates its memory once ``η`` is known (:meth:`after_step`).
Its memory is ``state["phi"]`` (``[P]``) in the optimizer's state, so ``state_dict()`` carries it.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from .rows import Rows


class NoMomentum:
    """``φ_k`` is the solver's direction for ``r``; nothing is remembered."""

    def init_state(self, state: dict, reference: Tensor, num_columns: int) -> None:
        pass

    def target(self, rows: Rows, state: dict) -> Tensor:
        return rows.r

    def combine(self, direction: Tensor, state: dict) -> Tensor:
        return direction

    def applied(self, phi: Tensor, state: dict) -> Tensor:
        return phi

    def after_step(self, state: dict, eta: Tensor, line_search: bool) -> None:
        pass


class SpringMomentum:
    """SPRING's momentum ``μ ∈ (0, 1)`` (see the module docstring).

    With the line search choosing ``η_k``, the memory keeps the step taken, ``η_kφ_k``, instead of ``φ_k``
    (the same with ``η = 1``): after a short step (``η ≪ 1``) the unscaled ``φ_k`` made the next direction
    overshoot by about ``1/η``, so the search picked a short step again, and a refused step (``η = 0``)
    now restarts the momentum. Measured with the default damping, 200 steps: logfp9d l2_rel 0.36 → 0.024
    (seed 0), poisson2d 3.9e-6 → 1.2e-6, poisson5d 1.5e-4 → 4.8e-5 (RESULTS.md).
    """

    def __init__(self, momentum: float):
        self.momentum = float(momentum)

    def init_state(self, state: dict, reference: Tensor, num_columns: int) -> None:
        state["phi"] = torch.zeros(num_columns, dtype=reference.dtype, device=reference.device)

    def _previous(self, rows: Rows, state: dict) -> Tensor:
        previous = state["phi"]
        if previous.numel() != rows.num_columns:
            warnings.warn(f"the set of trainable parameters changed ({previous.numel()} -> {rows.num_columns} values); "
                          "the momentum restarts from zero")
            previous = state["phi"] = torch.zeros(rows.num_columns, dtype=rows.dtype, device=rows.device)
        return previous

    def target(self, rows: Rows, state: dict) -> Tensor:
        """``r − μJφ_{k−1}``."""
        return rows.r - self.momentum * rows.Jv(self._previous(rows, state))

    def combine(self, direction: Tensor, state: dict) -> Tensor:
        """``φ_k = μφ_{k−1} + direction``, remembered unless it is not finite."""
        previous = state["phi"]
        phi = self.momentum * previous + direction
        state["phi"] = torch.where(torch.isfinite(phi).all(), phi, previous)
        return phi

    def applied(self, phi: Tensor, state: dict) -> Tensor:
        """``φ_k / √(1 − μ^{2k})`` (``k = state["step"]``, already counting this step)."""
        k = state["step"].to(phi.dtype)
        return phi / torch.sqrt(1.0 - torch.pow(torch.as_tensor(self.momentum, dtype=phi.dtype, device=phi.device), 2.0 * k))

    def after_step(self, state: dict, eta: Tensor, line_search: bool) -> None:
        if line_search:
            state["phi"] = eta * state["phi"]


def momentum_part(momentum: float):
    """The part of the flat ``momentum`` key: ``0`` → :class:`NoMomentum`, else :class:`SpringMomentum`."""
    return SpringMomentum(momentum) if momentum > 0.0 else NoMomentum()
