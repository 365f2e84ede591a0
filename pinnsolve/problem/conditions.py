"""The problem API: a PDE problem is a list of per-point conditions.

A :class:`Condition` pairs a residual written for one point with a source of points, a point count
``N_c`` and a weight ``w_c``. The engine stacks all conditions into one residual vector with block
``c`` scaled by ``√(w_c / N_c)``, so the loss is ``L = ½‖r‖² = Σ_c w_c/(2N_c) Σ_n r_c(x_n)²``.

Example (the 2-d Poisson problem)::

    import math, torch
    from pinnsolve import Box, BoxBoundary, Condition, Problem

    square = Box(0.0, 1.0, dim=2)
    pi = math.pi

    def interior(u, x):                    # x: [2], u: the network's jet at x
        return -u.laplacian() - 2 * pi**2 * torch.sin(pi * x[0]) * torch.sin(pi * x[1])

    def boundary(u, x):
        return u.value

    problem = Problem(
        "poisson2d",
        [Condition("interior", interior, square, 900), Condition("boundary", boundary, BoxBoundary(square), 120)],
        exact=lambda x: torch.sin(pi * x[0]) * torch.sin(pi * x[1]),
    )
"""

from __future__ import annotations

import copy as _copy

from collections.abc import Callable
from typing import Any
from dataclasses import dataclass, replace

from torch import Tensor

from ..geometry import FixedPoints, PointSource

Residual = Callable[..., Tensor]
"""``residual(u, x) -> r`` or, for data with targets, ``residual(u, x, y) -> r``; ``x: [d]``, ``r: []`` or ``[m]``."""


@dataclass
class Condition:
    """One family of per-point conditions.

    Attributes:
        name: unique name within the problem (``interior``, ``boundary``, ``initial``, ``data`` …).
        residual: ``residual(u, x)`` for one point, returning ``[]`` or ``[m]``; called as
            ``residual(u, x, y)`` when the source carries targets ``y``.
        points: where the points come from.
        n_points: ``N_c``, points per step.
        weight: ``w_c``; the block is scaled by ``√(w_c / N_c)``.
        fixed: draw the points once and keep them (otherwise resampled every step).
    """

    name: str
    residual: Residual
    points: PointSource
    n_points: int
    weight: float = 1.0
    fixed: bool = False

    def __post_init__(self):
        if not callable(self.residual):
            raise TypeError(f"condition '{self.name}': residual must be a function residual(u, x), got {type(self.residual).__name__}")
        if int(self.n_points) <= 0:
            raise ValueError(f"condition '{self.name}': n_points must be positive, got {self.n_points}")
        if not self.weight >= 0:
            raise ValueError(f"condition '{self.name}': weight must be >= 0, got {self.weight}")
        self.n_points = int(self.n_points)
        self.fixed = bool(self.fixed or self.points.fixed)


@dataclass
class Problem:
    """A named list of conditions, with an optional exact solution for error measurement.

    Attributes:
        name: the problem's name.
        conditions: the conditions; the first one is the interior (PDE) condition by convention.
        exact: ``u⋆(x)`` for one point ``x: [d]``, or ``None``.
        eval_points: where errors are measured (default: the first condition's source).
        n_eval: number of evaluation points (default ``10 · N_Ω`` of the first condition, or all
            points of a fixed evaluation set).
        input_names: coordinate names for plots (default ``x0, x1, …``).
        n_outputs: the network's output size (1 for a scalar PDE solution, ``m`` for a system whose
            residuals read ``u[i]``).
        output_names: names of the outputs (``l2_rel_<name>`` columns and plot titles; default ``u``
            for one output, ``u0, u1, …`` for a system).
        parameters: trainable coefficients ``{name: initial value}`` of an inverse problem; residuals
            with a ``params`` argument read them (:mod:`pinnsolve.problem.coefficients`).
        output_transform: ``u(x) = output_transform(x, N(x))`` for one point (a hard constraint such as
            ``x[0] * (1 - x[0]) * n``); the trainer wraps the network in
            :class:`~pinnsolve.models.OutputTransform`.
        metrics: extra evaluations ``model -> {name: 0-d tensor}`` logged at every evaluation
            (e.g. ``train_loss`` and ``val_loss`` of a regression problem).
        periodic: ``{coordinate index: period}``: the solution is periodic in these coordinates, made
            exact by feeding the network ``cos``/``sin`` of them (:class:`~pinnsolve.models.PeriodicInputs`);
            the network then has :attr:`network_inputs` inputs.
        reference: values at scattered points (:class:`~pinnsolve.problem.reference_data.ReferenceData`)
            to measure the errors against, instead of ``exact``; they are also the evaluation points.
    """

    name: str
    conditions: list[Condition]
    exact: Callable[[Tensor], Tensor] | None = None
    eval_points: PointSource | None = None
    n_eval: int | None = None
    input_names: list[str] | None = None
    n_outputs: int = 1
    metrics: Callable[[Any], dict[str, Tensor]] | None = None
    output_names: list[str] | None = None
    parameters: dict[str, float] | None = None
    output_transform: Callable[[Tensor, Tensor], Tensor] | None = None
    periodic: dict[int, float] | None = None
    reference: Any = None

    def __post_init__(self):
        if not self.conditions:
            raise ValueError(f"problem '{self.name}' has no conditions")
        names = [c.name for c in self.conditions]
        if len(set(names)) != len(names):
            raise ValueError(f"problem '{self.name}': condition names must be unique, got {names}")
        dims = {c.points.dim for c in self.conditions}
        if len(dims) != 1:
            raise ValueError(f"problem '{self.name}': all point sources must have the same dimension, got {sorted(dims)}")
        self.dim = dims.pop()
        if self.reference is not None:
            self._use_reference()
        if self.eval_points is None:
            self.eval_points = self.conditions[0].points
        if self.n_eval is None:
            fixed_set = getattr(self.eval_points, "points", None)
            self.n_eval = len(fixed_set) if fixed_set is not None else 10 * self.conditions[0].n_points
        if self.input_names is None:
            self.input_names = [f"x{i}" for i in range(self.dim)]
        if self.output_names is None:
            self.output_names = ["u"] if self.n_outputs == 1 else [f"u{i}" for i in range(self.n_outputs)]
        self.parameters = dict(self.parameters or {})
        for key in self.parameters:
            if not str(key).isidentifier():
                raise ValueError(f"problem '{self.name}': parameter name {key!r} must be a Python identifier")
        if len(self.output_names) != self.n_outputs:
            raise ValueError(f"problem '{self.name}': {len(self.output_names)} output_names for n_outputs={self.n_outputs}")
        self.periodic = {int(i): float(p) for i, p in (self.periodic or {}).items()}
        for i, period in self.periodic.items():
            if not 0 <= i < self.dim or not period > 0:
                raise ValueError(f"problem '{self.name}': periodic={{{i}: {period}}} needs a coordinate index in "
                                 f"[0, {self.dim}) and a positive period")

    def _use_reference(self) -> None:
        """The errors are measured at the reference's points against its values (``reference=``)."""
        reference, where = self.reference, f"problem '{self.name}': reference="
        if self.exact is not None or self.eval_points is not None:
            raise ValueError(f"{where} measures the errors at its own points against its own values: leave exact and "
                             "eval_points out (or give exact and eval_points without a reference)")
        if not (hasattr(reference, "points") and hasattr(reference, "values")):
            raise TypeError(f"{where} must be a ReferenceData(points, values), got {type(reference).__name__}")
        if reference.dim != self.dim:
            raise ValueError(f"{where} has points with {reference.dim} coordinates, the problem's domain has {self.dim}")
        if reference.n_outputs != self.n_outputs:
            raise ValueError(f"{where} gives {reference.n_outputs} value(s) per point for a problem with "
                             f"{self.n_outputs} output(s)")
        self.eval_points = FixedPoints(reference.points)

    def conditions_named(self, names, who: str = "") -> dict[str, Condition]:
        """``{name: condition}`` for ``names``, in that order.

        Raises:
            ConfigError: a name that is none of the problem's conditions, listing them (``who`` says which
                setting asked, e.g. ``"rad"``).
        """
        from ..errors import ConfigError

        by_name = {c.name: c for c in self.conditions}
        unknown = [name for name in names if name not in by_name]
        if unknown:
            raise ConfigError(f"{who + ': ' if who else ''}problem '{self.name}' has no condition "
                              f"{unknown[0] if len(unknown) == 1 else unknown}; its conditions are {list(by_name)}")
        return {name: by_name[name] for name in names}

    def reweighted(self, weights: dict[str, float]) -> Problem:
        """A copy whose conditions named in ``weights`` carry those ``w_c`` (the others keep theirs); the
        problem and its conditions are left as they are (``weights={"initial": 100}``)."""
        self.conditions_named(list(weights), "weights")
        copy = _copy.copy(self)
        copy.conditions = [replace(c, weight=float(weights[c.name])) if c.name in weights else c for c in self.conditions]
        return copy

    @property
    def network_inputs(self) -> int:
        """The network's input size: ``d``, plus one per periodic coordinate (its ``cos`` and ``sin``)."""
        return self.dim + len(self.periodic)

    @property
    def n_points(self) -> int:
        """``N = Σ_c N_c`` points per step."""
        return sum(c.n_points for c in self.conditions)
