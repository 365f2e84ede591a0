r"""Batched forward Laplacian for MLPs: residuals and their Jacobian in one forward and one backward.

Each layer carries, for every point, ``C`` *channels* of width ``w``: the value, the ``d`` first
derivatives ``∂_i h`` and one Laplacian ``Σ_{i∈S} ∂_i² h`` per coordinate set ``S`` the residual
reads. Through a linear layer every channel is multiplied by ``W`` (the bias enters the value
only); through an element-wise activation ``σ``

.. math::
    h = σ(z),\quad ∂_i h = σ'(z)\,∂_i z,\quad
    Δ_S h = σ'(z)\,Δ_S z + σ''(z) \sum_{i∈S} (∂_i z)^2 .

The residual of point ``n`` depends on the layer outputs ``Z_l[n]: [C, w_l]`` alone, so one
backward pass of ``Σ_n r_n`` gives ``g_l[n] = ∂r_n/∂Z_l[n]`` for every point at once, and the
Jacobian blocks are batched products with inner size ``C``:

.. math::
    J_{W_l}[n] = \sum_c g_l[n, c]\, H_{l-1}[n, c]^\top,\qquad J_{b_l}[n] = g_l[n, 0].

Agrees with the generic ``torch.func`` path to float64 rounding (``tests/engine/test_engine.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.func import jvp, vmap

from ..problem import coefficients as coef
from .jet import LaplacianKey, TensorJet
from ..models import Sin

_ELEMENTWISE = (nn.Tanh, nn.Sigmoid, nn.GELU, nn.SiLU, nn.Softplus, Sin)
_INV_SQRT_2, _INV_SQRT_2PI = 0.5**0.5, (2 * torch.pi) ** -0.5


def supports(model: nn.Module) -> bool:
    """Whether ``model`` is a ``Sequential`` of ``Linear`` layers and element-wise activations."""
    if not isinstance(model, nn.Sequential) or len(model) == 0:
        return False
    return isinstance(model[-1], nn.Linear) and all(isinstance(m, (nn.Linear, *_ELEMENTWISE)) for m in model)


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

    def jet(self, out: Tensor) -> TensorJet:
        """The :class:`TensorJet` of one point from its output channels ``[C]`` (``[C, m]`` for ``m`` outputs)."""
        grad = None
        if self.n_derivs:
            grad = out[1 : 1 + self.dim] if out.ndim == 1 else out[1 : 1 + self.dim].mT
        laps = {key: out[1 + self.n_derivs + k] for k, key in enumerate(self.keys)}
        return TensorJet(out[0], grad, laps, self.dim)


def propagate(model: nn.Sequential, params: dict[str, Tensor], x: Tensor, layout: ChannelLayout, record: list | None = None) -> Tensor:
    """Push ``x: [n, d]`` through ``model`` with ``params``; returns output channels ``[n, C]`` (``[n, C, m]``
    for a network with ``m > 1`` outputs: one propagation carries every output).

    If ``record`` is a list, it receives ``(H_in, Z)`` for every linear layer with ``Z`` tracked by
    autograd (the inputs of the Jacobian products). Pure otherwise, so ``vmap`` over ``params`` works.
    """
    H = layout.input_channels(x)
    for i, module in enumerate(model):
        if isinstance(module, nn.Linear):
            Z = H @ params[f"{i}.weight"].transpose(-1, -2)
            bias = params.get(f"{i}.bias")
            if bias is not None:  # the bias enters the value channel only
                Z[:, 0] += bias
            if record is not None:
                if not record:
                    Z.requires_grad_(True)
                record.append((H, Z))
            H = Z
        else:
            H = layout.activate(module, H)
    return H[..., 0] if H.shape[-1] == 1 else H


def residual_and_jacobian(
    model: nn.Sequential,
    params: dict[str, Tensor],
    x: Tensor,
    y: Tensor | None,
    residual: Callable,
    layout: ChannelLayout,
    out: Tensor,
    scale: float = 1.0,
) -> Tensor:
    """Residuals ``scale·r: [n·k]``; writes ``scale·∂r/∂θ`` into ``out: [n·k, P]`` (columns in ``params`` order).

    Scaling ``r`` before the backward pass scales every block of ``J`` for free, and each block is one
    batched product written into its columns of ``out`` (3× faster than forming the block and copying
    it, measured at N = 1200 on one CPU thread). A residual with ``k > 1`` components (a system) takes
    one backward pass per component; row ``n·k + j`` is component ``j`` of point ``n``. A trainable
    coefficient (:mod:`pinnsolve.problem.coefficients`) enters as one copy per point, whose gradient is its column.
    """
    params = {k: v.detach() for k, v in params.items()}
    record: list[tuple[Tensor, Tensor]] = []
    n = x.shape[0]
    copies = {k: v.expand(n, *v.shape).clone().requires_grad_(True) for k, v in coef.of(params).items()}
    with torch.enable_grad():
        out_channels = propagate(model, params, x, layout, record)
        r = scale * apply_residual(residual, layout, out_channels, x, y, copies, per_point=True)
        leaves = [Z for _, Z in record] + list(copies.values())
        if r.ndim == 1:
            _write_rows(model, params, record, _grads(r, leaves), out)
            return r.detach()
        rows = out.view(r.shape[0], r.shape[1], out.shape[1])
        block = torch.empty_like(out[: r.shape[0]])
        for j in range(r.shape[1]):
            _write_rows(model, params, record, _grads(r[:, j], leaves, retain=j + 1 < r.shape[1]), block)
            rows[:, j] = block
    return r.detach().reshape(-1)


def _grads(r: Tensor, leaves: list[Tensor], retain: bool = False) -> tuple[Tensor, ...]:
    """``∂r_n/∂Z_l[n]`` for every layer (and ``∂r_n/∂c_n`` for every coefficient copy): one backward
    pass of ``Σ_n r_n`` (``r: [n]``)."""
    if not r.requires_grad:  # a residual that does not depend on the network gets zero columns
        return tuple(torch.zeros_like(leaf) for leaf in leaves)
    return torch.autograd.grad(r.sum(), leaves, allow_unused=True, materialize_grads=True, retain_graph=retain)


def _write_rows(model: nn.Sequential, params: dict[str, Tensor], record, grads, out: Tensor) -> None:
    """``J[n] = [g_l[n]ᵀ H_{l−1}[n], g_l[n, 0]]_l`` written into ``out: [n, P]`` (coefficients: their gradients)."""
    blocks = {}
    linear_names = [i for i, m in enumerate(model) if isinstance(m, nn.Linear)]
    for i, (H, _), g in zip(linear_names, record, grads):
        blocks[f"{i}.weight"] = (g, H)
        blocks[f"{i}.bias"] = (g, None)
    for name, g in zip([k for k in params if k.startswith(coef.PREFIX)], grads[len(record):]):
        blocks[name] = (g.reshape(g.shape[0], 1, -1), None)
    column = 0
    for name, p in params.items():
        g, H = blocks[name]
        target = out[:, column : column + p.numel()]
        if H is None:
            target.copy_(g[:, 0])
        else:  # J_W[n] = g[n]ᵀ H[n], written straight into J's columns (no [n, P_l] temporary and copy)
            torch.bmm(g.mT, H.detach(), out=target.view(g.shape[0], *p.shape))
        column += p.numel()


def apply_residual(residual: Callable, layout: ChannelLayout, out: Tensor, x: Tensor, y: Tensor | None,
                   coefficients: dict[str, Tensor] | None = None, per_point: bool = False) -> Tensor:
    """``vmap`` the per-point residual over the batch of output channels ``out: [n, C]``; ``coefficients``
    are shared (or, with ``per_point``, one copy per point along their first axis)."""
    coefficients = coefficients or {}
    shared = None if not per_point else 0

    def one(o, xi, yi, c):
        return coef.call_residual(residual, layout.jet(o), xi, yi, c)

    if y is None:
        return vmap(lambda o, xi, c: one(o, xi, None, c), in_dims=(0, 0, shared))(out, x, coefficients)
    return vmap(one, in_dims=(0, 0, 0, shared))(out, x, y, coefficients)
