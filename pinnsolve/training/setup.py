"""What the trainer needs before and around its loop: the optimizer built with clear errors, checks
of the first loss and of parameters no residual reaches, and the stop request (Ctrl-C, SIGTERM)."""

from __future__ import annotations

import contextlib
import math
import warnings
import signal

import torch
from torch import nn

from ..engine import JACOBIAN_MODES
from ..errors import ConfigError, HyperParameterError, NonFiniteError

STEP_SIZE_KEYS = ("lr", "max_lr")


def _settings(config: dict | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (config or {}).items() if not str(k).startswith("_"))


@contextlib.contextmanager
def warnings_as_notices(notice):
    """Route the warnings raised inside (the optimizer's, a solver's) to ``notice(message)``: a run's warnings
    belong in its log and ``summary.json``, not only on stderr. Deprecations of libraries stay warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        yield
    for item in caught:
        if issubclass(item.category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)):
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
        else:
            notice(str(item.message))


def build_optimizer(optimizer, model: nn.Module, config: dict | None = None) -> torch.optim.Optimizer:
    """The optimizer for ``model.parameters()`` from a factory (or as given), errors naming the config key.

    Raises:
        ConfigError: ``optimizer.<key>=<value>: …`` for a bad hyper-parameter, including a step size
            of 0 (``torch.optim`` accepts it; the parameters would never move).
    """
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    keywords = getattr(optimizer, "keywords", {}) or {}
    for key in STEP_SIZE_KEYS:
        value = keywords.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not 0 < value < math.inf:
            raise ConfigError(f"optimizer.{key}={value}: the step size must be > 0 and finite (with 0 the parameters "
                              "never move, with inf or nan they become NaN)")
    try:
        return optimizer(params=model.parameters())
    except HyperParameterError as exc:
        raise ConfigError(f"optimizer.{exc.name}={exc.value}: {exc}") from exc
    except (ValueError, TypeError) as exc:
        target = (config or {}).get("_target_", getattr(getattr(optimizer, "func", None), "__name__", "the optimizer"))
        raise ConfigError(f"cannot build the optimizer {target} ({exc}). Check the optimizer.* keys: {_settings(config)}") from exc


def check_loss_is_finite(loss: float, engine, batch) -> None:
    """Refuse a non-finite loss at step 0, naming the conditions whose residuals are not finite."""
    if math.isfinite(loss):
        return
    with torch.no_grad():
        per_condition = engine.condition_residuals(batch)
    bad = {name: int((~torch.isfinite(r)).sum()) for name, r in per_condition.items()}
    bad = {name: count for name, count in bad.items() if count} or {"(none; the parameters)": 0}
    raise NonFiniteError(
        f"step 0: the loss is {loss}. Non-finite residual values per condition: {bad}. The residual divides by "
        "zero or takes a log/sqrt of a negative number at these points."
    )


def parameters_without_gradient(engine, optimizer, batch) -> list[str]:
    """Names of trained parameter tensors that get an all-zero gradient from every residual (one backward)."""
    trained = {id(p) for group in optimizer.param_groups for p in group["params"] if p.requires_grad}
    names = [n for n, p in zip(engine.layout.names, engine.layout.tensors) if id(p) in trained]
    tensors = [p for p in engine.layout.tensors if id(p) in trained]
    if not tensors:
        return []
    with torch.enable_grad():
        loss = engine.loss(batch)
        if not loss.requires_grad:
            return names
        grads = torch.autograd.grad(loss, tensors, allow_unused=True)
    return [n for n, g in zip(names, grads) if g is None or not bool(g.any())]


class StopRequest:
    """Turns the first SIGINT/SIGTERM into a request to stop after the current step (a second one aborts)."""

    def __init__(self):
        self.requested, self._previous = False, {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def check_options(max_steps, log_every, checkpoint_every, eval_every, time_budget, jacobian, chunk_size,
                  divergence_factor) -> int:
    """Refuse bad ``trainer.*`` values with one line naming the key and the fix; returns ``eval_every``."""
    for name, value in [("max_steps", max_steps), ("log_every", log_every), ("checkpoint_every", checkpoint_every)]:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"trainer.{name} must be a positive integer, got {value}")
    if time_budget is not None and not float(time_budget) > 0:
        raise ConfigError(f"trainer.time_budget must be a positive number of seconds or null, got {time_budget}")
    if jacobian not in JACOBIAN_MODES:
        raise ConfigError(f"trainer.jacobian={jacobian} is not one of {JACOBIAN_MODES}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ConfigError(f"trainer.chunk_size={chunk_size}: give a positive number of points per chunk, or null for all")
    if divergence_factor is not None and not float(divergence_factor) > 1:
        raise ConfigError(f"trainer.divergence_factor={divergence_factor}: give a factor > 1, or null")
    eval_every = int(eval_every or log_every)
    if eval_every % log_every:
        raise ConfigError(f"trainer.eval_every ({eval_every}) must be a multiple of trainer.log_every ({log_every})")
    return eval_every
