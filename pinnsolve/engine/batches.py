"""Drawing the points of every condition, reproducibly.

A :class:`BatchSampler` owns one generator on the run's device. Conditions marked ``fixed`` (and
every condition when ``resample=False``) are drawn once at construction from a generator seeded
with ``seed``; the others are redrawn at each call from the training generator, whose state is
part of the checkpoint so a resumed run draws the same points as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from ..problem import Condition, Problem


class ConditionPoints(NamedTuple):
    """Points of one condition: ``x: [N_c, d]`` and optional targets ``y: [N_c, …]``."""

    x: Tensor
    y: Tensor | None = None


Batch = dict[str, ConditionPoints]
"""One step's points, by condition name."""


def make_generator(seed: int, device: torch.device) -> torch.Generator:
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator


class BatchSampler:
    """Draws a :data:`Batch` per step.

    Args:
        problem: the problem.
        seed: fixes every point drawn.
        device, dtype: where and in which precision points live.
        resample: redraw non-fixed conditions every step (``False``: all fixed).
    """

    def __init__(self, problem: Problem, seed: int, device: torch.device, dtype: torch.dtype, resample: bool = True):
        self.problem, self.device, self.dtype = problem, torch.device(device), dtype
        self.placement: dict[str, Callable[[Condition, torch.Generator], tuple[Tensor, Tensor | None]]] = {}
        """``{condition name: draw(condition, generator) -> (x, y)}``: how the points of a resampled condition are
        drawn instead of ``condition.points.draw`` (residual-based placement); uses the training generator."""
        fixed_gen = make_generator(seed + 1, self.device)
        self.generator = make_generator(seed + 2, self.device)
        self._fixed: Batch = {}
        for c in problem.conditions:
            if c.fixed or not resample:
                self._fixed[c.name] = self._draw(c, fixed_gen)
        eval_gen = make_generator(seed + 3, self.device)
        self.eval_points = problem.eval_points.sample(problem.n_eval, eval_gen).to(dtype)

    def _draw(self, condition, generator: torch.Generator) -> ConditionPoints:
        place = self.placement.get(condition.name)
        x, y = place(condition, generator) if place is not None else condition.points.draw(condition.n_points, generator)
        if y is not None:
            y = torch.as_tensor(y).to(self.device, self.dtype if y.is_floating_point() else y.dtype)
        return ConditionPoints(x.to(self.device, self.dtype), y)

    def is_fixed(self, name: str) -> bool:
        """Whether condition ``name``'s points were drawn once (``fixed``, or ``resample=False``)."""
        return name in self._fixed

    @property
    def resamples(self) -> bool:
        """Whether some condition's points are drawn afresh for every batch."""
        return len(self._fixed) < len(self.problem.conditions)

    def __call__(self) -> Batch:
        """The next step's batch."""
        return {
            c.name: self._fixed[c.name] if c.name in self._fixed else self._draw(c, self.generator)
            for c in self.problem.conditions
        }

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])


def row_range(n: int, index: int, world: int) -> tuple[int, int]:
    """Rows ``[start, end)`` of ``n`` that rank ``index`` of ``world`` keeps."""
    return (index * n) // world, ((index + 1) * n) // world


def local_batch(batch: Batch, index: int, world: int) -> Batch:
    """This rank's slice of every condition's points (and targets)."""
    if world == 1:
        return batch
    out = {}
    for name, (x, y) in batch.items():
        start, end = row_range(x.shape[0], index, world)
        out[name] = ConditionPoints(x[start:end], None if y is None else y[start:end])
    return out
