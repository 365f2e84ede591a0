"""Hydra callbacks of the ``pinnsolve`` command (registered in ``configs/config.yaml``).

:class:`RunDirectories` runs before Hydra creates any directory:

- with ``resume=<run>`` it points Hydra at that run's own directory and turns Hydra's config
  files off, so a resume writes nowhere else (no stray ``outputs/…/<date>/``) and
  :mod:`pinnsolve.runs.config` updates the run's ``.hydra/config.yaml`` itself;
- it checks that the run (or sweep) directory can be created and written, and otherwise ends the
  command with one line naming the directory and the fix instead of a traceback.

At the end of a sweep it writes ``summary.csv`` in the sweep directory (one row per job: the
overrides, status, steps, times and final metrics) and, when jobs failed, names them and exits
with status 1 — after every other job has run.
"""

from __future__ import annotations

import csv
import errno
import importlib.resources
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, open_dict, read_write

from ..training import distributed as dd
from ..runs.checkpoint import CHECKPOINT_NAME, locate_checkpoint
from ..device import resolve_device
from ..errors import PinnsolveError


def _fail(message: str) -> None:
    print(f"pinnsolve: error: {message}", file=sys.stderr)
    sys.exit(2)


PROBE_BYTES = 1 << 20
"""What the probe writes: Hydra's config files and the first checkpoint need room, not only a name."""


def check_writable(directory: Path, what: str) -> None:
    """Create ``directory`` and write (and sync) a 1 MiB probe file in it, or end the command with a clear
    message: an unwritable place or a full disk is said before Hydra writes its files."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory) as probe:
            probe.write(bytes(PROBE_BYTES))
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        fix = "free some space, or choose a place with room" if exc.errno == errno.ENOSPC else "choose a writable place"
        _fail(f"cannot write the {what} {directory} ({exc.strerror or exc}); {fix}, e.g. "
              "hydra.run.dir=outputs/my_run (or hydra.sweep.dir=… for -m)")


def check_sweep_choices(overrides: list[str]) -> None:
    """Every option a sweep names for a config group (``optimizer=engd_w,nope``) must exist, before any job
    runs: Hydra would otherwise refuse the whole batch at its first unknown option, good jobs included."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ChoiceSweep

    root = Path(str(importlib.resources.files("pinnsolve.configs")))
    for override in OverridesParser.create().parse_overrides(overrides):
        group = override.key_or_group
        if "." in group or not (root / group).is_dir():
            continue
        value = override.value()
        options = list(override.sweep_string_iterator()) if isinstance(value, ChoiceSweep) else [value]
        known = sorted(f.stem for f in (root / group).glob("*.yaml"))
        unknown = [o for o in options if isinstance(o, str) and o not in known]
        if unknown:
            _fail(f"{override.input_line}: no {group} named {', '.join(unknown)}; the {group} options are "
                  f"{', '.join(known)}. No job was started")


def claim(run_dir: Path, overwrite: bool) -> None:
    """A new run may not write over an existing one: refuse, or with ``overwrite`` remove it first
    (the first process only; the others wait for it when they join)."""
    if not (run_dir / CHECKPOINT_NAME).exists():
        return
    if not overwrite:
        _fail(f"{run_dir} already holds a run; continue it with resume={run_dir}, replace it with overwrite=true, or "
              "choose another hydra.run.dir")
    if os.environ.get("RANK", "0") == "0":
        shutil.rmtree(run_dir)


class RunDirectories(Callback):
    """Resume into the run's own directory; refuse unwritable run and sweep directories up front."""

    def __init__(self) -> None:
        self.sweep_dir: Path | None = None

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        resume = config.get("resume")
        if not resume:
            claim(Path(str(config.hydra.run.dir)), bool(config.get("overwrite")))
        if resume:
            try:
                run_dir = locate_checkpoint(resume).parent
            except PinnsolveError as exc:
                _fail(str(exc))
            with read_write(config.hydra), open_dict(config.hydra):
                config.hydra.run.dir = str(run_dir)
                config.hydra.output_subdir = None
        HydraConfig.instance().set_config(config)
        if dd.launched():
            self._join_processes(config)
        check_writable(Path(str(config.hydra.run.dir)), "run directory")

    @staticmethod
    def _join_processes(config: DictConfig) -> None:
        """Several processes (torchrun): join the group, take rank 0's run directory; only rank 0 writes
        Hydra's files, the others log to ``<job>_rank<k>.log``."""
        try:
            trainer = config.trainer
            dd.initialise(dd.local_device(resolve_device(trainer.device)), trainer.get("backend", "auto"),
                          float(trainer.get("dist_timeout", 600)))
        except PinnsolveError as exc:
            _fail(str(exc))
        run_dir = dd.broadcast_object(str(config.hydra.run.dir))
        with read_write(config.hydra), open_dict(config.hydra):
            config.hydra.run.dir = run_dir
            if dd.rank() != 0:
                config.hydra.output_subdir = None
                handlers = config.hydra.job_logging.get("handlers", {})
                if "file" in handlers:
                    handlers.file.filename = f"{run_dir}/{config.hydra.job.name}_rank{dd.rank()}.log"

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if config.get("resume"):
            _fail("resume= continues one run; it cannot be combined with -m (a sweep)")
        HydraConfig.instance().set_config(config)
        check_sweep_choices(list(config.hydra.overrides.task))
        self.sweep_dir = Path(str(config.hydra.sweep.dir))
        if self.sweep_dir.is_dir() and any(self.sweep_dir.glob(f"*/{CHECKPOINT_NAME}")):
            if not config.get("overwrite"):
                _fail(f"the sweep directory {self.sweep_dir} already holds runs; choose another hydra.sweep.dir, or "
                      "add overwrite=true to replace them")
            shutil.rmtree(self.sweep_dir)
        check_writable(self.sweep_dir, "sweep directory")

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.sweep_dir is None:
            return
        rows = sweep_rows(self.sweep_dir)
        if rows:
            write_table(self.sweep_dir / "summary.csv", rows)
        failed = [row for row in rows if row["status"] in ("failed", "diverged")]
        if failed:
            lines = "\n".join(f"  job {row['job']} ({row['overrides']}): {row['status']}: {row['message']}" for row in failed)
            print(f"pinnsolve: {len(failed)} of {len(rows)} jobs did not finish; the others ran:\n{lines}\n"
                  f"table: {self.sweep_dir / 'summary.csv'}", file=sys.stderr)
            sys.exit(1)


def sweep_rows(sweep_dir: Path) -> list[dict]:
    """One row per job directory of a sweep: overrides, status, steps, times, final metrics, message."""
    rows = []
    def number(job_dir: Path) -> tuple[int, str]:
        head = job_dir.name.split("_")[0]
        return (int(head) if head.isdigit() else -1, job_dir.name)

    for job_dir in sorted((d for d in sweep_dir.iterdir() if (d / ".hydra" / "overrides.yaml").is_file()), key=number):
        overrides = yaml.safe_load((job_dir / ".hydra" / "overrides.yaml").read_text()) or []
        row: dict = {"job": job_dir.name.split("_")[0], "overrides": " ".join(overrides), "dir": os.fspath(job_dir)}
        summary, failure = job_dir / "summary.json", job_dir / "failure.json"
        if failure.is_file():
            info = json.loads(failure.read_text())
            row.update(status="failed", message=info.get("message", "").splitlines()[-1] if info.get("message") else "")
        elif summary.is_file():
            info = json.loads(summary.read_text())
            row.update(status=info.get("status"), steps=info.get("steps"), train_time_s=info.get("train_time_s"),
                       message=info.get("diverged", {}).get("reason", ""))
            row.update({f"final_{k}": v for k, v in info.get("final", {}).items()})
        else:
            row.update(status="failed", message="no summary.json (the job ended without finishing)")
        rows.append(row)
    return rows


def write_table(path: Path, rows: list[dict]) -> None:
    """Rows with possibly different keys as one CSV (columns in order of first appearance)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
