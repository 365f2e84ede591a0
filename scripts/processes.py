"""Several gloo processes on this machine, for the scripts that measure them (one thread each)."""

import os
import socket

import torch
import torch.distributed as dist


def free_port() -> int:
    """A TCP port on the loopback address that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def join(rank: int, world: int, port: int) -> None:
    """Join a gloo process group of ``world`` processes on ``port`` as ``rank``, with one CPU thread."""
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    dist.init_process_group("gloo", rank=rank, world_size=world)
