"""Training: the loop and what runs beside it.

- :mod:`~pinnsolve.training.trainer`: :class:`Trainer`, the loop, checkpoints, resume, divergence;
- :mod:`~pinnsolve.training.setup`: the optimizer from its config, option checks, stop requests;
- :mod:`~pinnsolve.training.health`: divergence and lack of progress, said plainly;
- :mod:`~pinnsolve.training.loggers`, :mod:`~pinnsolve.training.progress`, :mod:`~pinnsolve.training.plots`:
  where a run's numbers go;
- :mod:`~pinnsolve.training.distributed`, :mod:`~pinnsolve.training.allocator`: several processes, the
  CPU's memory allocator.
"""

from .trainer import Trainer

__all__ = ["Trainer"]
