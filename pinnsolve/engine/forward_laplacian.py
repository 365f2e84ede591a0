r"""Batched forward Laplacian for MLPs and their relatives: residuals and their Jacobian in one forward and one backward.

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

A linear layer's Jacobian block needs only its input channels and ``g_l``, wherever the layer sits,
so the rule extends to every network built from linear layers and channel rules
(:mod:`pinnsolve.engine.channels`): Fourier features and periodic inputs, skip connections and the
gated products of the modified MLP. Agrees with the generic ``torch.func`` path to float64 rounding (``tests/engine/test_engine.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.func import vmap

from ..models import FourierFeatures, ModifiedMLP, OutputTransform, PeriodicInputs, ResidualBlock
from ..problem import coefficients as coef
from .channels import ELEMENTWISE, ChannelLayout

Record = list[tuple[str, Tensor, Tensor]]


_RULES = (nn.Linear, nn.Sequential, FourierFeatures, PeriodicInputs, ResidualBlock, ModifiedMLP, OutputTransform,
          *ELEMENTWISE)


def _own_forward(module: nn.Module) -> bool:
    """Whether ``module`` computes exactly what its rule assumes: the ``forward`` of the class the rule is
    for (a subclass may override it) and no hooks."""
    base = next(cls for cls in _RULES if isinstance(module, cls))
    hooks = (module._forward_hooks, module._forward_pre_hooks)
    return type(module).forward is base.forward and not any(hooks)


def supports(model: nn.Module) -> bool:
    """Whether every module of ``model`` has a channel rule: ``Linear``, element-wise activations,
    ``Sequential``, :class:`~pinnsolve.models.FourierFeatures`, :class:`~pinnsolve.models.PeriodicInputs`,
    :class:`~pinnsolve.models.ResidualBlock`, :class:`~pinnsolve.models.ModifiedMLP` and, outermost,
    :class:`~pinnsolve.models.OutputTransform` — each with its class's own ``forward``, no hooks, and no
    module used twice (a shared layer's Jacobian would be a sum the rules do not form)."""
    modules = list(model.modules())
    if len(modules) != len(list(model.modules(remove_duplicate=False))):
        return False
    return _supported(model, top=True)


def _supported(model: nn.Module, top: bool = False) -> bool:
    if not isinstance(model, _RULES) or not _own_forward(model):
        return False
    if isinstance(model, OutputTransform):
        return top and _supported(model.net, top=True)  # its rule reads the point itself: outermost only
    if isinstance(model, (nn.Linear, FourierFeatures, *ELEMENTWISE)):
        return True
    if isinstance(model, nn.Sequential):
        return len(model) > 0 and all(_supported(m) for m in model)
    if isinstance(model, PeriodicInputs):
        return _supported(model.net)
    layers = [model.linear] if isinstance(model, ResidualBlock) else [
        model.encoder_u, model.encoder_v, *model.layers, model.head]
    return _supported(model.activation) and all(_supported(m) for m in layers)


def propagate(model: nn.Module, params: dict[str, Tensor], x: Tensor, layout: ChannelLayout, record: Record | None = None) -> Tensor:
    """Push ``x: [n, d]`` through ``model`` with ``params``; returns output channels ``[n, C]`` (``[n, C, m]``
    for a network with ``m > 1`` outputs: one propagation carries every output).

    If ``record`` is a list, it receives ``(name prefix, H_in, Z)`` for every linear layer with ``Z``
    tracked by autograd (the inputs of the Jacobian products). Pure otherwise, so ``vmap`` over
    ``params`` works.
    """
    H = _channels(model, "", params, layout.input_channels(x), layout, record)
    return H[..., 0] if H.shape[-1] == 1 else H


def _channels(module: nn.Module, prefix: str, params: dict[str, Tensor], H: Tensor, layout: ChannelLayout,
              record: Record | None) -> Tensor:
    """Channels ``[n, C, w_out]`` of ``module`` applied to channels ``H: [n, C, w_in]``."""
    if isinstance(module, nn.Linear):
        Z = H @ params[prefix + "weight"].transpose(-1, -2)
        bias = params.get(prefix + "bias")
        if bias is not None:  # the bias enters the value channel only
            Z[:, 0] += bias
        if record is not None:
            if not Z.requires_grad:  # a layer on the input (or on fixed features) starts the graph
                Z.requires_grad_(True)
            record.append((prefix, H, Z))
        return Z
    if isinstance(module, ELEMENTWISE):
        return layout.activate(module, H)
    if isinstance(module, nn.Sequential):
        for name, child in module._modules.items():
            H = _channels(child, f"{prefix}{name}.", params, H, layout, record)
        return H
    if isinstance(module, FourierFeatures):
        return layout.cos_sin(H, *module.feature_map(H.shape[-1]))
    if isinstance(module, PeriodicInputs):
        features = layout.cos_sin(H, *module.feature_map(H.shape[-1]))
        return _channels(module.net, prefix + "net.", params, features, layout, record)
    if isinstance(module, OutputTransform):  # outermost: its input channels are the point's own
        return layout.transform(module.transform, H[:, 0], _channels(module.net, prefix + "net.", params, H, layout, record))
    if isinstance(module, ResidualBlock):
        return H + layout.activate(module.activation, _channels(module.linear, prefix + "linear.", params, H, layout, record))
    if isinstance(module, ModifiedMLP):
        def dense(name: str, layer: nn.Module, inputs: Tensor) -> Tensor:
            return layout.activate(module.activation, _channels(layer, prefix + name, params, inputs, layout, record))

        U, V = dense("encoder_u.", module.encoder_u, H), dense("encoder_v.", module.encoder_v, H)
        for i, layer in enumerate(module.layers):
            H = V + layout.multiply(dense(f"layers.{i}.", layer, H), U - V)
        return _channels(module.head, prefix + "head.", params, H, layout, record)
    raise TypeError(f"the forward Laplacian has no rule for {type(module).__name__}; check supports(model) first")


def residual_and_jacobian(
    model: nn.Module,
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
    record: Record = []
    n = x.shape[0]
    copies = {k: v.expand(n, *v.shape).clone().requires_grad_(True) for k, v in coef.of(params).items()}
    with torch.enable_grad():
        out_channels = propagate(model, params, x, layout, record)
        r = scale * apply_residual(residual, layout, out_channels, x, y, copies, per_point=True)
        leaves = [Z for _, _, Z in record] + list(copies.values())
        if r.ndim == 1:
            _write_rows(params, record, _grads(r, leaves), out)
            return r.detach()
        rows = out.view(r.shape[0], r.shape[1], out.shape[1])
        block = torch.empty_like(out[: r.shape[0]])
        for j in range(r.shape[1]):
            _write_rows(params, record, _grads(r[:, j], leaves, retain=j + 1 < r.shape[1]), block)
            rows[:, j] = block
    return r.detach().reshape(-1)


def _grads(r: Tensor, leaves: list[Tensor], retain: bool = False) -> tuple[Tensor, ...]:
    """``∂r_n/∂Z_l[n]`` for every layer (and ``∂r_n/∂c_n`` for every coefficient copy): one backward
    pass of ``Σ_n r_n`` (``r: [n]``)."""
    if not r.requires_grad:  # a residual that does not depend on the network gets zero columns
        return tuple(torch.zeros_like(leaf) for leaf in leaves)
    return torch.autograd.grad(r.sum(), leaves, allow_unused=True, materialize_grads=True, retain_graph=retain)


def _write_rows(params: dict[str, Tensor], record: Record, grads, out: Tensor) -> None:
    """``J[n] = [g_l[n]ᵀ H_{l−1}[n], g_l[n, 0]]_l`` written into ``out: [n, P]`` (coefficients: their gradients)."""
    blocks = {}
    for (prefix, H, _), g in zip(record, grads):
        blocks[prefix + "weight"] = (g, H)
        blocks[prefix + "bias"] = (g, None)
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
