"""Callbacks: behaviour added to a run from outside the training loop.

A callback implements any of five hooks, and keeps what it must remember in ``state_dict()`` (plain
numbers and strings: it goes into the checkpoint, so a resumed run's callbacks continue where they
were)::

    on_fit_start(trainer)         before the first step of this segment (after a resume's load)
    on_batch(trainer, batch)      each step's points, drawn, before the step uses them
    on_log(trainer, row)          every logged row of metrics.csv (step, loss, the errors when evaluated)
    on_fit_end(trainer, summary)  after the final row; may add keys to the summary
    on_teardown(trainer)          always last, also after an error (release what on_fit_start took)
    state_dict() / load_state_dict(state)

The trainer's own side jobs are callbacks of the same interface, called after the user's:
divergence and lack of progress (:class:`~pinnsolve.training.health.HealthWatch`), the logger
(:class:`~pinnsolve.training.loggers.LoggerForwarding`), the progress display
(:class:`~pinnsolve.training.progress.ProgressReport`), checkpoints
(:class:`~pinnsolve.training.checkpointing.Checkpointing`), ``summary.json``
(:class:`~pinnsolve.training.summary.SummaryWriter`) and the plots
(:class:`~pinnsolve.training.plots.PlotWriter`).

``trainer.request_stop(reason)`` ends the run after the current step with ``status: stopped`` and the
reason in ``summary.json``. On the command line callbacks are a config group, several at once::

    pinnsolve callbacks=[best_model,early_stopping] callbacks.early_stopping.patience=300
    pinnsolve +callbacks.mine._target_=my_callbacks.Counter      # your own, from a module on the path

and in Python ``solve(problem, callbacks=[BestModel(), MyCallback()])``. Like loggers, callbacks run
code and write files, so a resume takes them from its command line, never from the run directory.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..runs.checkpoint import save_checkpoint

MODES = ("min", "max")


class Callback:
    """The interface; every hook does nothing by default."""

    def on_fit_start(self, trainer) -> None:
        """Before the first step of this segment."""

    def on_batch(self, trainer, batch) -> None:
        """This step's points (this rank's slice), before the step: e.g. weigh them in the engine."""

    def on_log(self, trainer, row: dict) -> None:
        """One logged row (the columns of ``metrics.csv``; error columns only on evaluated steps)."""

    def on_fit_end(self, trainer, summary: dict) -> None:
        """The run's end; ``summary`` may be extended (it is written to ``summary.json`` afterwards)."""

    def on_teardown(self, trainer) -> None:
        """After everything, also when the run failed."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


def _value(row: dict, monitor: str) -> float | None:
    value = row.get(monitor)
    if value in ("", None):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class _Monitor(Callback):
    """The best value of ``monitor`` seen so far and its step (``mode``: ``min`` or ``max``)."""

    def __init__(self, monitor: str, mode: str):
        if mode not in MODES:
            raise ValueError(f"mode='{mode}' is not one of {MODES}")
        self.monitor, self.mode = monitor, mode
        self.best: float | None = None
        self.best_step: int | None = None

    def improves(self, value: float, margin: float = 0.0) -> bool:
        """Whether ``value`` beats the best by more than the relative ``margin``."""
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - margin * abs(self.best)
        return value > self.best + margin * abs(self.best)

    def state_dict(self) -> dict:
        return {"best": self.best, "best_step": self.best_step}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_step = state.get("best"), state.get("best_step")


class BestModel(_Monitor):
    """Keep the network of the best logged ``monitor`` value in ``<run dir>/<filename>``.

    The file holds the weights, the step and the value (read back with
    ``load_run(dir, which="best")`` or ``pinnsolve-predict which=best``); it is written atomically
    whenever the value improves. ``summary.json`` gets ``best: {monitor, value, step, file}``.

    Args:
        monitor: a column of ``metrics.csv``: ``l2_rel`` (default), ``l2_rms``, ``loss``, ``val_loss``, …
        mode: ``min`` or ``max``.
        filename: the file in the run directory.
    """

    def __init__(self, monitor: str = "l2_rel", mode: str = "min", filename: str = "best.pt"):
        super().__init__(monitor, mode)
        if not filename or Path(filename).name != filename or filename in (".", ".."):
            raise ValueError(f"filename='{filename}': give a file name in the run directory, e.g. best.pt")
        self.filename = filename

    def on_log(self, trainer, row: dict) -> None:
        value = _value(row, self.monitor)
        if value is None or not self.improves(value):
            return
        self.best, self.best_step = value, int(row["step"])
        if trainer.is_main:
            state = {"model": {k: v.detach().cpu() for k, v in trainer.model.state_dict().items()},
                     "step": self.best_step, "monitor": self.monitor, "value": value, "problem": trainer.problem.name}
            save_checkpoint(trainer.run_dir / self.filename, state)

    def on_fit_end(self, trainer, summary: dict) -> None:
        if self.best is None:
            trainer.notice(f"best model: no logged row had a finite '{self.monitor}', so no {self.filename} was written "
                           "(without an exact solution, monitor loss or val_loss)")
            return
        summary["best"] = {"monitor": self.monitor, "value": self.best, "step": self.best_step, "file": self.filename}


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved by ``min_delta`` (relative) for ``patience`` steps.

    Args:
        monitor: a column of ``metrics.csv`` (read on the rows where it is logged).
        patience: steps without an improvement before the run stops.
        min_delta: the relative improvement that counts (``1e-3``: 0.1 %).
        mode: ``min`` or ``max``.
    """

    def __init__(self, monitor: str = "loss", patience: int = 500, min_delta: float = 1e-3, mode: str = "min"):
        super().__init__(monitor, mode)
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience={patience}: give a positive number of steps")
        if not (isinstance(min_delta, (int, float)) and 0 <= min_delta < 1):
            raise ValueError(f"min_delta={min_delta}: give a relative improvement in [0, 1)")
        self.patience, self.min_delta = patience, float(min_delta)

    def on_log(self, trainer, row: dict) -> None:
        value = _value(row, self.monitor)
        if value is None:
            return
        step = int(row["step"])
        if self.improves(value, self.min_delta):
            self.best, self.best_step = value, step
        elif step - self.best_step >= self.patience:
            trainer.request_stop(f"early stopping: {self.monitor} has not improved by {self.min_delta:g} (relative) "
                                 f"for {step - self.best_step} steps; its best was {self.best:.3e} at step {self.best_step}")

