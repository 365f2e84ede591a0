r"""PolyakSGD: gradient descent with the Polyak step size (the Sven paper's baseline).

.. math::
    θ ← θ − η∇L,\qquad η = \min\Big(η_{\max},\; \frac{L(θ) − f^\star}{‖∇L(θ)‖^2}\Big),\quad f^\star = 0,

with ``‖∇L‖²`` summed over all parameters of all groups. A first-order ``torch.optim`` optimizer:
``step(closure)`` takes a standard closure that zeroes the gradients, computes the loss, calls
``backward()`` and returns the loss. No host synchronisation (``η`` stays a tensor).
"""

from __future__ import annotations

import torch
from torch.optim import Optimizer

from ..errors import HyperParameterError
from .validation import check_positive


class PolyakSGD(Optimizer):
    """SGD with Polyak's step size ``min(max_lr, (L − f*)/‖∇L‖²)``.

    Args:
        params: parameters or parameter groups.
        max_lr: the cap ``η_max > 0``.
        f_star: the optimal loss value ``f*`` (``0`` for interpolating / zero-residual problems).
        eps: added to ``‖∇L‖²`` (no division by zero at a stationary point).

    Example:
        >>> opt = PolyakSGD(model.parameters(), max_lr=1.0)
        >>> def closure():
        ...     opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); return loss
        >>> opt.step(closure)
    """

    def __init__(self, params, max_lr: float = 1.0, f_star: float = 0.0, eps: float = 1e-12):
        check_positive("max_lr", max_lr)
        check_positive("eps", eps)
        if not isinstance(f_star, (int, float)) or isinstance(f_star, bool):
            raise HyperParameterError("f_star", f_star, "must be a number")
        super().__init__(params, dict(max_lr=max_lr, f_star=float(f_star), eps=eps))
        self.diagnostics: dict[str, torch.Tensor] = {}

    def step(self, closure):  # type: ignore[override]
        """One step; returns the loss the closure computed (before the step)."""
        if closure is None:
            raise ValueError("PolyakSGD.step needs a closure returning the loss (the step size depends on it)")
        with torch.enable_grad():
            loss = closure()
        with torch.no_grad():
            grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
            if not grads:
                return loss
            sq_norm = torch.stack([g.square().sum() for g in grads]).sum()
            gap = (loss.detach() - self.param_groups[0]["f_star"]).clamp_min(0)
            for group in self.param_groups:
                eta = torch.clamp((loss.detach() - group["f_star"]).clamp_min(0) / (sq_norm + group["eps"]), max=group["max_lr"])
                for p in group["params"]:
                    if p.grad is not None:
                        p.sub_(eta * p.grad)
            self.diagnostics = {"step_size": torch.clamp(gap / (sq_norm + self.param_groups[0]["eps"]),
                                                         max=self.param_groups[0]["max_lr"])}
        return loss
