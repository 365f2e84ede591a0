"""``summary.json``: what a run did, in one file.

Keys: ``problem``, ``optimizer``, ``status`` (``finished``, ``interrupted``, ``stopped`` or
``diverged``), ``steps``, ``train_time_s``, ``wall_time_s``, ``final`` (loss on fresh points, the
errors, learned coefficients), where it ran (``device``, ``device_name``, ``dtype``, ``threads``,
``threads_reason``, ``cpu_allocator``, ``processes`` with several), ``num_params``, ``n_points``,
``jacobian_paths``, ``seed``, ``torch``, ``notices``; ``stopped``, ``diverged`` and ``best`` when they
apply (callbacks may add more).
"""

from __future__ import annotations

import torch

from ..runs.files import write_json
from .callbacks import Callback


def run_summary(trainer, status: str, wall_time: float, final: dict) -> dict:
    """The summary of ``trainer``'s run as it ends (``notices`` is the trainer's live list)."""
    summary = {
        "problem": trainer.problem.name,
        "optimizer": type(trainer.optimizer).__name__,
        "status": status,
        "steps": trainer.step,
        "train_time_s": trainer.train_time,
        "wall_time_s": wall_time,
        "final": final,
        **trainer.environment.describe(),
        "num_params": trainer.engine.num_params,
        "n_points": trainer.problem.n_points,
        "jacobian_paths": trainer.engine.paths(),
        "seed": trainer.seed,
        "torch": torch.__version__,
        "notices": trainer.notices,
    }
    if status == "stopped":
        summary["stopped"] = trainer.stop_reason
    return summary


class SummaryWriter(Callback):
    """The trainer's callback writing ``summary.json`` atomically (rank 0), after the callbacks before it
    have added their keys."""

    def on_fit_end(self, trainer, summary: dict) -> None:
        summary["notices"] = list(trainer.notices)
        if trainer.is_main:
            write_json(trainer.run_dir / "summary.json", summary)
