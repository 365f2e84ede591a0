r"""The shell every natural-gradient optimizer shares: a ``torch.optim.Optimizer`` on a flat ``θ``.

A subclass writes one method, :meth:`NaturalGradientOptimizer.direction`, mapping the rows
``r: [N]`` and Jacobian ``J: [N, P]`` to a direction ``φ: [P]``; this class does the rest:

1. ``r, J = closure.residuals_and_jacobian()``; ``L = closure.objective(r)`` (``½‖r‖²``);
2. ``φ = direction(r, J, damping)`` with ``damping = λ·boost`` (``boost`` grows ×10 after each
   Cholesky failure, see :func:`~pinnsolve.optim.kernel.damped_solve`);
3. a non-finite ``φ`` (NaN residual) is replaced by ``0`` — no step, never a NaN parameter;
4. ``η``: grid line search (one batched pass), or the fixed ``lr`` (SPRING: norm-capped);
5. ``θ ← θ − ηφ``; optional Levenberg–Marquardt update of ``λ``; diagnostics.

No step of this sequence reads a tensor on the host: ``step`` returns ``L`` as a 0-d tensor and
``self.diagnostics`` holds 0-d tensors that the trainer syncs when it logs.

Following ``torch.optim.LBFGS``, only one parameter group is allowed and the global state
(``step``, ``damping``, ``damping_boost``, ``cholesky_retries``, SPRING's ``phi``, ENGD's
averaged Gramian) lives in ``self.state[first_param]``, so ``state_dict()`` / ``load_state_dict()``
and LR schedulers work unchanged.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.optim import Optimizer

from . import kernel as kn
from .step_rules import grid_line_search, levenberg_marquardt_damping

CHOLESKY_RETRY_FACTOR = 10.0


def check_positive(name: str, value, allow_zero: bool = False) -> None:
    """``ValueError("Invalid <name> value: <value>")`` unless ``value > 0`` (``≥ 0`` if allowed)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ValueError(f"Invalid {name} value: {value}")


class NaturalGradientOptimizer(Optimizer):
    """Base class: single param group, flat parameters, shared step rules and diagnostics.

    Args:
        params: the model's parameters (one group), in ``model.parameters()`` order — the
            column order of the closure's ``J``.
        defaults: hyper-parameters; must contain ``lr``, ``line_search`` and
            ``effective_dimension``; damped methods also ``damping`` and ``adaptive_damping``.
    """

    requires_jacobian = True
    damped = True

    def __init__(self, params, defaults: dict):
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(f"{type(self).__name__} doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]
        self.diagnostics: dict[str, Tensor] = {}

    # ---- flat parameters -------------------------------------------------------------------
    def _flat(self) -> Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self._params])

    def _assign(self, theta: Tensor) -> None:
        offset = 0
        for p in self._params:
            n = p.numel()
            p.copy_(theta[offset:offset + n].view_as(p))
            offset += n

    def _global_state(self) -> dict:
        state = self.state[self._params[0]]
        if "step" not in state:
            ref = self._params[0]
            state["step"] = torch.zeros((), dtype=torch.int64, device=ref.device)
            state["cholesky_retries"] = torch.zeros((), dtype=torch.int64, device=ref.device)
            if self.damped:
                state["damping"] = torch.tensor(float(self.param_groups[0]["damping"]), dtype=ref.dtype, device=ref.device)
                state["damping_boost"] = torch.ones((), dtype=ref.dtype, device=ref.device)
            self.init_state(state)
        return state

    # ---- what a subclass writes ------------------------------------------------------------
    def init_state(self, state: dict) -> None:
        """Add method-specific tensors to the global state (called once)."""

    def direction(self, r: Tensor, J: Tensor, damping: Tensor, state: dict, group: dict) -> tuple[Tensor, Tensor | None]:
        """``φ: [P]`` and a 0-d bool ``failed`` (Cholesky failure) or ``None``."""
        raise NotImplementedError

    def fixed_step_size(self, phi: Tensor, state: dict, group: dict) -> Tensor:
        """``η`` when the line search is off: ``lr`` (SPRING overrides with its norm cap)."""
        return torch.as_tensor(group["lr"], dtype=phi.dtype, device=phi.device)

    def applied_step(self, phi: Tensor, state: dict, group: dict) -> Tensor:
        """The vector actually subtracted (times ``η``): ``φ`` (SPRING: bias-corrected)."""
        return phi

    def jacobian_columns(self, closure, num_params: int) -> Tensor | None:
        """Column subset of ``J`` to request (Sven's ``param_fraction``); ``None``: all."""
        return None

    # ---- the step -------------------------------------------------------------------------------
    @torch.no_grad()
    def step(self, closure) -> Tensor:  # type: ignore[override]
        """One natural-gradient step; returns the loss at the start of the step (0-d, no sync).

        Args:
            closure: an :class:`~pinnsolve.optim.closure.EngineClosure` or
                :class:`~pinnsolve.optim.closure.PerSampleClosure` (not a plain callable).
        """
        if not hasattr(closure, "residuals_and_jacobian"):
            raise TypeError(
                f"{type(self).__name__}.step needs a closure with residuals_and_jacobian() and losses_at() "
                "(pinnsolve.optim.EngineClosure or PerSampleClosure), not a plain loss closure"
            )
        group, state = self.param_groups[0], self._global_state()
        theta = self._flat()
        columns = self.jacobian_columns(closure, theta.numel())
        r, J = closure.residuals_and_jacobian(columns=columns) if columns is not None else closure.residuals_and_jacobian()
        loss = closure.objective(r)
        damping = state["damping"] * state["damping_boost"] if self.damped else torch.zeros((), dtype=r.dtype, device=r.device)
        phi, failed = self.direction(r, J, damping, state, group)
        if columns is not None:
            phi = torch.zeros_like(theta).index_put_((columns,), phi)
        phi = torch.where(torch.isfinite(phi).all(), phi, torch.zeros_like(phi))
        state["step"] += 1
        update = self.applied_step(phi, state, group)

        if group["line_search"]:
            eta, new_loss = grid_line_search(closure, theta, update, loss)
        else:
            eta, new_loss = self.fixed_step_size(phi, state, group), None
        self._assign(theta - eta * update)

        if failed is not None:
            state["cholesky_retries"] += failed.to(torch.int64)
            state["damping_boost"] = torch.where(failed, state["damping_boost"] * CHOLESKY_RETRY_FACTOR, state["damping_boost"])
        if self.damped and group["adaptive_damping"]:
            if new_loss is None:
                new_loss = closure.losses_at(self._flat()[None])[0]
            Jphi = J @ (update if columns is None else update[columns])
            predicted = closure.objective(r - eta * Jphi)
            state["damping"] = levenberg_marquardt_damping(state["damping"], loss, new_loss, predicted)

        self.diagnostics = {"step_size": eta.detach(), "cholesky_retries": state["cholesky_retries"].clone()}
        if self.damped:
            self.diagnostics["damping"] = damping.detach()
        if group["effective_dimension"]:
            self.diagnostics["d_eff_over_N"] = kn.effective_dimension(kn.kernel(J), damping) / r.shape[0]
        self.extra_diagnostics(state, group)
        return loss.detach()

    def extra_diagnostics(self, state: dict, group: dict) -> None:
        """Add method-specific entries to ``self.diagnostics``."""
