"""Problems: lists of per-point conditions, and how a residual is called.

- :mod:`~pinnsolve.problem.conditions`: :class:`Problem` and :class:`Condition`;
- :mod:`~pinnsolve.problem.coefficients`: the residual calling convention ``residual(u, x[, y][, params])``
  and an inverse problem's trainable coefficients;
- :mod:`~pinnsolve.problem.regression`: data-fit problems (``reg1d``, ``poly6``, ``mnist``);
- :mod:`~pinnsolve.problem.from_file`: a problem from a user's Python file (``problem=from_file``).
"""

from .conditions import Condition, Problem, Residual

__all__ = ["Condition", "Problem", "Residual"]
