"""Problems: lists of per-point conditions, and how a residual is called.

- :mod:`~pinnsolve.problem.conditions`: :class:`Problem` and :class:`Condition`;
- :mod:`~pinnsolve.problem.coefficients`: the residual calling convention ``residual(u, x[, y][, params])``
  and an inverse problem's trainable coefficients;
- :mod:`~pinnsolve.problem.regression`: data-fit problems (``reg1d``, ``poly6``, ``mnist``);
- :mod:`~pinnsolve.problem.from_file`: a problem from a user's Python file (``problem=from_file``);
- :mod:`~pinnsolve.problem.reference` and :mod:`~pinnsolve.problem.reference_data`: reference solutions
  from other solvers, on a grid (:class:`GridSolution`, an interpolating exact solution) or at scattered
  points (:class:`ReferenceData`, with ``.npz``/``.mat``/``.csv`` loading).
"""

from .conditions import Condition, Problem, Residual
from .reference import GridSolution
from .reference_data import ReferenceData

__all__ = ["Condition", "GridSolution", "Problem", "ReferenceData", "Residual"]
