"""Geometry: where points come from. A leaf of the package (torch, scipy and errors only).

- :mod:`~pinnsolve.geometry.sources`: :class:`PointSource`, :class:`FixedPoints`, :class:`Minibatches`;
- :mod:`~pinnsolve.geometry.shapes`: boxes, balls, annuli, spheres, their boundaries and time slices;
- :mod:`~pinnsolve.geometry.polygon`, :mod:`~pinnsolve.geometry.csg`: polygons, unions, intersections, differences;
- :mod:`~pinnsolve.geometry.spacetime`: a spatial shape times a time interval;
- :mod:`~pinnsolve.geometry.unit_cube`: the unit-cube draws (uniform, Sobol, Halton, LHS) every shape maps;
- :mod:`~pinnsolve.geometry.grids`: regular grids over a domain, for plots and predictions.
"""

from .csg import Difference, Intersection, Union
from .polygon import Polygon
from .shapes import Annulus, Ball, Boundary, Box, BoxBoundary, InitialSlice, Shape, Sphere
from .sources import FixedPoints, Minibatches, PointSource
from .spacetime import SpaceTime

__all__ = ["Annulus", "Ball", "Boundary", "Box", "BoxBoundary", "Difference", "FixedPoints", "InitialSlice",
           "Intersection", "Minibatches", "PointSource", "Polygon", "Shape", "SpaceTime", "Sphere", "Union"]
