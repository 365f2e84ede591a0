"""Process bodies of tests/test_distributed.py (module level, so torch.multiprocessing can spawn them)."""

from __future__ import annotations

import os
import socket

import torch
import torch.distributed as dist

from pinnsolve.distributed import finish
from pinnsolve.optim import ENGD, ENGDW, SPRING, Nystrom, Sven


CASES = [  # (name, optimizer factory, hidden widths, steps)
    ("engd_w_sample", lambda p: ENGDW(p, damping=1e-6, space="sample"), [16], 1),      # N = 48 < P = 65
    ("engd_w_parameter", lambda p: ENGDW(p, damping=1e-6), [8], 1),                    # P = 33 < N: the Gramian
    ("engd_w_auto_damping", lambda p: ENGDW(p), [16], 2),
    ("spring_momentum", lambda p: SPRING(p, damping=1e-6, momentum=0.5, line_search=True), [16], 2),
    ("spring_fixed", lambda p: SPRING(p, lr=0.05, damping=1e-6, momentum=0.8), [16], 2),
    ("nystrom_gpu_efficient", lambda p: Nystrom(p, damping=1e-2, sketch_size=0.5), [16], 1),
    ("nystrom_standard", lambda p: Nystrom(p, damping=1e-2, sketch_size=20, variant="standard"), [16], 1),
    ("cg_nystrom", lambda p: ENGDW(p, damping=1e-4, solver="cg", tol=1e-13, sketch_size=0.5), [16], 1),
    ("cg_plain", lambda p: ENGDW(p, damping=1e-4, solver="cg", tol=1e-13, preconditioner="none"), [16], 1),
    ("sven_kernel", lambda p: Sven(p, k=30), [16], 2),
    ("engd_dense", lambda p: ENGD(p, damping=1e-6), [8], 1),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def join(rank: int, world: int, port: int) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    dist.init_process_group("gloo", rank=rank, world_size=world)


def problem_and_model(hidden):
    from pinnsolve import MLP
    from pinnsolve.problems import poisson2d

    torch.manual_seed(0)
    return poisson2d.make_problem(n_interior=37, n_boundary=11), MLP(2, hidden)


def steps(make, hidden, n_steps: int, rank: int = 0, world: int = 1, perturb: bool = False) -> torch.Tensor:
    """θ after ``n_steps`` steps of ``make(params)`` on this rank's slice of one fixed batch (``perturb``:
    the points moved by one unit in the last place, to measure how much the method amplifies rounding)."""
    from pinnsolve import BatchSampler, ResidualEngine
    from pinnsolve.distributed import local_batch
    from pinnsolve.optim import EngineClosure

    problem, model = problem_and_model(hidden)
    batch = BatchSampler(problem, 0, "cpu", torch.float64)()
    if perturb:
        g = torch.Generator().manual_seed(5)
        batch = {k: type(v)(v.x * (1 + torch.finfo(torch.float64).eps * torch.randn(v.x.shape, generator=g)), v.y)
                 for k, v in batch.items()}
    batch = local_batch(batch, rank, world)
    engine = ResidualEngine(problem, model)
    engine.group = dist.group.WORLD if world > 1 else None
    optimizer = make(model.parameters())
    torch.manual_seed(1)  # the sketches' random numbers: the same on every rank
    for _ in range(n_steps):
        optimizer.step(EngineClosure(engine, batch))
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def direction_worker(rank: int, world: int, port: int, out_dir: str) -> None:
    torch.set_default_dtype(torch.float64)
    join(rank, world, port)
    try:
        for name, make, hidden, n_steps in CASES:
            theta = steps(make, hidden, n_steps, rank, world)
            if rank == 0:
                torch.save(theta, os.path.join(out_dir, f"{name}.pt"))
    finally:
        finish()  # a barrier, then leave the group


def training_worker(rank: int, world: int, port: int, overrides, run_dir: str) -> None:
    torch.set_default_dtype(torch.float64)
    join(rank, world, port)
    try:
        from pinnsolve import compose_config
        from pinnsolve.cli import run

        run(compose_config(list(overrides)), run_dir)
    finally:
        finish()  # a barrier, then leave the group


def failing_worker(rank: int, world: int, port: int) -> None:
    join(rank, world, port)
    if rank == 1:
        raise RuntimeError("rank 1 fails")
    dist.barrier()  # rank 0 would wait here for ever without the process group's timeout / the launcher
