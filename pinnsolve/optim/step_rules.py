r"""Step-size and damping rules shared by every natural-gradient optimizer (``θ ← θ − η·φ``).

* :func:`grid_line_search` — ``η ∈ {2⁰, 2⁻¹, …, 2⁻³⁰}`` evaluated in **one** batched call to
  ``closure.losses_at`` (31 candidates); the best ``η`` is taken if it lowers the loss, else
  ``η = 0`` (no step). Selection by ``argmin``/``torch.where``: no host sync.
* :func:`norm_capped_step_size` — SPRING's ``η_k = min(η, √C/‖φ_k‖)``.
* :func:`gain_ratio` — ``ρ = (L(θ) − L(θ − ηφ)) / (L(θ) − m(ηφ))``, the actual over the
  Gauss–Newton model's predicted decrease, which the adaptive damping rule of a fixed-step method
  reads (:mod:`pinnsolve.optim.damping`).
"""

from __future__ import annotations

import torch
from torch import Tensor

LINE_SEARCH_EXPONENTS = 31  # η ∈ {2⁰, …, 2⁻³⁰}


def step_grid(dtype: torch.dtype, device: torch.device) -> Tensor:
    """``[2⁰, 2⁻¹, …, 2⁻³⁰]``: the line-search grid, ``[31]``."""
    return torch.pow(2.0, -torch.arange(LINE_SEARCH_EXPONENTS, dtype=dtype, device=device))


def grid_line_search(closure, theta: Tensor, phi: Tensor, loss: Tensor) -> tuple[Tensor, Tensor]:
    """Best ``η`` on the grid for ``θ − ηφ`` and the loss it reaches (``η = 0``, ``loss`` if none is lower).

    Args:
        closure: provides ``losses_at(thetas: [M, P]) -> [M]``.
        theta: ``[P]`` current parameters.
        phi: ``[P]`` direction (subtracted).
        loss: ``[]`` loss at ``theta``.

    Returns:
        ``(η: [], new_loss: [])``.
    """
    etas = step_grid(theta.dtype, theta.device)
    losses = closure.losses_at(theta - etas[:, None] * phi)
    losses = torch.where(torch.isfinite(losses), losses, torch.full_like(losses, float("inf")))
    best = torch.argmin(losses)
    improved = losses[best] < loss
    return torch.where(improved, etas[best], torch.zeros_like(loss)), torch.where(improved, losses[best], loss)


def norm_capped_step_size(lr: float, phi: Tensor, norm_constraint: float) -> Tensor:
    r"""``min(η, √C/‖φ‖)`` (0-d); ``η`` when ``φ = 0``."""
    norm = phi.norm()
    cap = (norm_constraint ** 0.5) / norm.clamp_min(torch.finfo(phi.dtype).tiny)
    return torch.clamp(cap, max=lr)


def gain_ratio(loss: Tensor, new_loss: Tensor, predicted_loss: Tensor) -> Tensor:
    r"""``ρ = (L − L_new) / (L − m)``: the actual decrease over the Gauss–Newton model's (0-d, sync-free).

    Args:
        loss: ``[]`` loss before the step.
        new_loss: ``[]`` loss after it.
        predicted_loss: ``[]`` the model's loss ``m = objective(r − ηJφ)`` after it.

    Returns:
        ``ρ``; 0 when the model predicts no decrease or the new loss is not finite.
    """
    predicted = loss - predicted_loss
    actual = loss - new_loss
    rho = torch.where(predicted > 0, actual / predicted.clamp_min(torch.finfo(loss.dtype).tiny), torch.zeros_like(loss))
    return torch.where(torch.isfinite(rho), rho, torch.zeros_like(rho))
