"""More than one process: the points of every condition split across ranks, on ``torch.distributed``.

``torchrun --nproc-per-node=K -m pinnsolve …`` starts K processes. Each draws the whole batch from the
seed and the step (``O(N·d)`` numbers, nothing next to ``J``) and keeps its slice of every condition's
points: rank ``i`` of ``W`` keeps rows ``[⌊i·N_c/W⌋, ⌊(i+1)·N_c/W⌋)`` — an uneven split when ``W`` does
not divide ``N_c``, so any count works. The residual scaling keeps the global ``N_c``, parameters are
replicated, and every reduction goes through :class:`~pinnsolve.optim.rows.Rows` and the closures, so
no step depends on the number of ranks (to rounding, from the same state); a whole run depends on it as
much as on a one-ulp change of its points (README, "More than one device"). Rank 0 writes the run
directory.

The backend is NCCL for CUDA devices and gloo on the CPU; the process group has a timeout
(``trainer.dist_timeout``) so that a rank that fails ends the others instead of leaving them waiting.
"""

from __future__ import annotations

import datetime
import warnings
import os

import torch
import torch.distributed as dist

from ..engine.batches import local_batch, row_range  # noqa: F401  (the row split, here for the training layer)
from ..errors import ConfigError
from ..optim.rows import sum_over

BACKENDS = ("auto", "gloo", "nccl")


def launched() -> bool:
    """Whether this process was started as one of several (``WORLD_SIZE > 1``, as torchrun sets)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def initialise(device: torch.device | str = "cpu", backend: str = "auto", timeout_s: float = 600.0) -> bool:
    """Join the process group of a multi-process launch (a no-op otherwise); returns whether there is one.

    Raises:
        ConfigError: NCCL asked for without CUDA, or an unknown backend.
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size() > 1
    if not launched():
        return False
    device = torch.device(device)
    if backend not in BACKENDS:
        raise ConfigError(f"trainer.backend={backend} is not one of {BACKENDS}")
    if backend == "auto":
        backend = "nccl" if device.type == "cuda" else "gloo"
    if backend == "nccl" and not torch.cuda.is_available():
        raise ConfigError("trainer.backend=nccl needs CUDA devices, but PyTorch sees none; use trainer.backend=gloo "
                          "(or auto) for processes on the CPU")
    dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=float(timeout_s)))
    return dist.get_world_size() > 1


def finish() -> None:
    """Leave the process group at the end of a launch (a no-op otherwise). Without it gloo's threads
    are still running when the interpreter exits, and a rank could abort ("terminate called without
    an active exception", exit code -6) after a run that finished. With gloo the ranks first meet at a
    barrier (at most a minute), so that no rank closes its connections while another still reads the
    last collective's data."""
    if not (dist.is_available() and dist.is_initialized()):
        return
    if dist.get_backend() == "gloo":
        try:
            dist.monitored_barrier(timeout=datetime.timedelta(seconds=60))
        except RuntimeError as exc:  # another rank failed or left: nothing to wait for
            warnings.warn(f"the ranks did not meet before leaving the process group: {exc}")
    dist.destroy_process_group()


COMMUNICATION_WORDS = ("gloo", "nccl", "NCCL", "Connection", "connection", "Timed out", "timed out", "timeout")


def lost_contact(exc: BaseException) -> bool:
    """Whether ``exc`` is a collective that failed because another rank is gone (killed, failed, stuck)."""
    dist_error = getattr(dist, "DistError", None)
    if dist_error is not None and isinstance(exc, dist_error):
        return True
    return isinstance(exc, RuntimeError) and any(word in str(exc) for word in COMMUNICATION_WORDS)


def describe(exc: BaseException) -> str:
    """The first line of a communication error, without the source path gloo puts in front."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = text.split("] ", 1)[1] if text.startswith("[") and "] " in text else text
    return text.split(" This is typically caused")[0].rstrip(".")


def free_port() -> int:
    """A TCP port on the loopback address that is free now (for a group of processes on this machine)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def join_local(rank: int, world: int, port: int, threads: int = 1) -> None:
    """Join a gloo group of ``world`` processes on this machine as ``rank`` (``torch.multiprocessing.spawn``
    without torchrun: tests, benchmarks), each with ``threads`` CPU threads."""
    torch.set_num_threads(threads)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    dist.init_process_group("gloo", rank=rank, world_size=world)


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def local_device(device: torch.device) -> torch.device:
    """Each rank's own GPU (``LOCAL_RANK``) when the run is on CUDA with several processes."""
    if device.type == "cuda" and device.index is None and launched():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """``Σ_ranks t`` over all processes (a new tensor; ``t`` itself with one process)."""
    return sum_over(dist.group.WORLD if world_size() > 1 else None, t)


def broadcast_object(obj, source: int = 0):
    """Rank ``source``'s ``obj`` on every rank."""
    if world_size() == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=source)
    return box[0]


def all_reduce_flag(flag: bool, device: torch.device) -> bool:
    """``True`` if any rank's ``flag`` is (a stop request seen by one rank stops them all)."""
    if world_size() == 1:
        return flag
    t = torch.tensor(int(flag), device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t)


def sum_gradients(parameters, device: torch.device) -> None:
    """Sum every parameter's gradient over ranks (first-order optimizers: the gradient of the global loss)."""
    if world_size() == 1:
        return
    for p in parameters:
        if not p.requires_grad:
            continue
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad)
