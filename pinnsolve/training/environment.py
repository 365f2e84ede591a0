"""Where a run executes: device and dtype, the process group of a multi-process run, CPU threads and
the CPU allocator, with a notice when the threads asked for exceed the CPUs this process may use."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import distributed as dd
from .allocator import keep_freed_memory
from ..device import available_cpus, resolve_device, resolve_dtype, resolve_threads, strict_float_math


@dataclass
class Environment:
    """The resolved ``trainer.device``, ``dtype``, ``threads`` and process group of one process.

    ``rank``/``world`` are 0/1 without a process group; ``threads_reason`` and ``cpu_allocator`` are
    said in ``summary.json``; ``notices`` holds what the user should know about these settings.
    """

    device: torch.device
    dtype: torch.dtype
    distributed: bool
    rank: int
    world: int
    threads: int
    threads_reason: str
    cpu_allocator: str
    notices: list[str]

    @classmethod
    def prepare(cls, device: str = "auto", dtype: str = "float64", threads: int | str = "auto",
                backend: str = "auto", dist_timeout: float = 600.0) -> "Environment":
        """Resolve the settings, join the process group when started by torchrun, set the thread count."""
        local = dd.local_device(resolve_device(device))
        distributed = dd.initialise(local, backend, dist_timeout)
        count, reason = resolve_threads(threads)
        torch.set_num_threads(count)
        allocator = keep_freed_memory() if local.type == "cpu" else "not used (GPU)"
        strict_float_math()
        notices = []
        cpus = available_cpus()
        if local.type == "cpu" and count > cpus:
            notices.append(f"trainer.threads={count} but this process may run on {cpus} CPUs: threads beyond them "
                           "wait for each other at every parallel region (a run with 1000 threads on 2 CPUs was 80x "
                           f"slower). Use trainer.threads=auto or at most {cpus}")
        return cls(local, resolve_dtype(dtype), distributed, dd.rank(), dd.world_size(), count, reason, allocator, notices)

    @property
    def is_main(self) -> bool:
        """Whether this process writes the run's files (rank 0)."""
        return self.rank == 0

    def describe(self) -> dict:
        """The summary's account of where the run executed."""
        described = {
            "device": str(self.device),
            "device_name": torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu",
            "dtype": str(self.dtype).replace("torch.", ""),
            "threads": self.threads,
            "threads_reason": self.threads_reason,
            "cpu_allocator": self.cpu_allocator,
        }
        if self.distributed:
            described["processes"] = self.world
        return described
