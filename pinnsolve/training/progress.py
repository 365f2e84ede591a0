"""Live progress display (:class:`ProgressReport`, a callback of the trainer): step, loss, errors, time per step and time left (rich).

On a terminal a progress bar is redrawn in place; otherwise (CI, log files, a batch job) one whole
line, never wrapped, is printed at every checkpoint and every evaluation, and at least every
:data:`LINE_INTERVAL` seconds of wall time — between logged steps too (a heartbeat before a step, with
the rate so far and the last logged loss: no host synchronisation) — so a run of slow steps shows it
is alive and the log stays short.
"""

from __future__ import annotations

import math
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from .callbacks import Callback


LINE_INTERVAL = 30.0


def _fmt(value: float | None) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3e}"


def _duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "—"
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class ProgressDisplay:
    """Shows training progress; a no-op when ``enabled`` is false."""

    def __init__(self, title: str, max_steps: int, enabled: bool = True):
        self.enabled = enabled
        self.console = Console(stderr=True)
        self.live = enabled and self.console.is_terminal
        self._progress = None
        if self.live:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                console=self.console,
            )
            self._task = self._progress.add_task(title, total=max_steps, info="")
        self.title = title
        self._last_line = time.monotonic()

    def __enter__(self):
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.stop()

    def note(self, message: str) -> None:
        """A line that stays (a warning), above the live bar or in the log."""
        if self.enabled:
            self.console.print(message, highlight=False, style="yellow" if self.live else None, soft_wrap=True)

    def heartbeat(self, step: int, seconds_per_step: float, last_row: dict | None) -> None:
        """Off a terminal, a line before step ``step`` when :data:`LINE_INTERVAL` seconds passed since the last."""
        if not self.enabled or self.live or time.monotonic() - self._last_line < LINE_INTERVAL:
            return
        last = "" if not last_row else f"; last logged step {int(last_row['step'])}: loss {_fmt(float(last_row['loss']))}"
        self.console.print(f"{self.title} step {step} done, running the next: {seconds_per_step:.3g} s/step{last}",
                           highlight=False, soft_wrap=True)
        self._last_line = time.monotonic()

    def update(self, step: int, loss: float, l2_rms: float | None, seconds_per_step: float | None, seconds_left: float | None, force_line: bool = False) -> None:
        if not self.enabled:
            return
        info = (
            f"loss {_fmt(loss)}  l2_rms {_fmt(l2_rms)}  "
            f"{(seconds_per_step or 0) * 1e3:.1f} ms/step  left {_duration(seconds_left)}"
        )
        if self._progress is not None:
            self._progress.update(self._task, completed=step, info=info)
        elif force_line or time.monotonic() - self._last_line >= LINE_INTERVAL:
            self.console.print(f"{self.title} step {step}: {info}", highlight=False, soft_wrap=True)
            self._last_line = time.monotonic()


def _evaluated(row: dict) -> bool:
    """Whether ``row`` holds an evaluation (errors or a validation loss)."""
    return any(row.get(k) not in (None, "") for k in ("l2_rms", "l2_rel", "val_loss"))


class ProgressReport(Callback):
    """The trainer's callback showing :class:`ProgressDisplay` (rank 0, when ``trainer.progress`` is on).

    Time per step is measured between logged rows; the time left is the smaller of the steps left at
    that rate and what remains of ``time_budget``. A row's new warning is said on a line that stays.
    """

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.display: ProgressDisplay | None = None
        self._last = (0, 0.0)

    def on_fit_start(self, trainer) -> None:
        self.display = ProgressDisplay(trainer.problem.name, trainer.max_steps, self.enabled and trainer.is_main)
        self.display.__enter__()
        self._last = self._start = (trainer.step, trainer.train_time)

    def on_batch(self, trainer, batch) -> None:
        if self.display is None or trainer.step == self._start[0]:
            return
        per_step = (trainer.train_time - self._start[1]) / (trainer.step - self._start[0])
        self.display.heartbeat(trainer.step, per_step, trainer.metrics.rows[-1] if trainer.metrics.rows else None)

    def on_log(self, trainer, row: dict) -> None:
        if trainer.step == 0 or trainer.stop_status == "diverged":
            return
        if row.get("warning"):
            self.display.note(f"{trainer.problem.name} step {trainer.step}: {row['warning']} (see notices)")
        per_step = (trainer.train_time - self._last[1]) / max(1, trainer.step - self._last[0])
        self._last = (trainer.step, trainer.train_time)
        left = [(trainer.max_steps - trainer.step) * per_step]
        if trainer.time_budget is not None:
            left.append(trainer.time_budget - trainer.train_time)
        self.display.update(trainer.step, float(row["loss"]), row.get("l2_rms"), per_step, min(left),
                            force_line=trainer.step % trainer.checkpoint_every == 0 or _evaluated(row))

    def on_teardown(self, trainer) -> None:
        if self.display is not None:
            self.display.__exit__(None, None, None)
            self.display = None
