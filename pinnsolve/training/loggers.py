"""Loggers: every row of ``metrics.csv`` also sent to TensorBoard, MLflow or Weights & Biases.

``metrics.csv`` is always written (it is what a resume continues); ``logger=`` adds one more place:

=================  ==========================================================  =======================
``logger=``        where                                                       extra
=================  ==========================================================  =======================
``csv``            nothing more (the default)                                  —
``tensorboard``    event files in ``<run dir>/tensorboard``                    ``pinnsolve[tensorboard]``
``mlflow``         a local file store, ``<run dir>/mlruns`` by default          ``pinnsolve[mlflow]``
``wandb``          an offline run in ``<run dir>/wandb`` (``wandb sync`` later)  ``pinnsolve[wandb]``
=================  ==========================================================  =======================

One small interface: ``log(step, values)`` per logged row (numbers only), ``finish(summary)`` once.
A logger whose package is missing is a clear error naming the extra to install.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

from ..errors import ConfigError, PinnsolveError
from .callbacks import Callback


def _require(module: str, extra: str):
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        raise ConfigError(f"logger={extra} needs the package '{module.split('.')[0]}': pip install \"pinnsolve[{extra}]\" "
                          "(or logger=csv)") from None


def _numbers(values: dict) -> dict[str, float]:
    out = {}
    for key, value in values.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if key not in ("step", "time_s") and math.isfinite(number):
            out[key] = number
    return out


class Logger:
    """The interface (and ``logger=csv``: nothing beyond ``metrics.csv``)."""

    def __init__(self, run_dir: str | Path, config: dict | None = None):
        self.run_dir = Path(run_dir)

    def log(self, step: int, values: dict) -> None:
        """One logged row (the columns of ``metrics.csv``)."""

    def finish(self, summary: dict) -> None:
        """The run's end (its summary)."""


class TensorBoardLogger(Logger):
    """Scalars in ``log_dir`` (default ``<run dir>/tensorboard``), one tag per column."""

    def __init__(self, run_dir, config: dict | None = None, log_dir: str | None = None):
        super().__init__(run_dir, config)
        _require("tensorboard", "tensorboard")
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(log_dir or self.run_dir / "tensorboard"))

    def log(self, step: int, values: dict) -> None:
        for key, value in _numbers(values).items():
            self.writer.add_scalar(key, value, step)

    def finish(self, summary: dict) -> None:
        for key, value in _numbers(summary.get("final", {})).items():
            self.writer.add_scalar(f"final/{key}", value, summary.get("steps", 0))
        self.writer.close()


class MLflowLogger(Logger):
    """An MLflow run (parameters: the resolved config, flattened) in ``tracking_uri`` (default: a file store
    in ``<run dir>/mlruns``), under ``experiment``."""

    def __init__(self, run_dir, config: dict | None = None, tracking_uri: str | None = None,
                 experiment: str = "pinnsolve", run_name: str | None = None):
        super().__init__(run_dir, config)
        mlflow = _require("mlflow", "mlflow")
        self._entities = _require("mlflow.entities", "mlflow")
        if tracking_uri is None or "://" not in tracking_uri or tracking_uri.startswith("file:"):
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # a local file store: MLflow 3 keeps it on request
        self.client = mlflow.tracking.MlflowClient(tracking_uri or (self.run_dir / "mlruns").resolve().as_uri())
        found = self.client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found else self.client.create_experiment(experiment)
        self.run_id = self.client.create_run(experiment_id, run_name=run_name or self.run_dir.name).info.run_id
        params = [self._entities.Param(k, str(v)[:500]) for k, v in _flatten(config or {}).items()]
        for start in range(0, len(params), 100):  # MLflow takes at most 100 parameters per batch
            self.client.log_batch(self.run_id, params=params[start : start + 100])

    def _batch(self, values: dict[str, float], step: int) -> None:
        """All of a row's values in one request (one file append per metric, one call)."""
        now = int(time.time() * 1000)
        metrics = [self._entities.Metric(k, v, now, step) for k, v in values.items()]
        if metrics:
            self.client.log_batch(self.run_id, metrics=metrics)

    def log(self, step: int, values: dict) -> None:
        self._batch(_numbers(values), step)

    def finish(self, summary: dict) -> None:
        self._batch({f"final_{k}": v for k, v in _numbers(summary.get("final", {})).items()}, summary.get("steps", 0))
        self.client.set_terminated(self.run_id, "FINISHED" if summary.get("status") == "finished" else "FAILED")


class WandbLogger(Logger):
    """A Weights & Biases run, offline by default (``mode``), files in ``<run dir>/wandb``."""

    def __init__(self, run_dir, config: dict | None = None, project: str = "pinnsolve", mode: str = "offline",
                 name: str | None = None):
        super().__init__(run_dir, config)
        wandb = _require("wandb", "wandb")
        self.run = wandb.init(project=project, mode=mode, dir=str(self.run_dir), name=name or self.run_dir.name,
                              config=config or {}, reinit="create_new")

    def log(self, step: int, values: dict) -> None:
        self.run.log(_numbers(values), step=step)

    def finish(self, summary: dict) -> None:
        self.run.summary.update({f"final_{k}": v for k, v in _numbers(summary.get("final", {})).items()})
        self.run.finish(exit_code=0 if summary.get("status") == "finished" else 1)


def _flatten(config: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in config.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(_flatten(value, name))
        else:
            out[name] = value
    return out


class LoggerForwarding(Callback):
    """The trainer's callback that starts ``logger`` (a factory ``(run_dir, config) -> Logger``) on rank 0,
    sends it every logged row and the summary; a logger that cannot start is one clear error."""

    def __init__(self, factory):
        self.factory, self.logger = factory, None

    def on_fit_start(self, trainer) -> None:
        if trainer.is_main and self.logger is None:
            self.logger = self._start(trainer.run_dir, trainer.config)

    def on_log(self, trainer, row: dict) -> None:
        if self.logger is not None:
            self.logger.log(int(row["step"]), row)

    def on_fit_end(self, trainer, summary: dict) -> None:
        if self.logger is not None:
            self.logger.finish(summary)

    def _start(self, run_dir, config):
        try:
            return self.factory(run_dir=run_dir, config=config)
        except PinnsolveError:
            raise
        except Exception as exc:  # noqa: BLE001 - the logging library's own errors, said in one line
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            settings = ", ".join(f"logger.{k}={v}" for k, v in ((config or {}).get("logger") or {}).items()
                                 if not k.startswith("_"))
            raise ConfigError(f"cannot start the logger ({type(exc).__name__}: {first[:300]}); check "
                              f"{settings or 'the logger.* settings'}, or log to metrics.csv only with logger=csv") from exc
