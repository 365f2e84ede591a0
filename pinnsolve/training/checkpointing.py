"""Checkpoints during a run: every ``trainer.checkpoint_every`` steps and at its end.

A checkpoint (:mod:`pinnsolve.runs.checkpoint`) holds everything a resume needs: weights, optimizer
and sampler state, RNG, metrics rows, the callbacks' state and the configuration. It is written
atomically by rank 0 (every rank holds the same state), so a run killed at any moment leaves the
last one whole. Between checkpoints ``metrics.csv`` is rewritten at most every 30 s.
"""

from __future__ import annotations

from .callbacks import Callback


class Checkpointing(Callback):
    """The trainer's callback that saves ``checkpoint.pt``.

    At the end the state saved is :attr:`Trainer.final_state`: the state of the last step, or after
    a divergence the last healthy one (see :class:`~pinnsolve.training.health.HealthWatch`).
    """

    def on_log(self, trainer, row: dict) -> None:
        if trainer.step > 0 and trainer.step % trainer.checkpoint_every == 0 and trainer.stop_status != "diverged":
            trainer.save(trainer.state(trainer.wall_time()))
        else:
            trainer.metrics.flush_if_due()

    def on_fit_end(self, trainer, summary: dict) -> None:
        trainer.save(trainer.final_state)
