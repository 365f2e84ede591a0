"""Loading a user's problem from a Python file, so new PDEs need no change to the package.

The file defines ``make_problem(**kwargs) -> Problem`` (or a module-level ``problem``). From the
command line::

    pinnsolve problem=from_file problem.path=examples/advection_diffusion.py

and extra keyword arguments with ``+problem.<name>=<value>``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from ..errors import ConfigError
from .conditions import Problem


def load_problem(path: str, **kwargs) -> Problem:
    """Import ``path`` and return its problem (``make_problem(**kwargs)`` or ``problem``)."""
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise ConfigError(f"problem.path={path}: no such file. Give the path of a Python file that defines make_problem().")
    name = f"pinnsolve_user_problem_{file.stem}"
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    if hasattr(module, "make_problem"):
        problem = module.make_problem(**kwargs)
    elif hasattr(module, "problem") and not kwargs:
        problem = module.problem
    else:
        raise ConfigError(f"{file} must define make_problem(**kwargs) returning a pinnsolve.Problem (or a variable `problem`).")
    if not isinstance(problem, Problem):
        raise ConfigError(f"{file}: make_problem() returned {type(problem).__name__}, not a pinnsolve.Problem")
    return problem
