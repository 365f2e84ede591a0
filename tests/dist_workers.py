"""Process bodies of tests/training/test_distributed.py (module level, so torch.multiprocessing can spawn them)."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from pinnsolve.training.distributed import finish, free_port  # noqa: F401  (free_port: for the tests)
from pinnsolve.training.distributed import join_local as join
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


def problem_and_model(hidden, seed: int = 0):
    from pinnsolve import MLP
    from pinnsolve.problems import poisson2d

    torch.manual_seed(seed)
    return poisson2d.make_problem(n_interior=37, n_boundary=11), MLP(2, hidden)


def steps(make, hidden, n_steps: int, rank: int = 0, world: int = 1, perturb: bool = False) -> torch.Tensor:
    """θ after ``n_steps`` steps of ``make(params)`` on this rank's slice of one fixed batch (``perturb``:
    the points moved by one unit in the last place, to measure how much the method amplifies rounding)."""
    from pinnsolve import BatchSampler, ResidualEngine
    from pinnsolve.training.distributed import local_batch
    from pinnsolve.engine import EngineClosure

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


def kernel_problem(n: int = 700, p: int = 900):
    """Random ``r: [n]``, ``J: [n, p]`` (float64, seed 3) and the uneven row split of two ranks."""
    generator = torch.Generator().manual_seed(3)
    J = torch.randn(n, p, generator=generator, dtype=torch.float64) / p**0.5
    r = torch.randn(n, generator=generator, dtype=torch.float64)
    return r, J, [0, 260, n]


def kernel_worker(rank: int, world: int, port: int, out_dir: str) -> None:
    """The sample-space exact solve on 2 ranks, each holding its rows: ``K`` (split formation) and the step."""
    from pinnsolve.optim import Cholesky
    from pinnsolve.optim.rows import Rows

    torch.set_default_dtype(torch.float64)
    join(rank, world, port)
    try:
        r, J, edges = kernel_problem()
        rows = Rows(r[edges[rank]:edges[rank + 1]], J[edges[rank]:edges[rank + 1]], group=dist.group.WORLD)
        K = rows.kernel_lower().tril()
        phi, failed, _ = Cholesky(space="sample")(rows, rows.r, torch.tensor(1e-8))  # Jᵀ(K + λI)⁻¹r
        if rank == 0:
            torch.save({"K": K, "phi": phi, "failed": failed}, os.path.join(out_dir, "kernel.pt"))
    finally:
        finish()


def _flat(model) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def _assign(model, theta: torch.Tensor) -> None:
    offset = 0
    for p in model.parameters():
        p.data.copy_(theta[offset:offset + p.numel()].view_as(p))
        offset += p.numel()


def shadow_worker(rank: int, world: int, port: int, out_dir: str, seed: int, n_steps: int) -> None:
    """Along a one-process ENGD-W run (default damping), every step also taken from the same state (θ and
    the optimizer's state) on ``world`` processes and, on one process, with the points moved by one unit
    in the last place. Rank 0 saves per step: the three new θ, the old θ, and η and μ of each."""
    import copy

    from pinnsolve import BatchSampler, ResidualEngine
    from pinnsolve.training.distributed import local_batch
    from pinnsolve.engine import EngineClosure

    torch.set_default_dtype(torch.float64)
    join(rank, world, port)
    try:
        problem, model = problem_and_model([16], seed)
        batch = BatchSampler(problem, seed, "cpu", torch.float64)()
        g = torch.Generator().manual_seed(5)
        eps = torch.finfo(torch.float64).eps
        moved = {k: type(v)(v.x * (1 + eps * torch.randn(v.x.shape, generator=g)), v.y) for k, v in batch.items()}
        one, many = ResidualEngine(problem, model), ResidualEngine(problem, model)
        many.group = dist.group.WORLD
        closures = {"one": lambda: EngineClosure(one, batch), "many": lambda: EngineClosure(many, local_batch(batch, rank, world)),
                    "ulp": lambda: EngineClosure(one, moved)}
        optimizer = ENGDW(model.parameters())
        records = []
        for _ in range(n_steps):
            theta, state = _flat(model).clone(), copy.deepcopy(optimizer.state_dict())
            record = {"theta": theta}
            for name in ("ulp", "many", "one"):  # "one" last: the run goes on from its step
                _assign(model, theta)
                optimizer.load_state_dict(copy.deepcopy(state))
                optimizer.step(closures[name]())
                record[name] = (_flat(model).clone(), float(optimizer.diagnostics["step_size"]),
                                float(optimizer.diagnostics["relative_damping"]))
            records.append(record)
        if rank == 0:
            torch.save(records, os.path.join(out_dir, "shadow.pt"))
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


def dying_rank_worker(rank: int, world: int, port: int, overrides, run_dir: str, report: str) -> None:
    """Rank 1 is killed (os._exit) at step 7; rank 0 writes what its run raised to ``report``."""
    torch.set_default_dtype(torch.float64)
    join(rank, world, port)
    from pinnsolve import compose_config
    from pinnsolve.cli import run
    from pinnsolve.training.trainer import Trainer

    original = Trainer._step

    def step(self, batch):
        if rank == 1 and self.step == 7:
            os._exit(1)
        return original(self, batch)

    Trainer._step = step
    try:
        run(compose_config(list(overrides)), run_dir)
    except Exception as exc:  # noqa: BLE001 - the test reads what it was
        with open(report, "w") as f:
            f.write(f"{type(exc).__name__}: {exc}")
