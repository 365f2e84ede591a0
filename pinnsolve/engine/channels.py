r"""Channels of the forward Laplacian: a layer's value, first derivatives and Laplacians per point.

Each layer carries, for every point, ``C`` channels of width ``w`` (``H: [n, C, w]``): the value, the
``d`` first derivatives ``∂_i h`` and one Laplacian ``Δ_S h = Σ_{i∈S} ∂_i² h`` per coordinate set
``S`` the residual reads. Linear maps act on every channel alike; the rules here are the nonlinear
ones: an element-wise activation (chain rule), a product of two layers (product rule) and
``cos``/``sin`` features.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.func import hessian, jacrev, jvp, vmap

from .jet import LaplacianKey, TensorJet
from ..models import Sin

ELEMENTWISE = (nn.Tanh, nn.Sigmoid, nn.GELU, nn.SiLU, nn.Softplus, Sin)
_INV_SQRT_2, _INV_SQRT_2PI = 0.5**0.5, (2 * torch.pi) ** -0.5
_SIN = Sin()


def activation_derivatives(module: nn.Module, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``σ(z), σ'(z), σ''(z)`` element-wise (closed forms where cheap, nested ``jvp`` otherwise)."""
    if isinstance(module, nn.Tanh):
        s = torch.tanh(z)
        ds = 1 - s * s
        return s, ds, -2 * s * ds
    if isinstance(module, Sin):
        s = torch.sin(z)
        return s, torch.cos(z), -s
    if isinstance(module, nn.Sigmoid):
        s = torch.sigmoid(z)
        ds = s * (1 - s)
        return s, ds, ds * (1 - 2 * s)
    if isinstance(module, nn.GELU) and module.approximate == "none":  # zΦ(z): Φ + zφ, φ(2 − z²)
        pdf = torch.exp(-0.5 * z * z) * _INV_SQRT_2PI
        cdf = 0.5 * (1 + torch.erf(z * _INV_SQRT_2))
        return z * cdf, cdf + z * pdf, pdf * (2 - z * z)
    if isinstance(module, nn.SiLU):  # zσ(z): σ(1 + z(1 − σ)), σ(1 − σ)(2 + z(1 − 2σ))
        s = torch.sigmoid(z)
        return z * s, s * (1 + z * (1 - s)), s * (1 - s) * (2 + z * (1 - 2 * s))
    ones = torch.ones_like(z)

    def first(t: Tensor) -> Tensor:
        return jvp(module, (t,), (ones,))[1]

    s, ds = jvp(module, (z,), (ones,))
    return s, ds, jvp(first, (z,), (ones,))[1]


class ChannelLayout:
    """Which channels a residual needs: value, first derivatives (if any) and Laplacians over ``keys``."""

    def __init__(self, dim: int, needs_grad: bool, keys: list[LaplacianKey]):
        self.dim, self.keys = dim, list(keys)
        self.n_derivs = dim if (needs_grad or self.keys) else 0
        self.n_channels = 1 + self.n_derivs + len(self.keys)

    def input_channels(self, x: Tensor) -> Tensor:
        """``H_0: [n, C, d]``: value ``x``, derivatives ``e_i``, Laplacians ``0``."""
        n, d = x.shape
        parts = [x[:, None, :]]
        if self.n_derivs:
            parts.append(torch.eye(d, dtype=x.dtype, device=x.device).expand(n, d, d))
        if self.keys:
            parts.append(x.new_zeros(n, len(self.keys), d))
        return torch.cat(parts, dim=1)

    def activate(self, module: nn.Module, Z: Tensor) -> Tensor:
        """Channels after an element-wise activation, ``[n, C, w] -> [n, C, w]``."""
        if not self.n_derivs:  # values only (data residuals): no derivatives of σ needed
            return module(Z[:, :1])
        s, ds, d2s = activation_derivatives(module, Z[:, 0])
        dZ = Z[:, 1 : 1 + self.dim]
        # σ'(z)·(every channel) is right for the derivatives and the first term of each Laplacian; the value
        # and the σ''(z)|∂z|² terms are then written in place (no concatenation: 30 % of a loss's time)
        H = ds[:, None] * Z
        H[:, 0] = s
        for k, key in enumerate(self.keys):
            squares = (dZ if len(key) == self.dim else dZ[:, list(key)]).square().sum(1)
            H[:, 1 + self.dim + k] += d2s * squares
        return H

    def multiply(self, A: Tensor, B: Tensor) -> Tensor:
        """Channels of the product ``a ⊙ b``: ``∂(ab) = a∂b + b∂a``,
        ``Δ_S(ab) = aΔ_S b + bΔ_S a + 2Σ_{i∈S} ∂_i a ∂_i b`` (``A, B: [n, C, w]``)."""
        if not self.n_derivs:
            return A * B
        P = A[:, :1] * B + B[:, :1] * A
        P[:, 0] = A[:, 0] * B[:, 0]
        dA, dB = A[:, 1 : 1 + self.dim], B[:, 1 : 1 + self.dim]
        for k, key in enumerate(self.keys):
            cross = dA * dB if len(key) == self.dim else dA[:, list(key)] * dB[:, list(key)]
            P[:, 1 + self.dim + k] += 2 * cross.sum(1)
        return P

    def cos_sin(self, H: Tensor, keep: list[int], basis: Tensor) -> Tensor:
        """Channels of ``[h_S, cos(B h), sin(B h)]`` (``H: [n, C, w]``, ``B: [k, w]`` → ``[n, C, |S| + 2k]``)."""
        Z = H @ basis.to(H.dtype).mT
        shifted = Z.clone()
        shifted[:, 0] += math.pi / 2  # cos z = sin(z + π/2), derivatives included
        return torch.cat([H[..., keep], self.activate(_SIN, shifted), self.activate(_SIN, Z)], dim=-1)

    def transform(self, fn, x: Tensor, N: Tensor) -> Tensor:
        r"""Channels of ``u = T(x, N(x))`` from the network's ``N: [n, C, m]`` (an output transform, written
        for one point: ``T(x: [d], n: [] or [m])``); ``[n, C, m_u]``. With ``g = ∇T``, ``H = ∇²T`` over
        ``(x, n)`` (``torch.func``, per point):

        .. math::
            ∂_i u = T_{x_i} + T_n·∂_i N,\quad
            Δ_S u = \sum_{i∈S} \big(T_{x_i x_i} + 2 T_{x_i n}·∂_i N + ∂_i N^⊤ T_{nn} ∂_i N\big) + T_n·Δ_S N.
        """
        d, m = x.shape[1], N.shape[-1]

        def t(z: Tensor) -> Tensor:  # [d + m] -> [m_u]
            return fn(z[:d], z[d] if m == 1 else z[d:]).reshape(-1)

        z = torch.cat([x, N[:, 0]], dim=1)
        value = vmap(t)(z)
        if not self.n_derivs:
            return value[:, None]
        g = vmap(jacrev(t))(z)                                    # [n, m_u, d + m]
        dN = N[:, 1 : 1 + d]                                      # [n, d, m]
        channels = [value[:, None], g[..., :d].mT + torch.einsum("nok,nik->nio", g[..., d:], dN)]
        if self.keys:
            h = vmap(hessian(t))(z)                               # [n, m_u, d + m, d + m]
            txx, txn, tnn = h[..., :d, :d].diagonal(dim1=-2, dim2=-1), h[..., :d, d:], h[..., d:, d:]
            for k, key in enumerate(self.keys):
                S = list(key)
                dS = dN[:, S]                                     # [n, |S|, m]
                lap = (txx[..., S].sum(-1) + 2 * torch.einsum("noik,nik->no", txn[:, :, S], dS)
                       + torch.einsum("nik,nokl,nil->no", dS, tnn, dS)
                       + torch.einsum("nok,nk->no", g[..., d:], N[:, 1 + self.dim + k]))
                channels.append(lap[:, None])
        return torch.cat(channels, dim=1)

    def jet(self, out: Tensor) -> TensorJet:
        """The :class:`TensorJet` of one point from its output channels ``[C]`` (``[C, m]`` for ``m`` outputs)."""
        grad = None
        if self.n_derivs:
            grad = out[1 : 1 + self.dim] if out.ndim == 1 else out[1 : 1 + self.dim].mT
        laps = {key: out[1 + self.n_derivs + k] for k, key in enumerate(self.keys)}
        return TensorJet(out[0], grad, laps, self.dim)


