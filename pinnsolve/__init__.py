"""pinnsolve: physics-informed neural networks trained with natural-gradient methods.

Public API, by layer (README, "Layout")::

    from pinnsolve import Box, Ball, Polygon, SpaceTime, FixedPoints   # geometry: where points come from
    from pinnsolve import Problem, Condition, ReferenceData            # problem: per-point conditions, references
    from pinnsolve import MLP                                          # models
    from pinnsolve import ResidualEngine, EngineClosure, BatchSampler  # engine: (r, J) of a problem
    from pinnsolve import load_run, LoadedRun                          # runs: a finished run's answers
    from pinnsolve import Trainer                                      # training: the loop
    from pinnsolve import solve, compose_config                        # the Python entry point (Hydra configs)

The optimizers are in :mod:`pinnsolve.optim`, the shipped problems in :mod:`pinnsolve.problems`.
``import pinnsolve`` loads neither Hydra nor matplotlib: the names of the last three lines are loaded
when first used.
"""

from .engine import Batch, BatchSampler, ConditionPoints, EngineClosure, ResidualEngine, function_residuals
from .engine.jet import Jet
from .errors import ConfigError, HyperParameterError, NonFiniteError, PinnsolveError, ResidualError, RunDirectoryError
from .geometry import (Annulus, Ball, Boundary, Box, BoxBoundary, Difference, FixedPoints, InitialSlice, Intersection,
                       Minibatches, PointSource, Polygon, Shape, SpaceTime, Sphere, Union)
from .models import MLP
from .optim.parameters import ParameterLayout
from .problem import Condition, GridSolution, Problem, ReferenceData

_LAZY = {  # name: module that defines it (imports Hydra, OmegaConf or matplotlib)
    "LoadedRun": "pinnsolve.runs.loading",
    "load_run": "pinnsolve.runs.loading",
    "Trainer": "pinnsolve.training.trainer",
    "compose_config": "pinnsolve.cli.api",
    "solve": "pinnsolve.cli.api",
}

__all__ = [
    # geometry
    "Annulus", "Ball", "Boundary", "Box", "BoxBoundary", "Difference", "FixedPoints", "InitialSlice", "Intersection",
    "Minibatches", "PointSource", "Polygon", "Shape", "SpaceTime", "Sphere", "Union",
    # problem and model
    "Condition", "GridSolution", "Problem", "ReferenceData", "MLP",
    # engine
    "Batch", "BatchSampler", "ConditionPoints", "EngineClosure", "Jet", "ParameterLayout", "ResidualEngine",
    "function_residuals",
    # runs, training, entry points
    "LoadedRun", "load_run", "Trainer", "compose_config", "solve",
    # errors
    "ConfigError", "HyperParameterError", "NonFiniteError", "PinnsolveError", "ResidualError", "RunDirectoryError",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pinnsolve' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
