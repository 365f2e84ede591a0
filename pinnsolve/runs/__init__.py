"""A run directory as data: its files, its checkpoint, its configuration, and loading a finished run.

- :mod:`~pinnsolve.runs.files`: ``metrics.csv``, ``summary.json``, atomic writes, links out refused;
- :mod:`~pinnsolve.runs.checkpoint`: everything a run needs to continue bit for bit, loaded safely;
- :mod:`~pinnsolve.runs.config`: resuming with the run's own configuration — data only, never code,
  destinations or interpolations;
- :mod:`~pinnsolve.runs.settings`: every key of a config group must be a setting of its code;
- :mod:`~pinnsolve.runs.loading`: ``load_run(directory)`` and ``run.predict(points)``.
"""

from .loading import LoadedRun, load_run

__all__ = ["LoadedRun", "load_run"]
