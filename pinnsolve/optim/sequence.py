"""Two optimizers one after the other: the field's usual baseline "Adam, then L-BFGS".

Rathore et al. ("Challenges in training PINNs: a loss landscape perspective", ICML 2024) train PINNs with
Adam for a number of iterations, then switch to L-BFGS; that is the first-order record a natural-gradient
method is compared with (``optimizer=adam_lbfgs``). :class:`OptimizerSequence` runs ``first`` for
``switch_step`` steps, then ``second`` (on the same parameters, from where ``first`` left them); its state
dict holds both optimizers' states and the step count, so a resume continues in the right phase.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from ..errors import HyperParameterError


class OptimizerSequence(torch.optim.Optimizer):
    """``first`` for steps ``1 … switch_step``, ``second`` after.

    Args:
        params: the parameters (one group).
        first, second: factories ``params -> torch.optim.Optimizer`` (e.g. ``functools.partial(torch.optim.Adam,
            lr=1e-3)``), built once on the same parameters.
        switch_step: steps of ``first`` (``> 0``).
    """

    def __init__(self, params: Iterable, first: Callable, second: Callable, switch_step: int = 1000):
        params = list(params)
        if not (isinstance(switch_step, int) and switch_step > 0):
            raise HyperParameterError("switch_step", switch_step, "must be a positive number of steps")
        super().__init__(params, {})
        self.first, self.second = first(params), second(params)
        self.switch_step, self.steps = switch_step, 0

    @property
    def current(self) -> torch.optim.Optimizer:
        """The optimizer the next step uses."""
        return self.first if self.steps < self.switch_step else self.second

    @property
    def diagnostics(self) -> dict[str, torch.Tensor]:
        """``phase``: 0 while ``first`` steps, 1 after the switch; ``step_size``: the learning rate of the
        optimizer that took the last step (columns of ``metrics.csv``)."""
        last = self.first if self.steps <= self.switch_step else self.second
        return {"phase": torch.tensor(float(last is self.second)),
                "step_size": torch.tensor(float(last.param_groups[0]["lr"]))}

    def step(self, closure=None):
        loss = self.current.step(closure)
        self.steps += 1
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.current.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict:
        return {"steps": self.steps, "first": self.first.state_dict(), "second": self.second.state_dict()}

    def load_state_dict(self, state_dict: dict) -> None:
        self.steps = int(state_dict["steps"])
        self.first.load_state_dict(state_dict["first"])
        self.second.load_state_dict(state_dict["second"])


def adam_then_lbfgs(params: Iterable, lr: float = 1e-3, switch_step: int = 1000, lbfgs_lr: float = 1.0,
                    max_iter: int = 20, history_size: int = 100, line_search_fn: str | None = "strong_wolfe") -> OptimizerSequence:
    """Adam (``lr``) for ``switch_step`` steps, then L-BFGS (``lbfgs_lr``, ``max_iter`` iterations per step,
    ``history_size``, ``line_search_fn``), as :class:`OptimizerSequence`."""
    if not 0 < lbfgs_lr < float("inf"):
        raise HyperParameterError("lbfgs_lr", lbfgs_lr, "the L-BFGS step size must be > 0 and finite")
    return OptimizerSequence(params,
                    lambda p: torch.optim.Adam(p, lr=lr),
                    lambda p: torch.optim.LBFGS(p, lr=lbfgs_lr, max_iter=max_iter, history_size=history_size,
                                                line_search_fn=line_search_fn),
                    switch_step=switch_step)
