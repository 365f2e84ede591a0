"""Reference values at scattered points: errors against data from another solver (FEM, spectral, measured).

A problem without a closed-form solution gives ``Problem(..., reference=ReferenceData(points, values))``
instead of ``exact``: the errors (``l2_rms``, ``l2_rel``, ``l2_rel_<name>``) are then measured at exactly
those points against exactly those values,

.. math::
    \\mathrm{l2\\_rel} = ‖u_θ(X) − V‖ / ‖V‖, \\qquad X: [M, d],\\ V: [M]\\ \\text{or}\\ [M, m],

with no interpolation. Files from other tools load with :meth:`ReferenceData.load`:

- ``.npz``: two arrays, the points ``[M, d]`` and the values ``[M]`` or ``[M, m]`` (names ``points_key``,
  ``values_key``); read without pickle;
- ``.mat`` (MATLAB, via ``scipy.io.loadmat``): the same two arrays;
- ``.csv``: one row per point, the ``d`` coordinates first, then the value(s); an optional header line.

For values on a uniform tensor grid, :class:`~pinnsolve.problem.reference.GridSolution` is an
interpolating exact solution instead (plots between the nodes too).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor


@dataclass
class ReferenceData:
    """Reference ``values: [M]`` (one output) or ``[M, m]`` (a system) at ``points: [M, d]``."""

    points: Tensor
    values: Tensor

    def __post_init__(self):
        self.points = torch.as_tensor(self.points, dtype=torch.float64)
        self.values = torch.as_tensor(self.values, dtype=torch.float64)
        if self.points.ndim == 1:
            self.points = self.points[:, None]
        if self.points.ndim != 2 or self.values.ndim not in (1, 2) or len(self.values) != len(self.points):
            raise ValueError(f"reference data: points must be [M, d] and values [M] or [M, m] with the same M, got "
                             f"points {tuple(self.points.shape)} and values {tuple(self.values.shape)}")
        if len(self.points) == 0:
            raise ValueError("reference data: no points")
        bad = ~(torch.isfinite(self.points).all(dim=1) & torch.isfinite(self.values.reshape(len(self.values), -1)).all(dim=1))
        if bad.any():
            raise ValueError(f"reference data: {int(bad.sum())} of {len(bad)} rows hold NaN or infinite numbers (first: "
                             f"row {int(bad.nonzero()[0, 0])}); drop them before building the reference")

    @property
    def dim(self) -> int:
        return self.points.shape[1]

    @property
    def n_outputs(self) -> int:
        return 1 if self.values.ndim == 1 else self.values.shape[1]

    @classmethod
    def load(cls, path: str | Path, dim: int | None = None, points_key: str = "points",
             values_key: str = "values") -> "ReferenceData":
        """Read ``.npz``, ``.mat`` or ``.csv`` (module docstring); ``dim`` (the number of coordinates) is
        needed for ``.csv`` only."""
        path = Path(path)
        suffix = path.suffix.lower()
        if not path.is_file():
            raise FileNotFoundError(f"reference data: no file {path}")
        if suffix == ".csv":
            if dim is None:
                raise ValueError(f"reference data {path.name}: give dim= (how many of the leading columns are coordinates)")
            table = _read_csv(path)
            if table.shape[1] <= dim:
                raise ValueError(f"reference data {path.name}: {table.shape[1]} columns, but dim={dim} coordinates "
                                 "and at least one value column are needed")
            values = table[:, dim:]
            return cls(table[:, :dim], values[:, 0] if values.shape[1] == 1 else values)
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as arrays:
                found = {k: arrays[k] for k in arrays.files}
        elif suffix == ".mat":
            from scipy.io import loadmat

            found = {k: v for k, v in loadmat(path).items() if not k.startswith("__")}
        else:
            raise ValueError(f"reference data {path.name}: unknown format '{suffix}' (use .npz, .mat or .csv)")
        missing = [k for k in (points_key, values_key) if k not in found]
        if missing:
            raise ValueError(f"reference data {path.name}: no array named {missing} (it holds {sorted(found)}); pass "
                             "points_key= and values_key= to name them")
        values = np.asarray(found[values_key], dtype=np.float64)
        if values.ndim == 2 and 1 in values.shape:  # MATLAB stores vectors as [M, 1] or [1, M]
            values = values.reshape(-1)
        points = np.asarray(found[points_key], dtype=np.float64)
        if dim is not None and points.ndim == 2 and points.shape[1] != dim:
            raise ValueError(f"reference data {path.name}: points have {points.shape[1]} coordinates, dim={dim} expected")
        return cls(torch.from_numpy(points), torch.from_numpy(values))


def _read_csv(path: Path) -> np.ndarray:
    """A numeric table; a first line that is not numbers is a header and skipped."""
    with open(path, encoding="utf-8") as f:
        first = f.readline()
    try:
        [float(v) for v in first.strip().split(",")]
        header = 0
    except ValueError:
        header = 1
    table = np.loadtxt(path, delimiter=",", skiprows=header, ndmin=2, dtype=np.float64)
    return table
