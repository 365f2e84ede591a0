r"""Step-size and damping rules shared by every natural-gradient optimizer (``θ ← θ − η·φ``).

* :func:`grid_line_search` — ``η ∈ {2⁰, 2⁻¹, …, 2⁻³⁰}``; the best ``η`` is taken if it lowers the
  loss, else ``η = 0`` (no step). Where the closure evaluates one candidate at a time (the CPU,
  ``closure.sequential``) the losses are read as they come. Given the previous step's exponent (the
  optimizers keep it in their state), the search starts there (if that ``η`` now overshoots: at the
  best of the smaller ones, by a golden-section search), walks downhill on the grid to a local
  minimum and then reads every larger ``η`` until the loss exceeds the start by :data:`HUMP` times the
  decrease found (at most until it doubles), so that a lower minimum behind a hump is not missed:
  3 losses when the best ``η`` has not moved and the curve is steep, 5–8 on average in practice.
  Without a hint (the first step), or when nothing on that path lowers the loss, the grid is walked
  down from ``η = 1`` and the walk ends three rises past a minimum below the starting loss; a minimum
  deeper than the first twelve values is found by a golden-section search over the rest. How often
  this finds the whole grid's ``η`` on real runs is in BENCHMARKS.md. Elsewhere (a GPU) all 31 go in
  one batched call and the selection is by ``argmin``/``torch.where``: no host sync.
* :func:`norm_capped_step_size` — SPRING's ``η_k = min(η, √C/‖φ_k‖)``.
* :func:`gain_ratio` — ``ρ = (L(θ) − L(θ − ηφ)) / (L(θ) − m(ηφ))``, the actual over the
  Gauss–Newton model's predicted decrease, which the adaptive damping rule of a fixed-step method
  reads (:mod:`pinnsolve.optim.damping`).
"""

from __future__ import annotations

import torch
from torch import Tensor

LINE_SEARCH_EXPONENTS = 31  # η ∈ {2⁰, …, 2⁻³⁰}
GOLDEN = (1 + 5**0.5) / 2
RISES_TO_STOP = 3  # the CPU's walk ends three rises past a minimum …
WALK = 12          # … within the first twelve values, else a golden-section search takes over
HUMP = 1e4         # from a hint: larger steps are read until the loss exceeds the start by 10⁴ times the
                   # decrease found (or doubles): humps that high are crossed, a flat curve is left early


def step_grid(dtype: torch.dtype, device: torch.device) -> Tensor:
    """``[2⁰, 2⁻¹, …, 2⁻³⁰]``: the line-search grid, ``[31]``."""
    return torch.pow(2.0, -torch.arange(LINE_SEARCH_EXPONENTS, dtype=dtype, device=device))


def grid_line_search(closure, theta: Tensor, phi: Tensor, loss: Tensor,
                     hint: int | None = None) -> tuple[Tensor, Tensor]:
    """Best ``η`` on the grid for ``θ − ηφ`` and the loss it reaches (``η = 0``, ``loss`` if none is lower).

    Args:
        closure: provides ``losses_at(thetas: [M, P]) -> [M]``.
        theta: ``[P]`` current parameters.
        phi: ``[P]`` direction (subtracted).
        loss: ``[]`` loss at ``theta``.
        hint: the exponent ``k`` of the previous step's ``η = 2⁻ᵏ`` (``None`` or ``< 0``: none); read
            only by the sequential (CPU) search, where it is where the search starts.

    Returns:
        ``(η: [], new_loss: [])``.
    """
    etas = step_grid(theta.dtype, theta.device)
    if getattr(closure, "sequential", False):
        return _walk_the_grid(closure, theta, phi, loss, etas, hint)
    losses = closure.losses_at(theta - etas[:, None] * phi)
    losses = torch.where(torch.isfinite(losses), losses, torch.full_like(losses, float("inf")))
    best = torch.argmin(losses)
    improved = losses[best] < loss
    return torch.where(improved, etas[best], torch.zeros_like(loss)), torch.where(improved, losses[best], loss)


def _walk_the_grid(closure, theta: Tensor, phi: Tensor, loss: Tensor, etas: Tensor,
                   hint: int | None = None) -> tuple[Tensor, Tensor]:
    """The grid's best ``η`` one loss at a time (CPU), from ``hint`` or from ``η = 1`` (see the module
    docstring). Losses already read are reused when the search from the hint falls back to the walk."""
    start, values = float(loss), {}

    def at(k: int) -> float:
        if k not in values:
            value = float(closure.losses_at((theta - float(etas[k]) * phi)[None])[0])
            values[k] = value if value == value else float("inf")
        return values[k]

    last = len(etas) - 1
    if hint is not None and 0 <= hint <= last:
        k = int(hint)
        if at(k) >= start:  # the last η overshoots now: the minimum lies at smaller η
            k = _golden(at, k, last)
        if at(k) < start:
            k = _descend(at, k, last)
            ceiling = start + min(start, HUMP * (start - values[k]))
            while k > 0 and at(k - 1) <= ceiling:  # larger steps, until the loss is clearly above the start
                k -= 1
            best = _descend(at, min(values, key=lambda j: (values[j], j)), last)
            return _result(etas[best], values[best], loss)
    rises, stopped = 0, False
    for k in range(min(WALK, last + 1)):
        rises = rises + 1 if at(k) > values.get(k - 1, float("inf")) else 0
        if min(values.values()) < start and rises >= RISES_TO_STOP:
            stopped = True
            break
    if not stopped:
        _golden(at, WALK - 1, last)
    best = min(values, key=lambda k: (values[k], k))
    if values[best] < start:
        return _result(etas[best], values[best], loss)
    return _result(0.0, start, loss)


def _golden(at, low: int, high: int) -> int:
    """The exponent of the lowest loss in ``[low, high]`` by a golden-section search (exact for a unimodal
    curve), reading the last bracket of at most four exponents whole."""
    inner = lambda a, b: (round(b - (b - a) / GOLDEN), round(a + (b - a) / GOLDEN))  # noqa: E731
    left, right = inner(low, high)
    while high - low > 3:
        if at(left) <= at(right):
            high = right
        else:
            low = left
        left, right = inner(low, high)
        right = max(right, left + 1)
    return min(range(low, high + 1), key=lambda k: (at(k), k))


def _descend(at, k: int, last: int) -> int:
    """From exponent ``k``, step to the lower neighbour on the grid until neither neighbour is lower:
    a local minimum of ``k ↦ L(θ − 2⁻ᵏφ)``, after ``3 + |moves|`` losses."""
    left = lambda j: at(j - 1) if j > 0 else float("inf")  # noqa: E731
    right = lambda j: at(j + 1) if j < last else float("inf")  # noqa: E731
    direction = -1 if left(k) < min(at(k), right(k)) else (1 if right(k) < at(k) else 0)
    while direction and (left(k) if direction < 0 else right(k)) < at(k):
        k += direction
    return k


def _result(eta, value: float, like: Tensor) -> tuple[Tensor, Tensor]:
    as_tensor = lambda v: torch.as_tensor(float(v), dtype=like.dtype, device=like.device)  # noqa: E731
    return as_tensor(eta), as_tensor(value)


def grid_exponent(eta: Tensor) -> Tensor:
    """``k`` with ``η = 2⁻ᵏ`` (int64, 0-d), ``-1`` for ``η = 0`` (no step): the hint of the next search."""
    k = torch.round(-torch.log2(eta.clamp_min(torch.finfo(eta.dtype).tiny))).to(torch.int64)
    return torch.where(eta > 0, k, torch.full_like(k, -1))


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


class GridLineSearch:
    """``η`` from :func:`grid_line_search` on the closure's losses; on the CPU the search starts at the last
    step's ``η`` (its exponent kept as ``state["line_search_exponent"]``)."""

    line_search = True

    def size(self, closure, theta: Tensor, update: Tensor, phi: Tensor, loss: Tensor, state: dict,
             group: dict) -> Tensor:
        """``η`` for ``θ − η·update`` (``θ``, ``update``: all of the closure's columns)."""
        sequential = getattr(closure, "sequential", False)  # the CPU: start where the last step's η was
        hint = int(state["line_search_exponent"]) if sequential and "line_search_exponent" in state else None
        eta, _ = grid_line_search(closure, theta, update, loss, hint=hint)
        if sequential:  # a refused step (η = 0) keeps the last hint
            k = grid_exponent(eta)
            state["line_search_exponent"] = torch.where(k >= 0, k, state.get("line_search_exponent", k))
        return eta


class FixedStep:
    """``η = lr`` (read from the parameter group, so learning-rate schedulers apply), or SPRING's norm cap
    ``η = min(lr, √C/‖φ‖)`` with ``norm_cap = C``."""

    line_search = False

    def __init__(self, norm_cap: float | None = None):
        self.norm_cap = norm_cap

    def size(self, closure, theta: Tensor, update: Tensor, phi: Tensor, loss: Tensor, state: dict,
             group: dict) -> Tensor:
        if self.norm_cap is None:
            return torch.as_tensor(group["lr"], dtype=phi.dtype, device=phi.device)
        return norm_capped_step_size(group["lr"], phi, self.norm_cap)


def step_rule(line_search: bool, norm_constraint: float | None = None):
    """The part of the flat ``line_search`` / ``norm_constraint`` keys."""
    return GridLineSearch() if line_search else FixedStep(norm_constraint)
