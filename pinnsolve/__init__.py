"""pinnsolve: physics-informed neural networks trained with natural-gradient methods.

Public API::

    from pinnsolve import Box, BoxBoundary, Condition, Problem, MLP, ResidualEngine, solve
"""

from .api import compose_config, solve
from .engine import Batch, BatchSampler, ConditionPoints, EngineClosure, ResidualEngine, function_residuals
from .errors import ConfigError, HyperParameterError, NonFiniteError, PinnsolveError, ResidualError, RunDirectoryError
from .engine.jet import Jet
from .models import MLP
from .optim.parameters import ParameterLayout
from .problem import Condition, Problem
from .run_loading import LoadedRun, load_run
from .geometry import (Annulus, Ball, Boundary, Box, BoxBoundary, Difference, FixedPoints, InitialSlice, Intersection,
                       Minibatches, PointSource, Polygon, Shape, SpaceTime, Sphere, Union)

__all__ = [
    "Annulus", "Boundary", "Difference", "Intersection", "Polygon", "Shape", "Union",
    "Ball", "Batch", "BatchSampler", "Box", "BoxBoundary", "Condition", "ConditionPoints", "ConfigError", "EngineClosure",
    "FixedPoints", "HyperParameterError", "InitialSlice", "Jet", "MLP", "Minibatches", "NonFiniteError", "ParameterLayout",
    "PinnsolveError", "PointSource", "Problem", "ResidualEngine", "ResidualError", "RunDirectoryError", "SpaceTime", "Sphere",
    "compose_config", "function_residuals", "load_run", "LoadedRun", "solve",
]
__version__ = "0.1.0"
