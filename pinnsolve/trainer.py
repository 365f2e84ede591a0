"""The training loop: sample, step, evaluate, log, checkpoint, resume.

One seed fixes the initialisation (set by the caller before building the model), every point
drawn (:class:`~pinnsolve.batches.BatchSampler`) and the optimizer's randomness (the global RNG,
saved in checkpoints). The loop stops at ``max_steps`` or when the training time reaches
``time_budget`` seconds; evaluation, logging and checkpointing are not counted as training time.
Natural-gradient optimizers (``requires_jacobian = True``) receive an
:class:`~pinnsolve.optim.closure.EngineClosure`; first-order ones a standard closure.
"""

from __future__ import annotations

import math
import signal
import time
from pathlib import Path

import torch
from torch import nn

from . import plots
from .batches import BatchSampler
from .checkpoint import CHECKPOINT_NAME, load_checkpoint, locate_checkpoint, rng_state, save_checkpoint, set_rng_state
from .device import resolve_device, resolve_dtype, strict_float_math
from .engine import ResidualEngine
from .errors import ConfigError, NonFiniteError
from .evaluation import ErrorMetric
from .problem import Problem
from .progress import ProgressDisplay
from .run_files import MetricsLog, write_json


class _StopRequest:
    """Turns the first SIGINT/SIGTERM into a request to stop after the current step."""

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


class Trainer:
    """Trains ``model`` on ``problem`` and writes the run directory.

    Args:
        problem: the conditions to satisfy.
        model: the network (moved to ``device``/``dtype``).
        optimizer: a factory ``params -> torch.optim.Optimizer`` (Hydra ``_partial_``).
        run_dir: where metrics, checkpoint, summary and plots go.
        max_steps: stop after this many steps.
        time_budget: stop once training time reaches this many seconds (``None``: no limit).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        dtype: ``float64`` (default) or ``float32``.
        seed: fixes the points drawn (the caller seeds the initialisation).
        resample: redraw non-fixed points every step.
        jacobian: ``auto``, ``fast`` or ``generic`` (see :class:`~pinnsolve.engine.ResidualEngine`).
        chunk_size: points per Jacobian chunk (``None``: all at once).
        log_every: steps between rows of ``metrics.csv`` (the loss is read, a host sync).
        eval_every: steps between error evaluations (a multiple of ``log_every``; default ``log_every``).
        checkpoint_every: steps between checkpoints.
        progress: show the live progress display.
        plots: write PNG plots at the end.
        config: the resolved configuration, stored in checkpoints and the summary.
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
        progress: bool = True,
        plots: bool = True,
        config: dict | None = None,
    ):
        for name, value in [("max_steps", max_steps), ("log_every", log_every), ("checkpoint_every", checkpoint_every)]:
            if int(value) < 1:
                raise ConfigError(f"trainer.{name} must be a positive integer, got {value}")
        if time_budget is not None and not float(time_budget) > 0:
            raise ConfigError(f"trainer.time_budget must be a positive number of seconds or null, got {time_budget}")
        eval_every = int(eval_every or log_every)
        if eval_every % int(log_every):
            raise ConfigError(f"trainer.eval_every ({eval_every}) must be a multiple of trainer.log_every ({log_every})")
        self.device, self.dtype = resolve_device(device), resolve_dtype(dtype)
        strict_float_math()
        self.problem, self.run_dir = problem, Path(run_dir)
        self.model = model.to(self.device, self.dtype)
        self.optimizer = optimizer(params=self.model.parameters()) if callable(optimizer) and not isinstance(optimizer, torch.optim.Optimizer) else optimizer
        self.engine = ResidualEngine(problem, self.model, jacobian=jacobian, chunk_size=chunk_size)
        self.sampler = BatchSampler(problem, seed, self.device, self.dtype, resample=resample)
        self.metric = ErrorMetric(problem.exact, self.sampler.eval_points) if problem.exact is not None else None
        self.max_steps, self.time_budget = int(max_steps), None if time_budget is None else float(time_budget)
        self.log_every, self.eval_every, self.checkpoint_every = int(log_every), eval_every, int(checkpoint_every)
        self.show_progress, self.make_plots, self.config, self.seed = progress, plots, config, seed
        self.metrics = MetricsLog(self.run_dir / "metrics.csv")
        self.step, self.train_time = 0, 0.0

    # ---- one step ----------------------------------------------------------------------------
    def _step(self, batch) -> torch.Tensor:
        if getattr(self.optimizer, "requires_jacobian", False):
            from .optim.closure import EngineClosure

            return self.optimizer.step(EngineClosure(self.engine, batch))

        def closure():
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.engine.loss(batch)
            loss.backward()
            return loss

        loss = self.optimizer.step(closure)
        return loss.detach()

    # ---- checks and records ----------------------------------------------------------------------
    def _check_finite(self, loss: float, batch) -> None:
        if math.isfinite(loss):
            return
        with torch.no_grad():
            per_condition = self.engine.condition_residuals(batch)
        bad = {name: int((~torch.isfinite(r)).sum()) for name, r in per_condition.items()}
        bad = {name: count for name, count in bad.items() if count} or {"(none; the parameters)": 0}
        raise NonFiniteError(
            f"step {self.step}: the loss is {loss}. Non-finite residual values per condition: {bad}. "
            "If this happens at step 0, the residual divides by zero or takes a log/sqrt of a negative "
            "number; later, the step is too large: lower the learning rate or raise the damping."
        )

    def _record(self, loss: float, batch, evaluate: bool) -> dict:
        row = {"step": self.step, "time_s": f"{self.train_time:.6f}", "loss": float(loss)}
        self._check_finite(row["loss"], batch)
        if evaluate:
            row.update(self._evaluate())
        for key, value in getattr(self.optimizer, "diagnostics", {}).items():
            row[key] = float(value)
        self.metrics.append(row)
        return row

    def _evaluate(self) -> dict[str, float]:
        """Errors against the exact solution and the problem's own metrics, as floats (a sync)."""
        values = {}
        if self.metric is not None:
            values.update(self.metric(self.model))
        if self.problem.metrics is not None:
            with torch.no_grad():
                values.update(self.problem.metrics(self.model))
        return {k: float(v) for k, v in values.items()}

    def _state(self) -> dict:
        return {
            "step": self.step,
            "train_time": self.train_time,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "sampler": self.sampler.state_dict(),
            "rng": rng_state(),
            "seed": self.seed,
            "problem": self.problem.name,
        }

    def _save(self) -> None:
        save_checkpoint(self.run_dir / CHECKPOINT_NAME, self._state())
        self.metrics.flush()

    def load(self, resume: str | Path) -> None:
        """Continue from a checkpoint file or a run directory holding one."""
        state = load_checkpoint(locate_checkpoint(resume))
        if state.get("problem") != self.problem.name:
            raise ConfigError(f"resume: the checkpoint is of problem '{state.get('problem')}', this run is '{self.problem.name}'")
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise ConfigError(f"resume: the checkpoint does not fit this model/optimizer ({exc}); resume with the run's own configuration") from exc
        self.sampler.load_state_dict(state["sampler"])
        set_rng_state(state["rng"])
        self.step, self.train_time = int(state["step"]), float(state["train_time"])
        self.metrics.load(self.step)

    # ---- the loop ------------------------------------------------------------------------------
    def fit(self, resume: str | Path | None = None) -> dict:
        """Train until ``max_steps`` or ``time_budget``; returns the summary (also in ``summary.json``)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if resume:
            self.load(resume)
        wall_start, status = time.perf_counter(), "finished"
        last_row, last_log = None, (self.step, self.train_time)
        display = ProgressDisplay(f"{self.problem.name}", self.max_steps, self.show_progress)
        with _StopRequest() as stop, display:
            while self.step < self.max_steps and (self.time_budget is None or self.train_time < self.time_budget):
                batch = self.sampler()
                if self.step == 0 and not self.metrics.rows:
                    with torch.no_grad():
                        last_row = self._record(float(self.engine.loss(batch)), batch, evaluate=True)
                start = time.perf_counter()
                loss = self._step(batch)
                self.step += 1
                checkpointing = self.step % self.checkpoint_every == 0
                logging = checkpointing or self.step % self.log_every == 0 or self.step == self.max_steps
                if logging:
                    loss_value = float(loss)  # the one host sync per logged step
                self.train_time += time.perf_counter() - start
                if logging:
                    last_row = self._record(loss_value, batch, evaluate=self.step % self.eval_every == 0)
                    per_step = (self.train_time - last_log[1]) / max(1, self.step - last_log[0])
                    last_log = (self.step, self.train_time)
                    left = [(self.max_steps - self.step) * per_step]
                    if self.time_budget is not None:
                        left.append(self.time_budget - self.train_time)
                    display.update(self.step, loss_value, last_row.get("l2_rms"), per_step, min(left), force_line=checkpointing)
                    if checkpointing:
                        self._save()
                    else:
                        self.metrics.flush_if_due()
                if stop.requested:
                    status = "interrupted"
                    break
        return self._finish(status, time.perf_counter() - wall_start)

    def _finish(self, status: str, wall_time: float) -> dict:
        generator_state = self.sampler.state_dict()
        batch = self.sampler()  # a fresh batch for the final loss, without moving the run's RNG on
        self.sampler.load_state_dict(generator_state)
        with torch.no_grad():
            final = {"loss": float(self.engine.loss(batch))}
        final.update(self._evaluate())
        row = next((r for r in self.metrics.rows if int(r["step"]) == self.step), None)
        if row is None:
            self.metrics.append({"step": self.step, "time_s": f"{self.train_time:.6f}", **final})
        else:
            row.update({k: v for k, v in final.items() if k != "loss" and row.get(k) in ("", None)})
        self._save()
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
            "num_params": self.engine.num_params,
            "n_points": self.problem.n_points,
            "jacobian_paths": self.engine.paths(),
            "seed": self.seed,
            "torch": torch.__version__,
        }
        write_json(self.run_dir / "summary.json", summary)
        if self.make_plots:
            plots.write_all(self.run_dir, self.metrics, self.problem, self.model, self.metric)
        return summary
