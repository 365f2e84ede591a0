"""From a finished run to answers: ``load_run(directory)`` and ``run.predict(points)``.

    run = pinnsolve.load_run("outputs/poisson2d/engd_w/2026-11-30_10-00-00")
    u = run.predict(points)                                           # [n] (or [n, m])
    out = run.predict(points, derivatives=["grad", "laplacian"])      # {"value", "grad", "laplacian"}

The checkpoint alone is enough: it carries the resolved configuration and the weights, and the
network's input and output sizes are read off the weights. It loads on the CPU (or ``device=``)
whatever device trained it. Nothing in the run directory can run code (:mod:`pinnsolve.runs.config`):
the problem is rebuilt only when it is one of pinnsolve's shipped problems; a problem from a Python
file (``problem=from_file``) or a ``solve()`` run's problem object is passed in by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataclasses import dataclass
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import Tensor, nn
from torch.func import functional_call, hessian, jacrev, vmap

from ..problem import coefficients
from .checkpoint import check_weights, load_checkpoint, locate_checkpoint
from ..device import resolve_device, resolve_dtype
from ..errors import ConfigError
from ..models import OutputTransform, PeriodicInputs, for_problem
from ..problem import Problem
from .config import FROM_FILE_TARGET, saved_config
from ..chunked import chunked
from ..engine.pointwise import point_residual

DERIVATIVES = ("grad", "laplacian", "hessian")


def _network_shapes(state: dict, problem: Problem | None) -> tuple[int, int]:
    """``(in_features, out_features)`` of a saved network: the problem's network inputs (else the first
    Fourier basis's or ``*.weight`` matrix's columns) and the rows of its last ``*.weight`` matrix."""
    weights = [v for k, v in state.items() if k.endswith("weight") and v.ndim == 2]
    if not weights:
        raise ConfigError("the checkpoint's model has no linear layers; load_run rebuilds pinnsolve's networks")
    if problem is not None:
        return problem.network_inputs, int(weights[-1].shape[0])
    bases = [v for k, v in state.items() if k.endswith("basis") and v.ndim == 2]
    return int((bases or weights)[0].shape[1]), int(weights[-1].shape[0])


@dataclass
class LoadedRun:
    """A trained network with its configuration (and its problem where it can be rebuilt safely)."""

    directory: Path
    config: dict
    model: nn.Module
    problem: Problem | None
    step: int
    input_dim: int

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def coefficients(self) -> dict[str, float]:
        """The trained coefficients of an inverse problem (``{}`` without any)."""
        return coefficients.values(self.model)

    def _points(self, points) -> Tensor:
        x = torch.as_tensor(points, dtype=self.dtype, device=self.device)
        d = self.input_dim
        if x.ndim == 1 and d == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != d:
            raise ConfigError(f"points of shape {tuple(x.shape)}: this network takes points of shape [n, {d}]")
        bad = ~torch.isfinite(x).all(dim=1)
        if bad.any():
            raise ConfigError(f"{int(bad.sum())} of {len(x)} points have NaN or infinite coordinates (point "
                              f"{int(bad.nonzero()[0, 0])} first): the network's value there is NaN; remove them")
        return x

    @torch.no_grad()
    def predict(self, points, derivatives=(), chunk: int = 65536):
        """``u(points)``; with ``derivatives`` (``"grad"``, ``"laplacian"``, ``"hessian"``) a dict of them.

        Args:
            points: ``[n, d]`` (tensor, array or nested list).
            derivatives: which derivatives with respect to the input to return.

        Returns:
            ``value: [n]`` (``[n, m]`` for ``m`` outputs), or ``{"value", "grad": [n, (m,) d],
            "laplacian": [n, (m)], "hessian": [n, (m,) d, d]}``.
        """
        unknown = [name for name in derivatives if name not in DERIVATIVES]
        if unknown:
            raise ConfigError(f"unknown derivatives {unknown}; choose from {DERIVATIVES}")
        x = self._points(points)
        value = chunked(self.model, x, chunk)
        squeeze = value.shape[-1] == 1
        out = {"value": value[:, 0] if squeeze else value}
        if not derivatives:
            return out["value"]
        params = {k: v.detach() for k, v in self.model.named_parameters()}
        f = lambda xi: functional_call(self.model, params, (xi[None],))[0]  # noqa: E731  [d] -> [m]
        with torch.enable_grad():
            if "grad" in derivatives:
                grad = chunked(vmap(jacrev(f)), x, chunk)    # [n, m, d]
                out["grad"] = grad[:, 0] if squeeze else grad
            if "laplacian" in derivatives or "hessian" in derivatives:
                hess = chunked(vmap(hessian(f)), x, chunk)  # [n, m, d, d]
                if "hessian" in derivatives:
                    out["hessian"] = hess[:, 0] if squeeze else hess
                if "laplacian" in derivatives:
                    lap = torch.diagonal(hess, dim1=-2, dim2=-1).sum(-1)
                    out["laplacian"] = lap[:, 0] if squeeze else lap
        return {k: v.detach() for k, v in out.items()}


    @torch.no_grad()
    def residuals(self, points, chunk: int = 4096) -> dict[str, Tensor]:
        """Each condition's residual at ``points: [n, d]`` (DeepXDE's ``predict(x, operator=pde)``), with the
        trained coefficients: ``{condition: [n] or [n, k]}`` for every condition whose residual reads only the
        point (a PDE's, a Dirichlet condition's); those taking targets or normals are left out.

        Raises:
            ConfigError: the run's problem is not known (pass it: ``load_run(dir, problem=...)``).
        """
        if self.problem is None:
            raise ConfigError("residuals need the run's problem: load_run(dir, problem=my_problem) (for a problem "
                              "file: pinnsolve-predict ... problem=<the file>)")
        x = self._points(points)
        m = self.problem.n_outputs
        values = {k: torch.as_tensor(v, dtype=x.dtype, device=x.device) for k, v in self.coefficients.items()}
        network = lambda xi: self.model(xi[None])[0]  # noqa: E731  [d] -> [m]
        out = {}
        with torch.enable_grad():
            for condition in self.problem.conditions:
                arity = coefficients.positional_arity(condition.residual)
                if arity is not None and arity[0] >= 3:
                    continue
                one = vmap(lambda xi, c=condition: point_residual(c, network, xi, None, m, values))
                out[condition.name] = chunked(one, x, chunk).detach()
        return out


WHICH = ("last", "best", "average")


def load_run(path: str | Path, device: str = "cpu", problem: Problem | None = None, which: str = "last",
             allow_modules: Sequence[str] = ()) -> LoadedRun:
    """Load a finished (or checkpointed) run from its directory or its ``checkpoint.pt``.

    Args:
        path: a run directory or a checkpoint file.
        device: where the network goes (``cpu`` by default, whatever device trained it).
        problem: the problem object, for runs whose problem cannot be rebuilt from the config alone
            (``solve()`` runs, ``problem=from_file``); shipped problems are rebuilt.
        which: ``last`` (the checkpoint's network), ``best`` (``best.pt``, kept by the
            :class:`~pinnsolve.training.callbacks.BestModel` callback: ``callbacks=[best_model]``) or
            ``average`` (``average.pt``, the parameter average of ``callbacks=[average]``).
        allow_modules: modules (or packages) whose networks the run may import, for a run trained with
            your own ``model._target_=my_module.MyNet``: ``allow_modules=["my_module"]``. Nothing else
            in a run directory can name code to import.

    Raises:
        ConfigError: no checkpoint there, or a configuration naming code that is not pinnsolve's.
    """
    if which not in WHICH:
        raise ConfigError(f"which={which}: choose one of {WHICH}")
    checkpoint = locate_checkpoint(path, key="run")
    state = load_checkpoint(checkpoint)
    if isinstance(allow_modules, str):
        allow_modules = [allow_modules]
    config = saved_config(checkpoint, state, allow_solve_runs=True, allowed_modules=list(allow_modules))
    if which != "last":
        kept = checkpoint.parent / f"{which}.pt"
        callback = {"best": "best_model", "average": "average"}[which]
        if not kept.is_file():
            raise ConfigError(f"which={which}: {checkpoint.parent} has no {which}.pt; the {callback} callback writes it "
                              f"(pinnsolve callbacks=[{callback}] …, or solve(..., callbacks=[…]))")
        state = load_checkpoint(kept)
        checkpoint = kept
    dtype = resolve_dtype(config.get("trainer", {}).get("dtype", "float64"))
    if problem is None and "_target_" in config["problem"] and config["problem"]["_target_"] != FROM_FILE_TARGET:
        problem = instantiate(OmegaConf.create(config["problem"]))
    in_features, out_features = _network_shapes(state["model"], problem)
    model_cfg = OmegaConf.create(config["model"])
    model = instantiate(model_cfg)(in_features=in_features, out_features=out_features, dtype=dtype)
    if problem is not None:
        model = for_problem(model, problem)
    if any(k.startswith("net.") for k in state["model"]) and not isinstance(model, (OutputTransform, PeriodicInputs)):
        raise ConfigError(f"{checkpoint} was trained with an output transform u = transform(x, N(x)) or periodic "
                          "inputs; pass the problem that defines it: load_run(path, problem=my_problem)")
    coefficients.attach_from_state(model, state["model"])  # also without the problem
    check_weights(state["model"], model, checkpoint)
    model.load_state_dict(state["model"])
    model.to(resolve_device(device, key="device")).eval()
    input_dim = problem.dim if problem is not None else in_features
    return LoadedRun(checkpoint.parent, config, model, problem, int(state["step"]), input_dim)
