"""The training loop: sample, step, watch, log, checkpoint, resume.

One seed fixes the initialisation (set by the caller before building the model), every point
drawn (:class:`~pinnsolve.engine.batches.BatchSampler`) and the optimizer's randomness (the global RNG,
saved in checkpoints). The loop stops at ``max_steps``, when the training time reaches
``time_budget`` seconds, on a stop request (Ctrl-C, SIGTERM), or when the run diverges
(:mod:`pinnsolve.training.health`); evaluation, logging and checkpointing are not counted as training time.
Natural-gradient optimizers (``requires_jacobian = True``) receive an
:class:`~pinnsolve.optim.closure.EngineClosure`; first-order ones a standard closure.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import time
from pathlib import Path

import torch
from torch import nn

from ..problem import coefficients
from . import distributed as dd
from . import plots
from .allocator import keep_freed_memory
from ..engine.batches import BatchSampler
from ..runs.checkpoint import (CHECKPOINT_NAME, check_compatible, check_weights, load_checkpoint, locate_checkpoint,
                         optimizer_name)
from ..runs.checkpoint import rng_state, save_checkpoint, set_rng_state
from ..device import available_cpus, resolve_device, resolve_dtype, resolve_threads, strict_float_math
from ..engine import EngineClosure, ResidualEngine
from ..errors import ConfigError, PinnsolveError, ProcessGroupError, RunDirectoryError
from ..engine.evaluation import ErrorMetric
from .health import RunHealth
from ..models import for_problem
from ..problem import Problem
from .progress import ProgressDisplay
from ..runs.files import MetricsLog, write_json
from ..geometry.unit_cube import apply_sampling
from .setup import (StopRequest, build_optimizer, check_loss_is_finite, check_options,
                            parameters_without_gradient, warnings_as_notices)

log = logging.getLogger("pinnsolve")


def _without_step(message: str) -> str:
    return re.sub(r"^step \d+: ", "", message)


class Trainer:
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
        backend: with several processes (torchrun): ``auto`` (NCCL on CUDA, gloo on the CPU), ``gloo``, ``nccl``.
        dist_timeout: seconds a rank waits for the others before the run fails (never a hang).
        progress: show the live progress display.
        plots: write PNG plots at the end.
        config: the resolved configuration, stored in checkpoints and used in messages.
        logger: a factory ``(run_dir, config) -> Logger`` (:mod:`pinnsolve.training.loggers`) that also gets every
            row of ``metrics.csv`` and the summary (on rank 0), or ``None``.
        callbacks: :class:`~pinnsolve.training.callbacks.Callback` objects (``on_fit_start``, ``on_log``,
            ``on_fit_end``, their state kept in checkpoints); one may end the run with
            :meth:`request_stop` (``status: stopped``).
    """

    def __init__(
        self,
        problem: Problem,
        model: nn.Module,
        optimizer,
        run_dir: str | Path,
        max_steps: int = 1000,
        time_budget: float | None = None,
        device: str = "auto",
        dtype: str = "float64",
        seed: int = 0,
        resample: bool = True,
        jacobian: str = "auto",
        chunk_size: int | None = None,
        log_every: int = 10,
        eval_every: int | None = None,
        checkpoint_every: int = 100,
        divergence_factor: float | None = 1e4,
        threads: int | str = "auto",
        sampling: str | None = None,
        backend: str = "auto",
        dist_timeout: float = 600.0,
        progress: bool = True,
        plots: bool = True,
        config: dict | None = None,
        logger=None,
        callbacks=None,
    ):
        eval_every = check_options(max_steps, log_every, checkpoint_every, eval_every, time_budget, jacobian, chunk_size,
                                   divergence_factor)
        self.device, self.dtype = dd.local_device(resolve_device(device)), resolve_dtype(dtype)
        self.distributed = dd.initialise(self.device, backend, dist_timeout)
        self.rank, self.world = dd.rank(), dd.world_size()
        self.is_main = self.rank == 0
        self.threads, self.threads_reason = resolve_threads(threads)
        torch.set_num_threads(self.threads)
        self.cpu_allocator = keep_freed_memory() if self.device.type == "cpu" else "not used (GPU)"
        strict_float_math()
        self.problem, self.run_dir, self.config, self.seed = problem, Path(run_dir), config, seed
        if sampling is not None:  # the setting is this run's: the caller's problem object keeps its own
            problem = self.problem = copy.deepcopy(problem)
        try:
            untouched = apply_sampling(problem, sampling)
        except ValueError as exc:
            raise ConfigError(f"trainer.sampling={sampling}: {exc}") from exc
        self.notices: list[str] = []
        self.model = for_problem(model, problem).to(self.device, self.dtype)
        with warnings_as_notices(self._notice):
            self.optimizer = build_optimizer(optimizer, self.model, (config or {}).get("optimizer"))
        self.engine = ResidualEngine(problem, self.model, jacobian=jacobian, chunk_size=chunk_size)
        self.engine.group = torch.distributed.group.WORLD if self.distributed else None
        self.sampler = BatchSampler(problem, seed, self.device, self.dtype, resample=resample)
        self.metric = (ErrorMetric(problem.exact, self.sampler.eval_points, output_names=problem.output_names)
                       if problem.exact is not None else None)
        self.max_steps, self.time_budget = max_steps, None if time_budget is None else float(time_budget)
        self.log_every, self.eval_every, self.checkpoint_every = log_every, eval_every, checkpoint_every
        self.show_progress, self.make_plots = progress, plots
        self.metrics = MetricsLog(self.run_dir / "metrics.csv", write=self.is_main)
        self.health = RunHealth(divergence_factor)
        self.step, self.train_time, self.previous_wall_time = 0, 0.0, 0.0
        self.saved_step: int | None = None
        cpus = available_cpus()
        if self.device.type == "cpu" and self.threads > cpus:
            self._notice(f"trainer.threads={self.threads} but this process may run on {cpus} CPUs: threads beyond them "
                         "wait for each other at every parallel region (a run with 1000 threads on 2 CPUs was 80x "
                         f"slower). Use trainer.threads=auto or at most {cpus}")
        if untouched:
            self._notice(f"trainer.sampling={sampling} does not reach the conditions {untouched}: their points are "
                         "data or fixed slices, not drawn from a shape; they are drawn as before")
        self._healthy: tuple[int, dict] | None = None
        self._logger_factory, self.logger = logger, None
        self.callbacks = list(callbacks or [])
        self._stop_reason: str | None = None

    # ---- one step ----------------------------------------------------------------------------
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

        loss = self.optimizer.step(closure)
        return loss.detach()

    # ---- records and state ---------------------------------------------------------------------
    def _record(self, loss: float, evaluate: bool) -> dict:
        row = {"step": self.step, "time_s": f"{self.train_time:.6f}", "loss": float(loss)}
        if evaluate:
            row.update(self._evaluate())
        row.update(coefficients.values(self.model))
        for key, value in getattr(self.optimizer, "diagnostics", {}).items():
            row[key] = float(value)
        self.metrics.append(row)
        if self.logger is not None:
            self.logger.log(self.step, row)
        self._call("on_log", row)
        return row

    def _call(self, hook: str, *args) -> None:
        """Every callback's ``hook(self, *args)`` (a callback without that hook is skipped)."""
        for callback in self.callbacks:
            method = getattr(callback, hook, None)
            if method is not None:
                method(self, *args)

    def request_stop(self, reason: str) -> None:
        """End the run after the current step with ``status: stopped`` and ``reason`` (a callback's way)."""
        self._stop_reason = self._stop_reason or reason

    def notice(self, message: str) -> None:
        """Say ``message`` in the log and in ``summary.json``'s notices."""
        self._notice(message)

    def _callback_states(self) -> dict:
        return {f"{i}:{type(c).__name__}": c.state_dict() for i, c in enumerate(self.callbacks) if hasattr(c, "state_dict")}

    def _evaluate(self) -> dict[str, float]:
        """Errors against the exact solution and the problem's own metrics, as floats (a sync)."""
        values = {}
        if self.metric is not None:
            values.update(self.metric(self.model))
        if self.problem.metrics is not None:
            with torch.no_grad():
                values.update(self.problem.metrics(self.model))
        return {k: float(v) for k, v in values.items()}

    def _state(self, wall_time: float) -> dict:
        return {
            "step": self.step,
            "train_time": self.train_time,
            "wall_time": wall_time,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "optimizer_class": optimizer_name(self.optimizer),
            "sampler": self.sampler.state_dict(),
            "rng": rng_state(),
            "seed": self.seed,
            "problem": self.problem.name,
            "metrics": self.metrics.state_dict(),
            "health": self.health.state_dict(),
            "callbacks": self._callback_states(),
            "config": self.config,
        }

    def _restore(self, state: dict, metrics: bool = True) -> None:
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise ConfigError(f"resume: the checkpoint does not fit this model/optimizer ({exc}); resume with the run's own configuration") from exc
        self.sampler.load_state_dict(state["sampler"])
        set_rng_state(state["rng"])
        self.step, self.train_time = int(state["step"]), float(state["train_time"])
        self.health.load_state_dict(state.get("health", {}))
        if not metrics:
            return
        saved = state.get("callbacks", {})
        for i, callback in enumerate(self.callbacks):  # a resume: each callback continues where it was
            key = f"{i}:{type(callback).__name__}"
            if key in saved and hasattr(callback, "load_state_dict"):
                callback.load_state_dict(saved[key])
        if "metrics" in state:
            self.metrics.load_state_dict(state["metrics"])
        else:  # a checkpoint of an earlier version: its rows are in metrics.csv
            self.metrics.load(self.step)

    def _save(self, wall_time: float, state: dict | None = None) -> None:
        state = state if state is not None else self._state(wall_time)
        if self.is_main:  # every rank holds the same state; one writes it
            save_checkpoint(self.run_dir / CHECKPOINT_NAME, state)
        self.saved_step = int(state["step"])
        self.metrics.flush()

    def _lost_contact(self, exc: BaseException) -> ProcessGroupError:
        """The error for a collective that failed because another process of the run is gone."""
        saved = (f"The checkpoint holds step {self.saved_step} and is whole" if self.saved_step is not None
                 else "No checkpoint was written yet")
        return ProcessGroupError(
            f"rank {self.rank} of {self.world} stopped at step {self.step}: another process of this run failed, was "
            f"killed or stopped answering ({dd.describe(exc)}); its own error, or torchrun's summary with its rank "
            f"and exit code, says why. {saved}: fix the cause, then continue with torchrun --nproc-per-node={self.world} "
            f"-m pinnsolve resume={self.run_dir}"
        )

    def load(self, resume: str | Path) -> None:
        """Continue from a checkpoint file or a run directory holding one."""
        path = locate_checkpoint(resume)
        state = load_checkpoint(path)
        self.saved_step = int(state["step"])
        check_compatible(state, path, self.problem.name, self.optimizer)
        check_weights(state["model"], self.model, f"resume: the checkpoint {path}")
        try:
            self._restore(state)
        except PinnsolveError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
            raise ConfigError(f"resume: the checkpoint {path} is damaged or was not written by pinnsolve "
                              f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); use an "
                              "earlier copy of the run, or start a new one") from exc
        self.previous_wall_time = float(state.get("wall_time", 0.0))

    def _start_logger(self):
        """The configured logger; one that cannot start (a refused URI, a server that does not answer) is an error."""
        try:
            return self._logger_factory(run_dir=self.run_dir, config=self.config)
        except PinnsolveError:
            raise
        except Exception as exc:  # noqa: BLE001 - the logging library's own errors, said in one line
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            settings = ", ".join(f"logger.{k}={v}" for k, v in ((self.config or {}).get("logger") or {}).items()
                                 if not k.startswith("_"))
            raise ConfigError(f"cannot start the logger ({type(exc).__name__}: {first[:300]}); check {settings or 'the logger.* settings'}, "
                              "or log to metrics.csv only with logger=csv") from exc

    def _done(self) -> bool:
        return self.step >= self.max_steps or (self.time_budget is not None and self.train_time >= self.time_budget)

    # ---- the loop ------------------------------------------------------------------------------
    def fit(self, resume: str | Path | None = None) -> dict:
        """Train until ``max_steps``, ``time_budget``, a stop request or divergence; returns the summary
        (also in ``summary.json``; ``status`` is ``finished``, ``interrupted`` or ``diverged``).

        Raises:
            ProcessGroupError: with several processes, when another one is gone (the checkpoint stays whole).
        """
        try:
            return self._fit(resume)
        except Exception as exc:
            if self.distributed and not isinstance(exc, PinnsolveError) and dd.lost_contact(exc):
                raise self._lost_contact(exc) from exc
            raise

    def _fit(self, resume: str | Path | None) -> dict:
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirectoryError(f"cannot create the run directory {self.run_dir} ({exc.strerror or exc}); choose a "
                                    "writable place (hydra.run.dir=… on the command line, run_dir= in solve())") from exc
        if resume:
            self.load(resume)
            if self._done():
                return self._nothing_to_do()
            self._remember_healthy_state()  # a divergence at the first logged step returns here
        if self._logger_factory is not None and self.is_main:
            self.logger = self._start_logger()
        self._call("on_fit_start")
        wall_start, status, diverged = time.perf_counter(), "finished", None
        wall = lambda: self.previous_wall_time + time.perf_counter() - wall_start  # noqa: E731
        last_log = (self.step, self.train_time)
        display = ProgressDisplay(f"{self.problem.name}", self.max_steps, self.show_progress and self.is_main)
        with StopRequest() as stop, display:
            while not self._done():
                batch = self._batch()
                if self.step == 0 and not self.metrics.rows:
                    self._first_record(batch)
                start = time.perf_counter()
                with warnings_as_notices(self._warned):
                    loss = self._step(batch)
                self.step += 1
                checkpointing = self.step % self.checkpoint_every == 0
                logging_now = checkpointing or self.step % self.log_every == 0 or self.step == self.max_steps
                if logging_now:
                    loss_value = float(loss)  # the one host sync per logged step
                self.train_time += time.perf_counter() - start
                if logging_now:
                    reason = self.health.check(self.step, loss_value)
                    row = self._record(loss_value, evaluate=reason is None and self.step % self.eval_every == 0)
                    if reason is not None:
                        status, diverged = "diverged", reason
                        break
                    warning = self.health.watch(self.step, loss_value, row)
                    if warning is not None:
                        row["warning"] = warning
                        self.metrics.append_column("warning")
                        self._notice(f"step {self.step}: {RunHealth.explain(warning, self.health.relative_damping)}.")
                        display.note(f"{self.problem.name} step {self.step}: {warning} (see notices)")
                    self._remember_healthy_state()
                    per_step = (self.train_time - last_log[1]) / max(1, self.step - last_log[0])
                    last_log = (self.step, self.train_time)
                    left = [(self.max_steps - self.step) * per_step]
                    if self.time_budget is not None:
                        left.append(self.time_budget - self.train_time)
                    display.update(self.step, loss_value, row.get("l2_rms"), per_step, min(left), force_line=checkpointing)
                    if checkpointing:
                        self._save(wall())
                    else:
                        self.metrics.flush_if_due()
                if self._stop_reason is not None:  # a callback's request, the same on every rank
                    status = "stopped"
                    break
                if (dd.all_reduce_flag(stop.requested, self.device) if logging_now and self.distributed else stop.requested):
                    status = "interrupted"
                    break
        return self._finish(status, wall(), diverged)

    def _first_record(self, batch) -> None:
        """Row 0: the initial loss (a non-finite one means a broken residual) and parameters no residual reaches."""
        loss = float(self._loss(batch))
        check_loss_is_finite(loss, self.engine, batch)
        self.health.check(0, loss)
        self._record(loss, evaluate=True)
        unreached = parameters_without_gradient(self.engine, self.optimizer, batch)
        if unreached:
            self._notice(f"no residual depends on the parameters {unreached} (an all-zero column of J): they cannot "
                         "move. Check that the residuals read the network they belong to.")
        self._remember_healthy_state()

    def _remember_healthy_state(self) -> None:
        """A copy of the state at this (healthy) logged step, kept in memory for a divergence."""
        state = self._state(0.0)
        metrics = state.pop("metrics")
        self._healthy = (self.step, copy.deepcopy(state), len(metrics["rows"]))

    def _notice(self, message: str) -> None:
        self.notices.append(message)
        log.warning(message)

    def _warned(self, message: str) -> None:
        """A warning raised during a step, said as a notice once (not again at every later step)."""
        if not any(_without_step(said) == message for said in self.notices):
            self._notice(f"step {self.step + 1}: {message}")

    def _nothing_to_do(self) -> dict:
        self._notice(f"nothing to do: the run already has {self.step} steps (trainer.max_steps={self.max_steps}"
                     f"{'' if self.time_budget is None else f', time_budget={self.time_budget:g} s'}); raise "
                     "trainer.max_steps (or trainer.time_budget) to continue it. Its results are unchanged.")
        try:
            summary = json.loads((self.run_dir / "summary.json").read_text())
        except (OSError, ValueError):
            summary = {"problem": self.problem.name, "status": "finished", "steps": self.step,
                       "train_time_s": self.train_time, "final": {}}
        summary["notices"] = list(self.notices)
        return summary

    def _finish(self, status: str, wall_time: float, diverged: str | None) -> dict:
        checkpoint_state = None
        if diverged is not None:
            good_step, good_state, n_rows = self._healthy
            self._notice(f"the run diverged: {diverged}. Kept the state of step {good_step} as the checkpoint; "
                         f"{RunHealth.advice((self.config or {}).get('optimizer'))}.")
            metrics = self.metrics.state_dict()
            self._restore(good_state, metrics=False)  # metrics.csv keeps the diverged rows; the checkpoint's end at good_step
            checkpoint_state = dict(good_state, wall_time=wall_time,
                                    metrics={"columns": metrics["columns"], "rows": metrics["rows"][:n_rows]})
        generator_state = self.sampler.state_dict()
        batch = self._batch()  # a fresh batch for the final loss, without moving the run's RNG on
        self.sampler.load_state_dict(generator_state)
        final = {"loss": float(self._loss(batch))}
        final.update(self._evaluate())
        final.update(coefficients.values(self.model))
        row = next((r for r in self.metrics.rows if int(r["step"]) == self.step), None)
        if row is None:  # a stop between logged steps: the row is for metrics.csv, not for a resume to continue
            if checkpoint_state is None:
                checkpoint_state = self._state(wall_time)
            self.metrics.append({"step": self.step, "time_s": f"{self.train_time:.6f}", **final})
        elif diverged is None:
            row.update({k: v for k, v in final.items() if k != "loss" and row.get(k) in ("", None)})
        self._save(wall_time, checkpoint_state)
        summary = {
            "problem": self.problem.name,
            "optimizer": type(self.optimizer).__name__,
            "status": status,
            "steps": self.step,
            "train_time_s": self.train_time,
            "wall_time_s": wall_time,
            "final": final,
            "device": str(self.device),
            "device_name": torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu",
            "dtype": str(self.dtype).replace("torch.", ""),
            "threads": self.threads,
            "threads_reason": self.threads_reason,
            "cpu_allocator": self.cpu_allocator,
            "num_params": self.engine.num_params,
            "n_points": self.problem.n_points,
            "jacobian_paths": self.engine.paths(),
            "seed": self.seed,
            "torch": torch.__version__,
            "notices": list(self.notices),
        }
        if status == "stopped":
            summary["stopped"] = self._stop_reason
            self._notice(f"stopped at step {self.step}: {self._stop_reason}")
        self._call("on_fit_end", summary)
        summary["notices"] = list(self.notices)
        if diverged is not None:
            summary["diverged"] = {"reason": diverged, "kept_step": self.step,
                                   "advice": RunHealth.advice((self.config or {}).get("optimizer"))}
        if self.distributed:
            summary["processes"] = self.world
        if not self.is_main:
            return summary
        write_json(self.run_dir / "summary.json", summary)
        if self.logger is not None:
            self.logger.finish(summary)
        if self.make_plots:
            plots.write_all(self.run_dir, self.metrics, self.problem, self.model, self.metric)
        return summary
