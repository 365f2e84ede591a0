"""Training: a short loop, and every side job a callback.

- :mod:`~pinnsolve.training.trainer`: :class:`Trainer`, the loop (sample, step, log a row);
- :mod:`~pinnsolve.training.state`: its checkpoint material, restore and resume;
- :mod:`~pinnsolve.training.callbacks`: the callback interface, :class:`BestModel`, :class:`EarlyStopping`;
- :mod:`~pinnsolve.training.averaging`: :class:`ParameterAverage` (``callbacks=[average]``);
- the trainer's own callbacks: :mod:`~pinnsolve.training.health` (divergence and lack of progress),
  :mod:`~pinnsolve.training.loggers`, :mod:`~pinnsolve.training.progress`,
  :mod:`~pinnsolve.training.checkpointing`, :mod:`~pinnsolve.training.summary`, :mod:`~pinnsolve.training.plots`;
- :mod:`~pinnsolve.training.setup`: the optimizer from its config, option checks, stop requests;
- :mod:`~pinnsolve.training.environment`, :mod:`~pinnsolve.training.distributed`,
  :mod:`~pinnsolve.training.allocator`: device, threads, several processes, the CPU's memory allocator.
"""

from .averaging import ParameterAverage
from .callbacks import BestModel, Callback, EarlyStopping
from .trainer import Trainer

__all__ = ["BestModel", "Callback", "EarlyStopping", "ParameterAverage", "Trainer"]
