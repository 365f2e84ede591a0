"""Watching a run: divergence is detected and said plainly, never reported as "finished".

:class:`RunHealth` sees the loss of every logged step. A run **diverges** when the loss is not
finite, or exceeds ``divergence_factor`` times the loss at step 0 (no training worth keeping goes
there: the fixed-step run that motivated this went 49 → 3e233), or exceeds
:data:`SPIKE_FACTOR` times the best loss so far. The trainer then stops, keeps the last healthy
state as the checkpoint and writes ``status: diverged`` with the cause and the fix into
``summary.json``.
"""

from __future__ import annotations

import math

SPIKE_FACTOR = 1e10
"""A loss this many times above the best one so far is a blow-up, not noise."""


class RunHealth:
    """Divergence detection on the logged losses.

    Args:
        divergence_factor: the loss may not exceed this multiple of the step-0 loss (``None``: only
            non-finite losses and spikes count).
    """

    def __init__(self, divergence_factor: float | None = 1e4):
        self.divergence_factor = divergence_factor
        self.initial_loss: float | None = None
        self.best_loss = math.inf

    def check(self, step: int, loss: float) -> str | None:
        """``None`` while healthy, else the reason the run diverged (one sentence)."""
        if not math.isfinite(loss):
            return f"the loss became {loss} at step {step}"
        if self.initial_loss is None:
            self.initial_loss = loss
        if self.divergence_factor is not None and loss > self.divergence_factor * self.initial_loss:
            return (f"the loss grew to {loss:.3e} at step {step}, more than {self.divergence_factor:g} times its "
                    f"initial {self.initial_loss:.3e}")
        if loss > SPIKE_FACTOR * self.best_loss:
            return f"the loss jumped to {loss:.3e} at step {step} from a best of {self.best_loss:.3e}"
        self.best_loss = min(self.best_loss, loss)
        return None

    @staticmethod
    def advice(optimizer_config: dict | None) -> str:
        """What to change after a divergence, given the optimizer's settings."""
        cfg = optimizer_config or {}
        if cfg.get("line_search") is False:
            return ("the fixed step is too large: lower optimizer.lr, or set optimizer.line_search=true (the step "
                    "size is then chosen each step and never raises the loss)")
        if "damping" in cfg:
            return "raise optimizer.damping (λ) or turn on optimizer.adaptive_damping=true"
        return "lower optimizer.lr"

    def state_dict(self) -> dict:
        return {"initial_loss": self.initial_loss, "best_loss": self.best_loss}

    def load_state_dict(self, state: dict) -> None:
        self.initial_loss, self.best_loss = state.get("initial_loss"), float(state.get("best_loss", math.inf))
