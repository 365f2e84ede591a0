r"""Input features: random Fourier features and exactly periodic inputs.

Both map a point to ``[x_S, cos(B x), sin(B x)]``: the coordinates ``S`` kept as they are, then
``cos`` and ``sin`` of ``k`` fixed linear combinations ``B: [k, d]`` of the coordinates. Being fixed
(buffers, not parameters), they add no columns to the Jacobian, and the forward-Laplacian fast path
carries them (:meth:`FourierFeatures.feature_map`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .mlp import ACTIVATIONS, check_widths, perceptron_layers, resolve_dtype


def cos_sin_features(x: Tensor, keep: Sequence[int], basis: Tensor) -> Tensor:
    """``[x[..., keep], cos(x Bᵀ), sin(x Bᵀ)]``: ``x: [n, d]``, ``B: [k, d]`` → ``[n, |keep| + 2k]``."""
    z = x @ basis.to(x.dtype).mT
    return torch.cat([x[..., list(keep)], torch.cos(z), torch.sin(z)], dim=-1)


class FourierFeatures(nn.Module):
    r"""Random Fourier features ``γ(x) = [cos(2π B x), sin(2π B x)]`` with ``B_ij ~ N(0, σ²)`` fixed
    (Tancik et al. 2020, "Fourier features let networks learn high frequency functions"; for PINNs
    Wang, Wang, Perdikaris 2021, "On the eigenvector bias of Fourier feature networks").

    ``σ`` sets the frequencies the network represents easily: larger ``σ`` for finer scales.
    ``x: [n, d] → [n, 2k]`` (``[n, d + 2k]`` with ``keep_inputs``). The basis is a persistent buffer,
    saved with the weights.

    Args:
        in_features: ``d``.
        features: ``k``, the number of frequencies.
        scale: ``σ``.
        keep_inputs: also pass ``x`` itself through.
        dtype: buffer dtype.
    """

    def __init__(self, in_features: int, features: int = 32, scale: float = 1.0, keep_inputs: bool = False,
                 dtype: torch.dtype | str = torch.float64):
        super().__init__()
        if int(features) < 1 or not float(scale) > 0:
            raise ValueError(f"FourierFeatures(features={features}, scale={scale}): give features >= 1 and scale > 0")
        basis = 2 * math.pi * float(scale) * torch.randn(int(features), int(in_features), dtype=resolve_dtype(dtype))
        self.register_buffer("basis", basis)
        self.in_features, self.keep_inputs = int(in_features), bool(keep_inputs)

    @property
    def out_features(self) -> int:
        return self.in_features * self.keep_inputs + 2 * self.basis.shape[0]

    def feature_map(self, d: int) -> tuple[list[int], Tensor]:
        """``(kept coordinates, B)`` of ``[x_S, cos(B x), sin(B x)]`` for ``d`` inputs."""
        return (list(range(d)) if self.keep_inputs else []), self.basis

    def forward(self, x: Tensor) -> Tensor:
        return cos_sin_features(x, *self.feature_map(x.shape[-1]))


class PeriodicInputs(nn.Module):
    """``u(x) = N(φ(x))`` with ``φ`` replacing each periodic coordinate ``x_i`` (period ``L_i``) by
    ``cos(2πx_i/L_i), sin(2πx_i/L_i)``: ``u`` is exactly periodic in those coordinates, so no
    periodic boundary condition is needed (Dong & Ni 2021, "A method for representing periodic
    functions and enforcing exactly periodic boundary conditions with deep neural networks").

    ``x: [n, d] → φ(x): [n, d + k]`` for ``k`` periodic coordinates (the others first, in order), so
    ``N`` takes ``d + k`` inputs. Parameter names are the network's with the prefix ``net.``.

    Args:
        net: the network on the features.
        periods: ``{coordinate index: period}``.
    """

    def __init__(self, net: nn.Module, periods: dict[int, float]):
        super().__init__()
        self.net = net
        self.periodic = sorted(int(i) for i in periods)
        self.register_buffer("frequencies", torch.tensor([2 * math.pi / float(periods[i]) for i in self.periodic],
                                                         dtype=torch.float64), persistent=False)

    def feature_map(self, d: int) -> tuple[list[int], Tensor]:
        """``(kept coordinates, B)`` of ``φ(x) = [x_S, cos(B x), sin(B x)]`` for ``d`` inputs."""
        basis = torch.zeros(len(self.periodic), d, dtype=self.frequencies.dtype, device=self.frequencies.device)
        basis[range(len(self.periodic)), self.periodic] = self.frequencies
        return [i for i in range(d) if i not in self.periodic], basis

    def forward(self, x: Tensor) -> Tensor:
        return self.net(cos_sin_features(x, *self.feature_map(x.shape[-1])))


class FourierMLP(nn.Sequential):
    """An :class:`~pinnsolve.models.MLP` on :class:`FourierFeatures`: ``x ↦ MLP(γ(x))``.

    Args:
        in_features, hidden, out_features, activation, dtype: as for :class:`~pinnsolve.models.MLP`.
        features, scale, keep_inputs: of the :class:`FourierFeatures`.

    Example:
        >>> FourierMLP(2, [32], features=16)[1].in_features
        32
    """

    def __init__(self, in_features: int, hidden: Sequence[int] = (64,), out_features: int = 1,
                 activation: str = "tanh", features: int = 32, scale: float = 1.0, keep_inputs: bool = False,
                 dtype: torch.dtype | str = torch.float64):
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation '{activation}'; choose one of {sorted(ACTIVATIONS)}")
        dtype = resolve_dtype(dtype)
        embedding = FourierFeatures(in_features, features, scale, keep_inputs, dtype)
        widths = check_widths("FourierMLP", [embedding.out_features, *hidden, out_features])
        super().__init__(embedding, *perceptron_layers(widths, activation, dtype))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
