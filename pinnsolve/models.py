"""Multilayer perceptrons with PyTorch's default initialisation.

An :class:`MLP` is an ``nn.Sequential`` of ``nn.Linear`` layers and element-wise activations, so
the forward-Laplacian fast path (:mod:`pinnsolve.engine.forward_laplacian`) recognises it. Any other
``nn.Module`` mapping ``[N, d] -> [N, m]`` works through the generic ``torch.func`` path.
"""

from __future__ import annotations

from collections.abc import Sequence

import math

import torch
from torch import nn


class Sin(nn.Module):
    """Element-wise ``sin``, a common PINN activation."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)


ACTIVATIONS: dict[str, type[nn.Module]] = {
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "softplus": nn.Softplus,
    "sin": Sin,
}


class MLP(nn.Sequential):
    """Fully connected network ``in_features → hidden… → out_features``, activation between layers,
    linear last layer.

    Args:
        in_features: input dimension ``d`` (the trainer passes the problem's dimension).
        hidden: hidden widths, e.g. ``[64]`` for 2-64-1 (257 parameters).
        out_features: output dimension (1 for a scalar PDE solution).
        activation: one of :data:`ACTIVATIONS`.
        dtype: parameter dtype (float64 for PINNs).

    Example:
        >>> MLP(5, [64, 64, 48, 48]).num_parameters()
        10065
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int] = (64,),
        out_features: int = 1,
        activation: str = "tanh",
        dtype: torch.dtype | str = torch.float64,
    ):
        widths = [int(in_features), *[int(w) for w in hidden], int(out_features)]
        if min(widths) < 1:
            raise ValueError(f"MLP widths must be positive; got {widths} (in_features, *hidden, out_features)")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation '{activation}'; choose one of {sorted(ACTIVATIONS)}")
        dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Linear(n_in, n_out, dtype=dtype))
            if i < len(widths) - 2:
                layers.append(ACTIVATIONS[activation]())
        super().__init__(*layers)
        self.widths = widths

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


class OutputTransform(nn.Module):
    """``u(x) = transform(x, N(x))`` for a network ``N``: hard constraints and output scalings.

    E.g. ``transform = lambda x, n: x[0] * (1 - x[0]) * n`` makes ``u(0) = u(1) = 0`` exactly. The
    transform is written for one point (``x: [d]``, ``n: []`` or ``[m]``, returning the same shape);
    residuals, errors, plots and predictions all see ``u``. The Jacobian goes through the generic
    ``torch.func`` path. Parameter names are the network's with the prefix ``net.``.
    """

    def __init__(self, net: nn.Module, transform):
        super().__init__()
        self.net, self.transform = net, transform

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        if out.shape[-1] == 1:
            return torch.vmap(lambda xi, ni: self.transform(xi, ni[0]).reshape(1))(x, out)
        return torch.vmap(self.transform)(x, out)


class PeriodicInputs(nn.Module):
    """``u(x) = N(φ(x))`` with ``φ`` replacing each periodic coordinate ``x_i`` (period ``L_i``) by
    ``cos(2πx_i/L_i), sin(2πx_i/L_i)``: ``u`` is exactly periodic in those coordinates, so no
    periodic boundary condition is needed (Dong & Ni 2021, "A method for representing periodic
    functions and enforcing exactly periodic boundary conditions with deep neural networks").

    ``x: [n, d] → φ(x): [n, d + k]`` for ``k`` periodic coordinates (the others first, in order), so
    ``N`` takes ``d + k`` inputs. The Jacobian goes through the generic ``torch.func`` path.
    Parameter names are the network's with the prefix ``net.``.

    Args:
        net: the network on the features.
        periods: ``{coordinate index: period}``.
    """

    def __init__(self, net: nn.Module, periods: dict[int, float]):
        super().__init__()
        self.net = net
        self.periodic = sorted(int(i) for i in periods)
        self.register_buffer("frequencies", torch.tensor([2 * math.pi / float(periods[i]) for i in self.periodic]),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        others = [i for i in range(x.shape[-1]) if i not in self.periodic]
        angles = x[..., self.periodic] * self.frequencies.to(x.dtype)
        return self.net(torch.cat([x[..., others], torch.cos(angles), torch.sin(angles)], dim=-1))


def for_problem(net: nn.Module, problem) -> nn.Module:
    """The model ``problem`` trains: ``net`` on the problem's :class:`PeriodicInputs` and in its
    :class:`OutputTransform` (where it has them), with its trainable coefficients attached
    (:func:`pinnsolve.problem.coefficients.attach`)."""
    from .problem import coefficients

    model = net
    if problem.periodic and not isinstance(net, (PeriodicInputs, OutputTransform)):
        model = PeriodicInputs(model, problem.periodic)
    if problem.output_transform is not None and not isinstance(net, OutputTransform):
        model = OutputTransform(model, problem.output_transform)
    return coefficients.attach(model, problem.parameters)
