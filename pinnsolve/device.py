"""Resolving ``trainer.device``, ``trainer.dtype`` and ``trainer.threads`` with errors that name the fix."""

from __future__ import annotations

import math
import os

import torch

from .errors import ConfigError

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def resolve_device(name: str, key: str = "trainer.device") -> torch.device:
    """``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``; errors name ``key``."""
    name = str(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(
                f"{key}={name} but PyTorch sees no CUDA device (torch {torch.__version__}, "
                f"CUDA build: {torch.version.cuda or 'no'}). Use {key}=cpu or {key}=auto, "
                "or install a CUDA build of PyTorch on a machine with a GPU."
            )
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise ConfigError(f"unknown {key} '{name}'; use auto, cpu, cuda or cuda:N")


def resolve_dtype(name: str) -> torch.dtype:
    """``float64`` (default for natural-gradient methods) or ``float32``."""
    if str(name) not in DTYPES:
        raise ConfigError(f"unknown trainer.dtype '{name}'; use one of {sorted(DTYPES)}")
    return DTYPES[str(name)]


def strict_float_math() -> None:
    """Turn TF32 off: natural-gradient steps need true float32/float64 products."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask; cgroup quotas are not visible here)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def resolve_threads(setting) -> tuple[int, str]:
    """The CPU thread count for ``trainer.threads`` and why it was chosen.

    ``auto``: ``OMP_NUM_THREADS`` if set; otherwise the CPUs of the process's affinity mask, minus
    those the 1-minute load average says other programs keep busy (at least 1). Busy cores are worth
    avoiding: an OpenMP thread that shares a core with another program waits at every barrier for a
    time slice, which made one poisson2d Jacobian 15× slower with 2 threads than with 1 on a loaded
    2-core machine. An integer sets the count.
    """
    if setting in (None, "auto"):
        if os.environ.get("OMP_NUM_THREADS", "").isdigit() and int(os.environ["OMP_NUM_THREADS"]) > 0:
            return int(os.environ["OMP_NUM_THREADS"]), "OMP_NUM_THREADS"
        cpus = available_cpus()
        try:
            busy = os.getloadavg()[0]
        except (AttributeError, OSError):
            busy = 0.0
        threads = max(1, min(cpus, cpus - math.floor(busy + 0.5)))
        return threads, f"auto: {cpus} CPUs available, load average {busy:.2f}"
    if isinstance(setting, bool) or not isinstance(setting, int) or setting < 1:
        raise ConfigError(f"trainer.threads={setting}: give a positive number of CPU threads, or auto")
    return setting, "trainer.threads"
