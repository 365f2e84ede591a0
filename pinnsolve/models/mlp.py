"""Multilayer perceptrons: the plain MLP and the residual MLP, with PyTorch's default initialisation.

Both are built from ``nn.Linear`` layers and element-wise activations, so the forward-Laplacian fast
path (:mod:`pinnsolve.engine.forward_laplacian`) carries them.
"""

from __future__ import annotations

from collections.abc import Sequence

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
"""The activations by config name (``model.activation=``): element-wise, so the fast path carries them."""


def resolve_dtype(dtype: torch.dtype | str) -> torch.dtype:
    return getattr(torch, dtype) if isinstance(dtype, str) else dtype


def make_activation(name: str) -> nn.Module:
    """A fresh activation module by its name in :data:`ACTIVATIONS`."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation '{name}'; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def check_widths(kind: str, widths: Sequence[int]) -> list[int]:
    widths = [int(w) for w in widths]
    if min(widths) < 1:
        raise ValueError(f"{kind} widths must be positive; got {widths} (in_features, *hidden, out_features)")
    return widths


def equal_widths(kind: str, hidden: Sequence[int]) -> tuple[int, int]:
    """``(width, depth)`` of ``hidden`` widths that must all be equal (skip connections and gates add layers)."""
    hidden = [int(w) for w in hidden]
    if not hidden or len(set(hidden)) != 1 or hidden[0] < 1:
        raise ValueError(f"{kind} hidden={hidden}: every hidden layer needs the same positive width, e.g. [64, 64, 64]")
    return hidden[0], len(hidden)


def perceptron_layers(widths: Sequence[int], activation_name: str, dtype: torch.dtype) -> list[nn.Module]:
    """``Linear, σ, Linear, σ, …, Linear`` through ``widths`` (no activation after the last layer)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(n_in, n_out, dtype=dtype))
        if i < len(widths) - 2:
            layers.append(make_activation(activation_name))
    return layers


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

    def __init__(self, in_features: int, hidden: Sequence[int] = (64,), out_features: int = 1,
                 activation: str = "tanh", dtype: torch.dtype | str = torch.float64):
        widths = check_widths("MLP", [in_features, *hidden, out_features])
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation '{activation}'; choose one of {sorted(ACTIVATIONS)}")
        super().__init__(*perceptron_layers(widths, activation, resolve_dtype(dtype)))
        self.widths = widths

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


class ResidualBlock(nn.Module):
    """``h ↦ h + σ(W h + b)``: one skip connection around a square layer."""

    def __init__(self, width: int, activation_name: str, dtype: torch.dtype):
        super().__init__()
        self.linear = nn.Linear(width, width, dtype=dtype)
        self.activation = make_activation(activation_name)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.activation(self.linear(h))


class ResidualMLP(nn.Sequential):
    """``x ↦ σ(W_0 x + b_0)``, then ``L − 1`` blocks ``h ↦ h + σ(W h + b)``, then a linear head.

    Skip connections keep deep networks trainable (He et al. 2016, "Deep residual learning"; used
    for PINNs by Wang, Teng, Perdikaris 2021 and in PirateNets, Wang et al. 2024).

    Args:
        in_features, out_features, activation, dtype: as for :class:`MLP`.
        hidden: ``L`` equal hidden widths (``L − 1`` of the layers are residual blocks).
    """

    def __init__(self, in_features: int, hidden: Sequence[int] = (64, 64, 64), out_features: int = 1,
                 activation: str = "tanh", dtype: torch.dtype | str = torch.float64):
        width, depth = equal_widths("ResidualMLP", hidden)
        check_widths("ResidualMLP", [in_features, width, out_features])
        dtype = resolve_dtype(dtype)
        super().__init__(
            nn.Linear(int(in_features), int(width), dtype=dtype), make_activation(activation),
            *[ResidualBlock(int(width), activation, dtype) for _ in range(int(depth) - 1)],
            nn.Linear(int(width), int(out_features), dtype=dtype),
        )

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
