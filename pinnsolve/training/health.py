"""Watching a run: divergence is stopped and said plainly; a run that makes no progress is said too.

:class:`RunHealth` sees the loss and the optimizer's diagnostics of every logged step;
:class:`HealthWatch` is the trainer's callback around it, which also keeps the last healthy state.

A run **diverges** when the loss is not finite, or exceeds ``divergence_factor`` times the loss at
step 0 (no training worth keeping goes there: the fixed-step run that motivated this went 49 →
3e233), or exceeds :data:`SPIKE_FACTOR` times the best loss so far. The trainer then stops, keeps the
last healthy state as the checkpoint and writes ``status: diverged`` with the cause and the fix into
``summary.json``.

A run **makes no progress** when, over the last :data:`WINDOW` steps, the line search rejected
every step, or took only steps below ``2⁻²⁰``, or the Cholesky of ``K + λI`` failed in most logged
intervals, or the best loss did not improve by 0.1 %. A run **drifts up** when the median of the
losses logged in the window is :data:`RISE_FACTOR` times the best loss before it: with points drawn
afresh every step, each step lowers the loss on its own points (the line search sees to that) while
the loss on the next step's points grows, so the steps fit their batches and not the solution. Each
is said once, when it starts: in the log,
on the progress line, as the ``warning`` column of ``metrics.csv`` and in ``summary.json``'s
``notices``, with the likely cause and the setting to change. The run goes on.
"""

from __future__ import annotations

import copy
import math
import statistics

from .callbacks import Callback

SPIKE_FACTOR = 1e10
"""A loss this many times above the best one so far is a blow-up, not noise."""

WINDOW = 50
"""Steps over which a lack of progress is judged."""

TINY_STEP = 2.0 ** -20

OVERDAMPED = 1e6
"""A λ this many times tr(K)/N turns the natural-gradient step into a gradient step shrunk by 1/λ; the
adaptive rule never goes above 1e2 (:data:`pinnsolve.optim.damping.MAX_RELATIVE`)."""

RISE_FACTOR = 5.0
"""A window whose median loss is this many times the best loss before it drifts up. In 512 runs of the
damping study (BENCHMARKS.md, "Damping with freshly drawn points") the ratio passed 4.2 in 17, all of
which ended with l2_rel ≥ 0.29; no run that ended better passed 4.2."""

ADVICE = {
    "rejected": ("the line search rejected every step of the last {w} steps: no step size lowers the loss along "
                 "the direction. Raise optimizer.damping (or use optimizer.damping=auto), or check that the residuals "
                 "are smooth in the network's parameters"),
    "tiny_steps": ("the line search took only steps below 2^-20 over the last {w} steps: the direction is poor. "
                   "Raise optimizer.damping (or use optimizer.damping=auto)"),
    "cholesky": ("the Cholesky of K + λI failed in most of the last {w} steps: λ is too small for this kernel. "
                 "Raise optimizer.damping or use optimizer.damping=auto (with N > P, optimizer.space=auto solves "
                 "in parameter space)"),
    "rising": ("the loss of the last {w} steps is over {rise:g} times its best before them although steps were "
               "taken. With points drawn afresh each step this means each step fits its own points and not the "
               "solution, as happens with few points per step (N much smaller than P): raise the damping (e.g. "
               "optimizer.damping=1e-2), draw more points per step (problem.n_interior), or keep them fixed "
               "(trainer.resample=false). With a fixed step or a first-order method, lower optimizer.lr"),
    "overdamped": ("the steps barely move the parameters because λ is {relative:.1e} times the kernel's mean "
                   "eigenvalue tr(K)/N: each step is then about Jᵀr/λ. Lower optimizer.damping (e.g. by several "
                   "decades), or use optimizer.damping=auto, which keeps λ relative to the kernel"),
    "stalled": ("the loss has not improved by 0.1 % over the last {w} steps: it may have reached what the network, "
                "the points or noisy data allow (a larger network or more points help), or the step is poorly set "
                "(with a fixed λ try optimizer.damping=auto; with a first-order method change optimizer.lr; if the points are "
                "drawn afresh each step and the loss drifts up, raise optimizer.damping)"),
}


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
        self.history: list[tuple[int, float, float | None, float | None, float]] = []  # step, best, η, retries, loss
        self.active: set[str] = set()
        self.relative_damping = math.nan  # λ/(tr K/N) when the run was found overdamped

    def watch(self, step: int, loss: float, diagnostics: dict) -> str | None:
        """Record a logged step; the warning code (:data:`ADVICE`) of a lack of progress that starts now, else ``None``."""
        best = min(loss, self.history[-1][1]) if self.history else loss
        self.history.append((step, best, diagnostics.get("step_size"), diagnostics.get("cholesky_retries"), loss))
        while len(self.history) > 1 and self.history[1][0] <= step - WINDOW:  # keep one anchor at or before the window
            self.history.pop(0)
        anchor, window = self.history[0], self.history[1:]
        if anchor[0] > step - WINDOW or len(window) < 2:
            return None
        sizes = [entry[2] for entry in window if entry[2] is not None]
        retries = [entry[3] for entry in self.history if entry[3] is not None]
        found = set()
        if sizes and all(size == 0 for size in sizes):
            found.add("rejected")
        elif sizes and all(size < TINY_STEP for size in sizes):
            found.add("tiny_steps")
        if len(retries) > 2 and sum(b > a for a, b in zip(retries, retries[1:])) > (len(retries) - 1) / 2:
            found.add("cholesky")
        if "rejected" not in found and statistics.median(entry[-1] for entry in window) > RISE_FACTOR * anchor[1]:
            found.add("rising")  # said before "stalled", which it explains
        if best > (1 - 1e-3) * anchor[1]:
            found.add("stalled")
        relative = diagnostics.get("relative_damping")
        if relative not in (None, "") and float(relative) >= OVERDAMPED and found & {"rejected", "tiny_steps", "stalled"}:
            found = (found - {"rejected", "tiny_steps", "stalled"}) | {"overdamped"}  # their advice (raise λ) would be wrong
            self.relative_damping = float(relative)
        new = sorted(found - self.active, key=list(ADVICE).index)
        self.active = found
        return new[0] if new else None

    @staticmethod
    def explain(code: str, relative_damping: float = math.nan) -> str:
        """The advice for ``code`` (``relative_damping``: λ/(tr K/N) for ``overdamped``)."""
        return ADVICE[code].format(w=WINDOW, rise=RISE_FACTOR, relative=relative_damping)

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
        return {"initial_loss": self.initial_loss, "best_loss": self.best_loss,
                "history": [list(entry) for entry in self.history], "active": sorted(self.active)}

    def load_state_dict(self, state: dict) -> None:
        self.initial_loss, self.best_loss = state.get("initial_loss"), float(state.get("best_loss", math.inf))
        # entries saved before the raw loss was kept (4 values) take their best loss as the loss
        self.history = [tuple(entry) if len(entry) == 5 else (*entry, entry[1]) for entry in state.get("history", [])]
        self.active = set(state.get("active", []))


class HealthWatch(Callback):
    """The trainer's callback: divergence stops the run and rolls back, a lack of progress is said.

    At every healthy logged step a copy of the trainer's state is kept in memory; when a row
    diverges the model, optimizer, sampler and RNG go back to it at once (the loop then stops with
    ``status: diverged``) and :meth:`kept_checkpoint` gives the checkpoint to write: that state with
    ``metrics.csv``'s rows up to its step. Its own state is the checkpoint's ``health`` entry.
    """

    def __init__(self, divergence_factor: float | None = 1e4):
        self.health = RunHealth(divergence_factor)
        self.reason: str | None = None
        self._healthy: tuple[int, dict, int] | None = None

    def on_fit_start(self, trainer) -> None:
        self.remember(trainer)  # a divergence at the first logged step returns here

    def on_log(self, trainer, row: dict) -> None:
        step, loss = int(row["step"]), float(row["loss"])
        reason = self.health.check(step, loss)
        if reason is not None:
            self.reason = reason
            _, state, _ = self._healthy
            trainer.restore(state, metrics=False)  # metrics.csv keeps the diverged rows
            trainer.request_stop(reason, status="diverged")
            trainer.notice(f"the run diverged: {reason}. Kept the state of step {trainer.step} as the checkpoint; "
                           f"{RunHealth.advice((trainer.config or {}).get('optimizer'))}.")
            return
        warning = self.health.watch(step, loss, row) if step > 0 else None
        if warning is not None:
            row["warning"] = warning
            trainer.metrics.append_column("warning")
            trainer.notice(f"step {step}: {RunHealth.explain(warning, self.health.relative_damping)}.")
        self.remember(trainer)

    def remember(self, trainer) -> None:
        """A copy of the state at this (healthy) step, without the metrics rows (their count is kept)."""
        state = trainer.state(0.0)
        metrics = state.pop("metrics")
        self._healthy = (trainer.step, copy.deepcopy(state), len(metrics["rows"]))

    def kept_checkpoint(self, trainer, wall_time: float) -> dict:
        """The checkpoint after a divergence: the healthy state and the rows logged up to it."""
        _, state, n_rows = self._healthy
        metrics = trainer.metrics.state_dict()
        return dict(state, wall_time=wall_time, metrics={"columns": metrics["columns"], "rows": metrics["rows"][:n_rows]})

    def on_fit_end(self, trainer, summary: dict) -> None:
        if self.reason is not None:
            summary["diverged"] = {"reason": self.reason, "kept_step": trainer.step,
                                   "advice": RunHealth.advice((trainer.config or {}).get("optimizer"))}

    def state_dict(self) -> dict:
        return self.health.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.health.load_state_dict(state)

