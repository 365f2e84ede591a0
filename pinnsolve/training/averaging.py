r"""An exponential moving average of the parameters (``callbacks=[average]``).

With points drawn afresh every step, each natural-gradient step fits its own batch, and the error moves
by a factor 2–3 from one step to the next; the network of the last step is one draw from that spread.
The average

.. math::
    \bar θ_k = β\,\bar θ_{k-1} + (1 - β)\,θ_k, \qquad \bar θ_0 = θ_0,

(Polyak & Juditsky 1992; the exponential form as in Izmailov et al. 2018 and the EMA weights of diffusion
and PINN codes) averages over the batches of the last ``1/(1 − β)`` steps. It is updated before every step
(``O(P)``, no host synchronisation), kept in the checkpoint, and at the end evaluated and written to
``<run dir>/average.pt``: ``summary.json`` gets ``average: {errors, step, decay, file}``, and
``load_run(dir, which="average")`` or ``pinnsolve-predict which=average`` answer with it. The run's own
network (``checkpoint.pt``) is left as trained, so resuming continues the same run.
"""

from __future__ import annotations

import torch

from ..runs.checkpoint import save_checkpoint
from .callbacks import Callback


class ParameterAverage(Callback):
    """Keep ``θ̄ ← βθ̄ + (1 − β)θ`` over the run's steps; evaluate and save it at the end (module docstring).

    Args:
        decay: ``β`` in ``[0, 1)``; ``0.99`` averages over about the last 100 steps.
        filename: the file in the run directory.
    """

    def __init__(self, decay: float = 0.99, filename: str = "average.pt"):
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 <= decay < 1:
            raise ValueError(f"decay={decay}: give β in [0, 1), e.g. 0.99 (about the last 100 steps)")
        self.decay, self.filename = float(decay), filename
        self.shadow: torch.Tensor | None = None
        self.updates = 0

    def _params(self, trainer) -> list[torch.Tensor]:
        return [p for p in trainer.model.parameters() if p.requires_grad]

    @torch.no_grad()
    def on_batch(self, trainer, batch) -> None:
        theta = torch.cat([p.detach().reshape(-1) for p in self._params(trainer)])
        if self.shadow is None:
            self.shadow = theta.clone()
        else:
            self.shadow.mul_(self.decay).add_(theta, alpha=1 - self.decay)
        self.updates += 1

    @torch.no_grad()
    def on_fit_end(self, trainer, summary: dict) -> None:
        if self.shadow is None:
            return
        params = self._params(trainer)
        kept = [p.detach().clone() for p in params]
        offset = 0
        for p in params:  # the average in place for the evaluation, then the run's own network back
            p.copy_(self.shadow[offset:offset + p.numel()].view_as(p))
            offset += p.numel()
        try:
            errors = trainer.evaluate()
            if trainer.is_main:
                state = {"model": {k: v.detach().cpu() for k, v in trainer.model.state_dict().items()},
                         "step": trainer.step, "decay": self.decay, "problem": trainer.problem.name}
                save_checkpoint(trainer.run_dir / self.filename, state)
        finally:
            for p, value in zip(params, kept):
                p.copy_(value)
        summary["average"] = {**errors, "step": trainer.step, "decay": self.decay, "file": self.filename}
        trainer.notice(f"parameter average (β = {self.decay}): " + ", ".join(f"{k} {v:.3e}" for k, v in errors.items())
                       + f"; in {self.filename} (load_run(dir, which='average'))")

    def state_dict(self) -> dict:
        return {"shadow": None if self.shadow is None else self.shadow.detach().cpu(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        shadow = state.get("shadow")
        self.shadow = None if shadow is None else torch.as_tensor(shadow).clone()
        self.updates = int(state.get("updates", 0))
