r"""Closures handed to natural-gradient optimizers: rows ``r: [N]``, their Jacobian, losses at candidates.

An optimizer with ``requires_jacobian = True`` calls ``step(closure)`` with an object providing

* ``residuals_and_jacobian(columns=None) -> (r: [N], J: [N, P])`` at the current parameters
  (``columns: [P_s]`` asks for ``J[:, columns]`` only — Sven's ``param_fraction``);
* ``objective(r) -> []`` — the scalar loss the rows define;
* ``losses_at(thetas: [M, P]) -> [M]`` — that loss at ``M`` flat parameter vectors, one batched
  pass (the grid line search).

Two implementations:

:class:`~pinnsolve.engine.EngineClosure` (the trainer's, in the engine): rows are the **scaled
residuals** of a problem, ``objective(r) = ½‖r‖²``. This is what ENGD, ENGD-W, SPRING and Nyström are
defined on (Guzmán-Cordero et al. 2025). It also gives ``jacobian_rows()``, this process's rows as
:class:`~pinnsolve.optim.rows.Rows` (with several processes), and ``fresh_points``.

:class:`PerSampleClosure` (standalone, any ``nn.Module``): a user function of
``(predictions [B, …], targets [B, …]) -> [B]`` gives one row per sample, computed with
``torch.func`` (``functional_call`` + ``vmap(jacrev)``). With ``rows="residuals"`` the rows are
residuals and ``objective = ½‖r‖²`` (use this for ENGD-W / SPRING); with ``rows="losses"`` (the Sven
seed package's convention) the rows are per-sample losses ``ℓ_i`` and ``objective = mean(ℓ)``; Sven
then drives every ``ℓ_i`` to zero, which for squared errors is half the Gauss–Newton step.

Example:
    >>> closure = PerSampleClosure(model, lambda pred, y: ((pred - y) ** 2).sum(-1), x, y, rows="losses")
    >>> loss = Sven(model.parameters(), k=16, lr=0.1).step(closure)
"""

from __future__ import annotations

import warnings
from typing import Callable, Protocol, runtime_checkable

import torch
from torch import Tensor, nn
from torch.func import functional_call, jacrev, vmap

from .parameters import ParameterLayout
from ..chunked import chunked

ROWS = ("residuals", "losses")


@runtime_checkable
class Closure(Protocol):
    """What ``step(closure)`` of a natural-gradient optimizer receives (the module docstring); also, optionally,
    ``jacobian_rows(columns)`` (:class:`~pinnsolve.optim.rows.Rows` of this process), ``layout``
    (:class:`~pinnsolve.optim.parameters.ParameterLayout`), ``fresh_points`` and ``sequential``."""

    def residuals_and_jacobian(self, columns: Tensor | None = None) -> tuple[Tensor, Tensor]: ...

    def objective(self, r: Tensor) -> Tensor: ...

    def losses_at(self, thetas: Tensor) -> Tensor: ...


def half_squared_norm(r: Tensor) -> Tensor:
    """``½‖r‖²`` (0-d)."""
    return 0.5 * r.square().sum()


class PerSampleClosure:
    r"""Rows from any model and a per-sample function, for standalone use (the Sven seed workflow).

    Args:
        model: any ``nn.Module`` without batch-coupled layers (BatchNorm); ``θ`` is
            ``model.named_parameters()`` flattened in order (the order of ``model.parameters()``).
        fn: ``fn(predictions [B, …], targets [B, …]) -> [B]`` — per-sample residuals or losses.
            A scalar return is refused.
        inputs: ``[B, …]`` model inputs.
        targets: ``[B, …]`` targets, or ``None`` (then ``fn`` is called as ``fn(predictions)``).
        rows: ``"residuals"`` (objective ``½‖r‖²``) or ``"losses"`` (objective ``mean(ℓ)``).
        chunk_size: samples per ``vmap(jacrev)`` pass (bounds the ``[chunk, P]`` intermediate).
        fresh_points: the samples are a new mini-batch at every step (see :class:`EngineClosure`); the
            damping floor is then a fraction of the objective (``½‖r‖²``, or ``mean(ℓ)`` with ``rows="losses"``).

    Raises:
        ValueError: if ``fn`` does not return shape ``(B,)``.
    """

    def __init__(self, model: nn.Module, fn: Callable[..., Tensor], inputs: Tensor, targets: Tensor | None = None,
                 rows: str = "residuals", chunk_size: int | None = None, fresh_points: bool = False):
        if rows not in ROWS:
            raise ValueError(f"rows must be one of {ROWS}, got '{rows}'")
        self.model, self.fn, self.inputs, self.targets, self.rows = model, fn, inputs, targets, rows
        self.chunk_size, self.fresh_points = chunk_size, fresh_points
        self.layout = ParameterLayout.of(model)
        self.names = self.layout.names
        with torch.no_grad():
            out = self._batched(dict(model.named_parameters()), inputs, targets)
        batch = inputs.shape[0]
        if out.shape != (batch,):
            raise ValueError(
                f"the per-sample function returned shape {tuple(out.shape)}; it must return one value per sample, "
                f"shape ({batch},) — e.g. lambda pred, y: ((pred - y) ** 2).sum(-1), not nn.MSELoss() "
                "(a scalar mean hides the per-sample rows the Jacobian needs)"
            )
        self._check_convention(out)

    def _check_convention(self, out: Tensor) -> None:
        """Say what can be told of swapped conventions: negative "losses", or residual rows that are all ≥ 0."""
        if self.rows == "losses" and bool((out < 0).any()):
            raise ValueError(
                f"rows='losses' but the per-sample function gave {int((out < 0).sum())} negative values of {out.numel()}: "
                "losses are >= 0, so these are residuals. Pass rows='residuals' (objective ½‖r‖², what ENGD-W and "
                "SPRING are defined on), or return per-sample losses such as ((pred - y) ** 2).sum(-1)"
            )
        if self.rows == "residuals" and out.numel() >= 8 and bool((out >= 0).all()) and bool((out > 0).any()):
            warnings.warn(
                "rows='residuals' but every per-sample value is >= 0: if they are losses (squared errors), the "
                "objective ½‖r‖² squares them again. Return residuals (pred - y) for ENGD-W/SPRING, or pass "
                "rows='losses' for Sven's convention", stacklevel=3,
            )

    # ---- evaluation --------------------------------------------------------------------------
    def _batched(self, params: dict[str, Tensor], x: Tensor, y: Tensor | None) -> Tensor:
        pred = functional_call(self.model, params, (x,))
        return self.fn(pred) if y is None else self.fn(pred, y)

    def _one(self, params: dict[str, Tensor], x: Tensor, y: Tensor | None = None) -> Tensor:
        return self._batched(params, x.unsqueeze(0), None if y is None else y.unsqueeze(0))[0]

    def unflatten(self, theta: Tensor) -> dict[str, Tensor]:
        return self.layout.unflatten(theta)

    def residuals_and_jacobian(self, columns: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Rows ``r: [B]`` and ``J = ∂r/∂θ: [B, P]`` (or ``[B, P_s]`` for ``columns``).

        ``J`` is built ``chunk_size`` samples at a time and each chunk is sliced to ``columns``
        before it is stored, so the kept Jacobian really is ``[B, P_s]`` (peak: one
        ``[chunk, P]`` block plus ``[B, P_s]``).
        """
        params = {n: p.detach() for n, p in self.model.named_parameters()}
        x, y = self.inputs, self.targets
        step = self.chunk_size or x.shape[0]
        dims = (None, 0) if y is None else (None, 0, 0)
        rs, Js = [], []
        for start in range(0, x.shape[0], step):
            args = (params, x[start:start + step]) + (() if y is None else (y[start:start + step],))
            r = vmap(self._one, in_dims=dims)(*args)
            jac = vmap(jacrev(self._one), in_dims=dims)(*args)
            J = torch.cat([jac[n].reshape(r.shape[0], -1) for n in self.names], dim=1)
            rs.append(r)
            Js.append(J if columns is None else J[:, columns])
        return torch.cat(rs), torch.cat(Js)

    def objective(self, r: Tensor) -> Tensor:
        return half_squared_norm(r) if self.rows == "residuals" else r.mean()

    def losses_at(self, thetas: Tensor, chunk: int = 8) -> Tensor:
        """The objective at ``thetas: [M, P]``, ``chunk`` candidates per ``vmap`` pass (no sync)."""
        x, y = self.inputs, self.targets
        value = vmap(lambda theta: self.objective(self._batched(self.unflatten(theta), x, y)))
        with torch.no_grad():
            return chunked(value, thetas, chunk)
