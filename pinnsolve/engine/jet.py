"""Per-point access to a network's value and derivatives, for residual functions.

A residual is written for ONE point ``x`` of shape ``[d]`` and receives a *jet* ``u`` of the
network at that point::

    def interior(u, x):
        return -u.laplacian() - f(x)

Every jet offers the same interface:

- ``u.value``: ``u(x)``, a scalar (or ``[m]`` for a network with ``m`` outputs),
- ``u.grad``: ``∇u(x)``, shape ``[d]``,
- ``u.partial(i)``: ``∂u/∂x_i``; ``u.partial(i, j)``: ``∂²u/∂x_i∂x_j``,
- ``u.laplacian(dims=None)``: ``Σ_{i ∈ dims} ∂²u/∂x_i²`` (all coordinates by default; pass e.g.
  ``dims=range(1, d)`` for the spatial Laplacian of a space-time problem),
- ``u.hessian``: ``∇²u(x)``, shape ``[d, d]``.

A network with ``m > 1`` outputs (a system) gives every quantity with a leading ``[m]`` axis
(``u.grad: [m, d]``, ``u.laplacian(): [m]``), and ``u[i]`` is the scalar jet of output ``i``::

    def momentum_x(u, x):                  # outputs (velocity_x, velocity_y, pressure)
        vx, vy, p = u[0], u[1], u[2]
        return vx.value * vx.partial(0) + vy.value * vx.partial(1) + p.partial(0) - nu * vx.laplacian()

Three implementations share it: :class:`FunctionJet` (the generic path: ``torch.func`` on any
per-point function), :class:`TensorJet` (the fast path: values precomputed for a whole batch by the
forward Laplacian) and :class:`RecordingJet` (a probe that records which quantities a residual
reads, so the fast path computes exactly those).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor
from torch.func import grad as func_grad
from torch.func import hessian as func_hessian
from torch.func import jacrev

LaplacianKey = tuple[int, ...]


def laplacian_key(dims: Iterable[int] | None, dim: int) -> LaplacianKey:
    """Canonical sorted tuple of coordinates for ``laplacian(dims)``; ``None`` means all ``dim``."""
    if dims is None:
        return tuple(range(dim))
    key = sorted({int(i) % dim if -dim <= int(i) < dim else _bad_dim(int(i), dim) for i in dims})
    if not key:
        raise ValueError("laplacian(dims=...) needs at least one coordinate")
    return tuple(key)


def _bad_dim(i: int, dim: int) -> int:
    raise IndexError(f"coordinate {i} is out of range for a {dim}-dimensional point")


class Jet:
    """Interface of a network's jet at one point (see the module docstring)."""

    dim: int
    n_outputs: int = 1

    def __getitem__(self, i: int) -> Jet:
        """The scalar jet of output ``i`` (``u[0]`` is ``u`` itself for a scalar network)."""
        if not isinstance(i, int) or not -self.n_outputs <= i < self.n_outputs:
            raise IndexError(
                f"u[{i!r}]: the network has {self.n_outputs} output(s), so a component index is an integer in "
                f"0..{self.n_outputs - 1} (set the problem's n_outputs for a system)"
            )
        return self if self.n_outputs == 1 else ComponentJet(self, i % self.n_outputs)

    @property
    def value(self) -> Tensor:
        raise NotImplementedError

    @property
    def grad(self) -> Tensor:
        raise NotImplementedError

    @property
    def hessian(self) -> Tensor:
        raise NotImplementedError

    def laplacian(self, dims: Iterable[int] | None = None) -> Tensor:
        raise NotImplementedError

    def partial(self, i: int, j: int | None = None) -> Tensor:
        """``∂u/∂x_i``, or ``∂²u/∂x_i∂x_j`` when ``j`` is given."""
        if j is None:
            return self.grad[..., i]
        if i % self.dim == j % self.dim:
            return self.laplacian((i,))
        return self.hessian[..., i, j]


class ComponentJet(Jet):
    """Output ``index`` of a multi-output jet: every quantity is the parent's at ``[index]``."""

    def __init__(self, parent: Jet, index: int):
        self._parent, self._index, self.dim = parent, index, parent.dim

    @property
    def value(self) -> Tensor:
        return self._parent.value[self._index]

    @property
    def grad(self) -> Tensor:
        return self._parent.grad[self._index]

    @property
    def hessian(self) -> Tensor:
        return self._parent.hessian[self._index]

    def laplacian(self, dims: Iterable[int] | None = None) -> Tensor:
        return self._parent.laplacian(dims)[self._index]


class FunctionJet(Jet):
    """Jet of a per-point function ``fn: [d] -> [] or [m]`` through ``torch.func`` (works for any model).

    Args:
        fn: the network as a function of one point, returning a scalar (``[]`` or ``[1]``) or ``[m]``.
        x: the point, shape ``[d]``.
        n_outputs: ``m`` (1 for a scalar network).
    """

    def __init__(self, fn: Callable[[Tensor], Tensor], x: Tensor, n_outputs: int = 1):
        self._x, self.dim, self.n_outputs = x, x.shape[-1], int(n_outputs)
        shape = () if self.n_outputs == 1 else (self.n_outputs,)
        self._fn = lambda xx: fn(xx).reshape(shape)
        self._cache: dict[str, Tensor] = {}

    @property
    def value(self) -> Tensor:
        if "value" not in self._cache:
            self._cache["value"] = self._fn(self._x)
        return self._cache["value"]

    @property
    def grad(self) -> Tensor:
        if "grad" not in self._cache:
            self._cache["grad"] = (func_grad if self.n_outputs == 1 else jacrev)(self._fn)(self._x)
        return self._cache["grad"]

    @property
    def hessian(self) -> Tensor:
        if "hessian" not in self._cache:
            self._cache["hessian"] = func_hessian(self._fn)(self._x)
        return self._cache["hessian"]

    def laplacian(self, dims: Iterable[int] | None = None) -> Tensor:
        key = laplacian_key(dims, self.dim)
        return torch.diagonal(self.hessian, dim1=-2, dim2=-1)[..., list(key)].sum(-1)


class FastPathUnsupported(Exception):
    """Raised when a residual reads a quantity the forward Laplacian does not propagate."""


class TensorJet(Jet):
    """Jet backed by precomputed tensors for one point (the forward-Laplacian fast path).

    Args:
        value: ``u(x)``, shape ``[]`` (``[m]`` for ``m`` outputs).
        grad: ``∇u(x)``, shape ``[d]`` (``[m, d]``), or ``None`` if not propagated.
        laplacians: ``{key: Σ_{i∈key} ∂²u/∂x_i²}``, each of shape ``[]`` (``[m]``).
        dim: ``d``.
    """

    def __init__(self, value: Tensor, grad: Tensor | None, laplacians: dict[LaplacianKey, Tensor], dim: int):
        self._value, self._grad, self._laplacians, self.dim = value, grad, laplacians, dim
        self.n_outputs = 1 if value.ndim == 0 else value.shape[0]

    @property
    def value(self) -> Tensor:
        return self._value

    @property
    def grad(self) -> Tensor:
        if self._grad is None:
            raise FastPathUnsupported("gradient was not propagated")
        return self._grad

    @property
    def hessian(self) -> Tensor:
        raise FastPathUnsupported("the forward Laplacian does not propagate the full Hessian")

    def laplacian(self, dims: Iterable[int] | None = None) -> Tensor:
        key = laplacian_key(dims, self.dim)
        if key not in self._laplacians:
            raise FastPathUnsupported(f"Laplacian over {key} was not propagated")
        return self._laplacians[key]


class RecordingJet(Jet):
    """Probe jet: records what a residual reads and returns placeholder ones of the right shape.

    After the residual ran, ``needs_grad``, ``laplacian_keys`` and ``needs_hessian`` say what the
    fast path must propagate for it, and ``read`` whether it read the network at all.
    """

    def __init__(self, x: Tensor, n_outputs: int = 1):
        self._x = x
        self.dim = x.shape[-1]
        self.n_outputs = int(n_outputs)
        self._shape = () if self.n_outputs == 1 else (self.n_outputs,)
        self.read = False
        self.needs_grad = False
        self.needs_hessian = False
        self.laplacian_keys: list[LaplacianKey] = []

    @property
    def value(self) -> Tensor:
        self.read = True
        return self._x.new_ones(self._shape)

    @property
    def grad(self) -> Tensor:
        self.read = self.needs_grad = True
        return self._x.new_ones(*self._shape, self.dim)

    @property
    def hessian(self) -> Tensor:
        self.read = self.needs_hessian = True
        return self._x.new_ones(*self._shape, self.dim, self.dim)

    def laplacian(self, dims: Iterable[int] | None = None) -> Tensor:
        self.read = True
        key = laplacian_key(dims, self.dim)
        if key not in self.laplacian_keys:
            self.laplacian_keys.append(key)
        return self._x.new_ones(self._shape)
