"""The trainer's state as checkpoint material: what is saved, restored, resumed, and what a run that
lost a process or has nothing left to do says.

:class:`TrainerState` is the part of :class:`~pinnsolve.training.Trainer` that deals with
:mod:`pinnsolve.runs.checkpoint`; the loop itself is in :mod:`pinnsolve.training.trainer`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..errors import ConfigError, PinnsolveError, ProcessGroupError, RunDirectoryError
from ..runs.checkpoint import (CHECKPOINT_NAME, check_compatible, check_weights, load_checkpoint, locate_checkpoint,
                               optimizer_name, rng_state, save_checkpoint, set_rng_state)
from . import distributed as dd


class TrainerState:
    """Checkpoint, restore and resume for the trainer (which provides the attributes used here)."""

    def state(self, wall_time: float) -> dict:
        """Everything a resume needs, as plain tensors, numbers and strings."""
        return {
            "step": self.step,
            "train_time": self.train_time,
            "wall_time": wall_time,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "optimizer_class": optimizer_name(self.optimizer),
            "sampler": self.sampler.state_dict(),
            "rng": rng_state(),
            "seed": self.seed,
            "problem": self.problem.name,
            "metrics": self.metrics.state_dict(),
            "health": self.health.state_dict(),
            "callbacks": {f"{i}:{type(c).__name__}": c.state_dict()
                          for i, c in enumerate(self.user_callbacks) if hasattr(c, "state_dict")},
            "config": self.config,
        }

    def restore(self, state: dict, metrics: bool = True) -> None:
        """Go back to ``state``; with ``metrics`` also the rows and the callbacks' state (a resume)."""
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise ConfigError(f"resume: the checkpoint does not fit this model/optimizer ({exc}); resume with the run's own configuration") from exc
        self.sampler.load_state_dict(state["sampler"])
        set_rng_state(state["rng"])
        self.step, self.train_time = int(state["step"]), float(state["train_time"])
        self.health.load_state_dict(state.get("health", {}))
        if not metrics:
            return
        saved = state.get("callbacks", {})
        for i, callback in enumerate(self.user_callbacks):  # each callback continues where it was
            key = f"{i}:{type(callback).__name__}"
            if key in saved and hasattr(callback, "load_state_dict"):
                callback.load_state_dict(saved[key])
        if "metrics" in state:
            self.metrics.load_state_dict(state["metrics"])
        else:  # a checkpoint of an earlier version: its rows are in metrics.csv
            self.metrics.load(self.step)

    def save(self, state: dict) -> None:
        """Write ``state`` as the run's checkpoint (rank 0; every rank holds the same) and flush ``metrics.csv``."""
        if self.is_main:
            save_checkpoint(self.run_dir / CHECKPOINT_NAME, state)
        self.saved_step = int(state["step"])
        self.metrics.flush()

    def load(self, resume: str | Path) -> None:
        """Continue from a checkpoint file or a run directory holding one."""
        path = locate_checkpoint(resume)
        state = load_checkpoint(path)
        self.saved_step = int(state["step"])
        check_compatible(state, path, self.problem.name, self.optimizer)
        check_weights(state["model"], self.model, f"resume: the checkpoint {path}")
        try:
            self.restore(state)
        except PinnsolveError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
            raise ConfigError(f"resume: the checkpoint {path} is damaged or was not written by pinnsolve "
                              f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); use an "
                              "earlier copy of the run, or start a new one") from exc
        self.previous_wall_time = float(state.get("wall_time", 0.0))

    def wall_time(self) -> float:
        """Seconds of this run so far, over all its segments."""
        return self.previous_wall_time + time.perf_counter() - self._wall_start

    def _done(self) -> bool:
        return self.step >= self.max_steps or (self.time_budget is not None and self.train_time >= self.time_budget)

    def _make_run_dir(self) -> None:
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirectoryError(f"cannot create the run directory {self.run_dir} ({exc.strerror or exc}); choose a "
                                    "writable place (hydra.run.dir=… on the command line, run_dir= in solve())") from exc

    def _nothing_to_do(self) -> dict:
        self.notice(f"nothing to do: the run already has {self.step} steps (trainer.max_steps={self.max_steps}"
                    f"{'' if self.time_budget is None else f', time_budget={self.time_budget:g} s'}); raise "
                    "trainer.max_steps (or trainer.time_budget) to continue it. Its results are unchanged.")
        try:
            summary = json.loads((self.run_dir / "summary.json").read_text())
        except (OSError, ValueError):
            summary = {"problem": self.problem.name, "status": "finished", "steps": self.step,
                       "train_time_s": self.train_time, "final": {}}
        summary["notices"] = list(self.notices)
        return summary

    def _lost_contact(self, exc: BaseException) -> ProcessGroupError:
        """The error for a collective that failed because another process of the run is gone."""
        saved = (f"The checkpoint holds step {self.saved_step} and is whole" if self.saved_step is not None
                 else "No checkpoint was written yet")
        return ProcessGroupError(
            f"rank {self.rank} of {self.world} stopped at step {self.step}: another process of this run failed, was "
            f"killed or stopped answering ({dd.describe(exc)}); its own error, or torchrun's summary with its rank "
            f"and exit code, says why. {saved}: fix the cause, then continue with torchrun --nproc-per-node={self.world} "
            f"-m pinnsolve resume={self.run_dir}"
        )
