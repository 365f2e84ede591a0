"""Wrappers that turn a network ``N`` into the model a problem trains: output transforms (hard
constraints), periodic inputs and trainable coefficients (:func:`for_problem`)."""

from __future__ import annotations

import torch
from torch import nn

from .features import PeriodicInputs


class OutputTransform(nn.Module):
    """``u(x) = transform(x, N(x))`` for a network ``N``: hard constraints and output scalings.

    E.g. ``transform = lambda x, n: x[0] * (1 - x[0]) * n`` makes ``u(0) = u(1) = 0`` exactly. The
    transform is written for one point (``x: [d]``, ``n: []`` or ``[m]``, returning the same shape);
    residuals, errors, plots and predictions all see ``u``. The forward-Laplacian fast path carries it
    (:meth:`pinnsolve.engine.channels.ChannelLayout.transform`). Parameter names are the network's with
    the prefix ``net.``.
    """

    def __init__(self, net: nn.Module, transform):
        super().__init__()
        self.net, self.transform = net, transform

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        if out.shape[-1] == 1:
            return torch.vmap(lambda xi, ni: self.transform(xi, ni[0]).reshape(1))(x, out)
        return torch.vmap(self.transform)(x, out)


def for_problem(net: nn.Module, problem) -> nn.Module:
    """The model ``problem`` trains: ``net`` on the problem's :class:`PeriodicInputs` and in its
    :class:`OutputTransform` (where it has them), with its trainable coefficients attached
    (:func:`pinnsolve.problem.coefficients.attach`)."""
    from ..problem import coefficients

    model = net
    if problem.periodic and not isinstance(net, (PeriodicInputs, OutputTransform)):
        model = PeriodicInputs(model, problem.periodic)
    if problem.output_transform is not None and not isinstance(net, OutputTransform):
        model = OutputTransform(model, problem.output_transform)
    return coefficients.attach(model, problem.parameters)
