"""The training loop: sample, step, log a row, let the callbacks act.

One seed fixes the initialisation (set by the caller before building the model), every point
drawn (:class:`~pinnsolve.engine.batches.BatchSampler`) and the optimizer's randomness (the global RNG,
saved in checkpoints). The loop stops at ``max_steps``, when the training time reaches
``time_budget`` seconds, on a stop request (Ctrl-C, SIGTERM) or when a callback asks it to;
evaluation, logging and checkpointing are not counted as training time. Natural-gradient optimizers
(``requires_jacobian = True``) receive an :class:`~pinnsolve.engine.EngineClosure`; first-order ones
a standard closure.

Everything else is a callback (:mod:`pinnsolve.training.callbacks`), called in this order: the
user's, then :class:`~.health.HealthWatch` (divergence and lack of progress),
:class:`~.loggers.LoggerForwarding`, :class:`~.progress.ProgressReport`,
:class:`~.checkpointing.Checkpointing`, :class:`~.summary.SummaryWriter` and :class:`~.plots.PlotWriter`.
"""

from __future__ import annotations

import copy
import logging
import re
import time
from pathlib import Path

import torch
from torch import nn

from ..engine import EngineClosure, ResidualEngine
from ..engine.batches import BatchSampler
from ..engine.evaluation import ErrorMetric
from ..errors import ConfigError, PinnsolveError
from ..geometry.unit_cube import apply_sampling
from ..models import for_problem
from ..problem import Problem, coefficients
from ..runs.files import MetricsLog
from . import distributed as dd
from .checkpointing import Checkpointing
from .environment import Environment
from .health import HealthWatch
from .loggers import LoggerForwarding
from .plots import PlotWriter
from .progress import ProgressReport
from .setup import StopRequest, build_optimizer, check_loss_is_finite, check_options, parameters_without_gradient, warnings_as_notices
from .state import TrainerState
from .summary import SummaryWriter, run_summary

log = logging.getLogger("pinnsolve")


class Trainer(TrainerState):
    """Trains ``model`` on ``problem`` and writes the run directory.

    Args:
        problem: the conditions to satisfy.
        model: the network (moved to ``device``/``dtype``).
        optimizer: a factory ``params -> torch.optim.Optimizer`` (Hydra ``_partial_``) or an optimizer.
        run_dir: where metrics, checkpoint, summary and plots go.
        max_steps: stop after this many steps.
        time_budget: stop once training time reaches this many seconds (``None``: no limit).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        dtype: ``float64`` (default) or ``float32``.
        seed: fixes the points drawn (the caller seeds the initialisation).
        resample: redraw non-fixed points every step.
        jacobian: ``auto``, ``fast`` or ``generic`` (see :class:`~pinnsolve.engine.ResidualEngine`).
        chunk_size: points per Jacobian chunk and per line-search pass (memory), ``None`` for all.
        log_every: steps between rows of ``metrics.csv`` (the loss is read, a host sync).
        eval_every: steps between error evaluations (a multiple of ``log_every``; default ``log_every``).
        checkpoint_every: steps between checkpoints.
        divergence_factor: stop as diverged when the loss exceeds this multiple of the step-0 loss
            (``None``: only non-finite losses and 1e10-fold spikes count).
        threads: CPU threads (``auto``: see :func:`~pinnsolve.device.resolve_threads`); logged in the summary.
        sampling: ``uniform``, ``sobol`` or ``halton`` for the shapes' points (``None``: the problem's own).
        backend: with several processes (torchrun): ``auto`` (NCCL on CUDA, gloo on the CPU), ``gloo``, ``nccl``.
        dist_timeout: seconds a rank waits for the others before the run fails (never a hang).
        progress: show the live progress display.
        plots: write PNG plots at the end.
        config: the resolved configuration, stored in checkpoints and used in messages.
        logger: a factory ``(run_dir, config) -> Logger`` (:mod:`pinnsolve.training.loggers`) that also gets every
            row of ``metrics.csv`` and the summary (on rank 0), or ``None``.
        callbacks: :class:`~pinnsolve.training.callbacks.Callback` objects (their state kept in checkpoints);
            one may end the run with :meth:`request_stop` (``status: stopped``).
    """

    def __init__(self, problem: Problem, model: nn.Module, optimizer, run_dir: str | Path, max_steps: int = 1000,
                 time_budget: float | None = None, device: str = "auto", dtype: str = "float64", seed: int = 0,
                 resample: bool = True, jacobian: str = "auto", chunk_size: int | None = None, log_every: int = 10,
                 eval_every: int | None = None, checkpoint_every: int = 100, divergence_factor: float | None = 1e4,
                 threads: int | str = "auto", sampling: str | None = None, backend: str = "auto",
                 dist_timeout: float = 600.0, progress: bool = True, plots: bool = True, config: dict | None = None,
                 logger=None, callbacks=None):
        eval_every = check_options(max_steps, log_every, checkpoint_every, eval_every, time_budget, jacobian, chunk_size,
                                   divergence_factor)
        self.environment = env = Environment.prepare(device, dtype, threads, backend, dist_timeout)
        self.device, self.dtype, self.distributed = env.device, env.dtype, env.distributed
        self.rank, self.world, self.is_main = env.rank, env.world, env.is_main
        self.run_dir, self.config, self.seed = Path(run_dir), config, seed
        self.notices: list[str] = []
        for message in env.notices:
            self.notice(message)
        self.problem = copy.deepcopy(problem) if sampling is not None else problem  # the caller's keeps its own
        try:
            untouched = apply_sampling(self.problem, sampling)
        except ValueError as exc:
            raise ConfigError(f"trainer.sampling={sampling}: {exc}") from exc
        if untouched:
            self.notice(f"trainer.sampling={sampling} does not reach the conditions {untouched}: their points are "
                        "data or fixed slices, not drawn from a shape; they are drawn as before")
        self.model = for_problem(model, self.problem).to(self.device, self.dtype)
        with warnings_as_notices(self.notice):
            self.optimizer = build_optimizer(optimizer, self.model, (config or {}).get("optimizer"))
        self.engine = ResidualEngine(self.problem, self.model, jacobian=jacobian, chunk_size=chunk_size)
        self.engine.group = torch.distributed.group.WORLD if self.distributed else None
        self.sampler = BatchSampler(self.problem, seed, self.device, self.dtype, resample=resample)
        reference = self.problem.reference
        self.metric = (ErrorMetric(self.problem.exact, self.sampler.eval_points, output_names=self.problem.output_names,
                                   values=None if reference is None else reference.values)
                       if self.problem.exact is not None or reference is not None else None)
        self.max_steps, self.time_budget = max_steps, None if time_budget is None else float(time_budget)
        self.log_every, self.eval_every, self.checkpoint_every = log_every, eval_every, checkpoint_every
        self.metrics = MetricsLog(self.run_dir / "metrics.csv", write=self.is_main)
        self.step, self.train_time, self.previous_wall_time = 0, 0.0, 0.0
        self.saved_step: int | None = None
        self.stop_status: str | None = None
        self.stop_reason: str | None = None
        self.final_state: dict | None = None
        self.user_callbacks = list(callbacks or [])
        self.health = HealthWatch(divergence_factor)
        self.callbacks = [*self.user_callbacks, self.health, *([LoggerForwarding(logger)] if logger else []),
                          ProgressReport(progress), Checkpointing(), SummaryWriter(), *([PlotWriter()] if plots else [])]

    # ---- one step and one row ----------------------------------------------------------------
    def _batch(self):
        """This step's points: this rank's slice of the whole batch drawn from the seed."""
        return dd.local_batch(self.sampler(), self.rank, self.world)

    def _loss(self, batch) -> torch.Tensor:
        """``½‖r‖²`` over all ranks' points (no graph)."""
        with torch.no_grad():
            return dd.all_reduce_sum(self.engine.loss(batch))

    def _step(self, batch) -> torch.Tensor:
        if getattr(self.optimizer, "requires_jacobian", False):
            return self.optimizer.step(EngineClosure(self.engine, batch, fresh_points=self.sampler.resamples))

        def closure():
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.engine.loss(batch)
            if loss.requires_grad:  # a loss no parameter reaches has zero gradients (reported at step 0)
                loss.backward()
            if self.distributed:  # the gradient and value of the loss over all ranks' points
                dd.sum_gradients(self.model.parameters(), self.device)
                loss = dd.all_reduce_sum(loss.detach())
            return loss

        return self.optimizer.step(closure).detach()

    def evaluate(self) -> dict[str, float]:
        """Errors against the exact solution and the problem's own metrics, as floats (a sync)."""
        values = dict(self.metric(self.model)) if self.metric is not None else {}
        if self.problem.metrics is not None:
            with torch.no_grad():
                values.update(self.problem.metrics(self.model))
        return {k: float(v) for k, v in values.items()}

    def _log(self, loss: float) -> None:
        """One row of ``metrics.csv`` (errors on evaluation steps with a finite loss), then ``on_log``."""
        row = {"step": self.step, "time_s": f"{self.train_time:.6f}", "loss": loss}
        if self.step % self.eval_every == 0 and loss == loss and abs(loss) != float("inf"):
            row.update(self.evaluate())
        row.update(coefficients.values(self.model))
        row.update({key: float(value) for key, value in getattr(self.optimizer, "diagnostics", {}).items()})
        self.metrics.append(row)
        self._call("on_log", row)

    def _call(self, hook: str, *args) -> None:
        """Every callback's ``hook(self, *args)`` in order (a callback without that hook is skipped)."""
        for callback in self.callbacks:
            method = getattr(callback, hook, None)
            if method is not None:
                method(self, *args)

    def request_stop(self, reason: str, status: str = "stopped") -> None:
        """End the run after the current step with ``status`` (``stopped``) and ``reason`` (a callback's way)."""
        if self.stop_status is None or status == "diverged":
            self.stop_status, self.stop_reason = status, reason

    def notice(self, message: str) -> None:
        """Say ``message`` in the log and in ``summary.json``'s notices."""
        self.notices.append(message)
        log.warning(message)

    def _warned(self, message: str) -> None:
        """A warning raised during a step, said as a notice once (not again at every later step)."""
        if not any(re.sub(r"^step \d+: ", "", said) == message for said in self.notices):
            self.notice(f"step {self.step + 1}: {message}")

    # ---- the loop ------------------------------------------------------------------------------
    def fit(self, resume: str | Path | None = None) -> dict:
        """Train until ``max_steps``, ``time_budget``, a stop request or divergence; returns the summary
        (also in ``summary.json``; ``status`` is ``finished``, ``interrupted``, ``stopped`` or ``diverged``).

        Raises:
            ProcessGroupError: with several processes, when another one is gone (the checkpoint stays whole).
        """
        try:
            self._make_run_dir()
            if resume:
                self.load(resume)
                if self._done():
                    return self._nothing_to_do()
            self._call("on_fit_start")
            self._wall_start = time.perf_counter()
            return self._finish(self._train())
        except Exception as exc:
            if self.distributed and not isinstance(exc, PinnsolveError) and dd.lost_contact(exc):
                raise self._lost_contact(exc) from exc
            raise
        finally:
            self._call("on_teardown")

    def _train(self) -> str:
        """The steps; returns the status the loop ended with."""
        with StopRequest() as stop:
            while not self._done():
                batch = self._batch()
                if self.step == 0 and not self.metrics.rows:
                    self._first_row(batch)
                start = time.perf_counter()
                self._call("on_batch", batch)
                with warnings_as_notices(self._warned):
                    loss = self._step(batch)
                self.step += 1
                logging_now = self.step % self.log_every == 0 or self.step % self.checkpoint_every == 0 or self.step == self.max_steps
                loss_value = float(loss) if logging_now else None  # the one host sync per logged step
                self.train_time += time.perf_counter() - start
                if logging_now:
                    self._log(loss_value)
                if self.stop_status is not None:  # a callback's request, the same on every rank
                    return self.stop_status
                if dd.all_reduce_flag(stop.requested, self.device) if logging_now and self.distributed else stop.requested:
                    return "interrupted"
        return "finished"

    def _first_row(self, batch) -> None:
        """Row 0: the initial loss (a non-finite one means a broken residual) and parameters no residual reaches."""
        loss = float(self._loss(batch))
        check_loss_is_finite(loss, self.engine, batch)
        self._log(loss)
        unreached = parameters_without_gradient(self.engine, self.optimizer, batch)
        if unreached:
            self.notice(f"no residual depends on the parameters {unreached} (an all-zero column of J): they cannot "
                        "move. Check that the residuals read the network they belong to.")

    def _finish(self, status: str) -> dict:
        """The final row (loss on fresh points, errors), :attr:`final_state`, the summary and ``on_fit_end``."""
        wall_time = self.wall_time()
        self.final_state = self.health.kept_checkpoint(self, wall_time) if status == "diverged" else None
        generator_state = self.sampler.state_dict()
        batch = self._batch()  # a fresh batch for the final loss, without moving the run's RNG on
        self.sampler.load_state_dict(generator_state)
        final = {"loss": float(self._loss(batch)), **self.evaluate(), **coefficients.values(self.model)}
        row = next((r for r in self.metrics.rows if int(r["step"]) == self.step), None)
        if row is None:  # a stop between logged steps: the row is for metrics.csv, not for a resume to continue
            self.final_state = self.final_state or self.state(wall_time)
            self.metrics.append({"step": self.step, "time_s": f"{self.train_time:.6f}", **final})
        elif status != "diverged":
            row.update({k: v for k, v in final.items() if k != "loss" and row.get(k) in ("", None)})
        self.final_state = self.final_state or self.state(wall_time)
        summary = run_summary(self, status, wall_time, final)
        if status == "stopped":
            self.notice(f"stopped at step {self.step}: {self.stop_reason}")
        self._call("on_fit_end", summary)
        return summary
