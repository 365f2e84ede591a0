"""The residual-Jacobian engine: ``(r, J)`` of a problem for a network, at a batch of points.

- :mod:`~pinnsolve.engine.residuals`: :class:`ResidualEngine` (residuals, ``J`` by chunks, losses at
  many parameter vectors for the line search);
- :mod:`~pinnsolve.engine.pointwise`: residuals of a per-point function (the exact solution's);
- :mod:`~pinnsolve.engine.jet`: what a residual reads (``u.value``, ``u.grad``, ``u.laplacian()``, …);
- :mod:`~pinnsolve.engine.forward_laplacian`: the fast path for MLPs (value, gradient and Laplacian
  in one forward pass, ``J`` from it);
- :mod:`~pinnsolve.engine.plan`: one probe call per condition chooses the path and checks the residual;
- :mod:`~pinnsolve.engine.batches`: drawing the points of every condition, and their split over processes;
- :mod:`~pinnsolve.engine.evaluation`: errors against the exact solution;
- :mod:`~pinnsolve.engine.closure`: :class:`EngineClosure`, what the optimizers' ``step`` receives.
"""

from .batches import Batch, BatchSampler, ConditionPoints
from .closure import EngineClosure
from .jet import Jet
from .pointwise import function_residuals
from .residuals import JACOBIAN_MODES, ResidualEngine

__all__ = ["Batch", "BatchSampler", "ConditionPoints", "EngineClosure", "JACOBIAN_MODES", "Jet", "ResidualEngine",
           "function_residuals"]
