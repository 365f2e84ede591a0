"""The command lines and the Python entry point.

- :mod:`~pinnsolve.cli.app`: ``pinnsolve``, a Hydra application around :func:`run`;
- :mod:`~pinnsolve.cli.predict`: ``pinnsolve-predict``;
- :mod:`~pinnsolve.cli.api`: :func:`solve` and :func:`compose_config` for Python;
- :mod:`~pinnsolve.cli.hydra_callbacks`: run and sweep directories, resume into the run's own directory.
"""

from .app import CONFIG_DIR, build, main, objective, run, task

__all__ = ["CONFIG_DIR", "build", "main", "objective", "run", "task"]
