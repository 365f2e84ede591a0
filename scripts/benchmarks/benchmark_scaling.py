"""Time per step and peak memory against the batch size N, for the three solvers, on 1 and 2 processes.

    python scripts/benchmarks/benchmark_scaling.py           # CPU: N = 1000 … 16 000
    python scripts/benchmarks/benchmark_scaling.py --device cuda --sizes 10000 30000 100000
    python scripts/benchmarks/benchmark_scaling.py --smoke   # toy sizes (the tests)

poisson5d with the paper's network (5-64-64-48-48-1, P = 10 065), float64, one ENGD-W step with the
line search and λ = 1e-6 per measurement (median of ``--steps`` after a warm-up): ``solver=cholesky``
(the exact kernel or Gramian), ``nystrom`` (GPU-efficient, 10 % sketch) and ``cg`` (matrix-free, Nyström
preconditioner). Where the kernel K (N² float64 numbers) exceeds ``--memory-budget`` GB, the Cholesky
solve is skipped and said so, and CG still runs. Then:

- the products ``Kv`` CG needs for a relative residual of 1e-10 at λ = 1e-6 and at the paper's λ = 3.17e-12,
  with and without the preconditioner (at one N, ``--cg-n``);
- 1 against 2 processes (gloo, one thread each) for each solver at ``--ranks-n``.

Prints tables; nothing is written. The numbers with the machine go into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.multiprocessing as mp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/ on the path: the shared library `common`
from common.measure import PeakMemory  # noqa: E402

SOLVERS = {"cholesky": {}, "nystrom": {"sketch_size": 0.1}, "cg": {"tol": 1e-10, "max_iters": 500}}
PAPER_LAMBDA = 3.17e-12


def setup(n: int, device, hidden=(64, 64, 48, 48), seed: int = 0):
    from pinnsolve import MLP, BatchSampler, ResidualEngine
    from pinnsolve.problems import poisson5d

    torch.manual_seed(seed)
    problem = poisson5d.make_problem(n_interior=n - n // 7, n_boundary=n // 7)
    model = MLP(5, list(hidden)).to(device)
    return problem, model, ResidualEngine(problem, model), BatchSampler(problem, seed, device, torch.float64)()


def time_step(solver: str, n: int, device, steps: int, hidden) -> tuple[float, float, dict]:
    """Median seconds per step, peak MB of one step, the last step's diagnostics."""
    from pinnsolve.optim import ENGDW
    from pinnsolve.engine import EngineClosure

    problem, model, engine, batch = setup(n, device, hidden)
    optimizer = ENGDW(model.parameters(), damping=1e-6, solver=solver, **SOLVERS[solver])
    optimizer.step(EngineClosure(engine, batch))  # warm-up
    times = []
    for _ in range(steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        optimizer.step(EngineClosure(engine, batch))
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    with PeakMemory(device) as memory:
        optimizer.step(EngineClosure(engine, batch))
    return statistics.median(times), memory.extra / 2**20, {k: float(v) for k, v in optimizer.diagnostics.items()}


def cg_products(n: int, device, hidden) -> list[tuple]:
    """(λ, preconditioner, iterations, relative residual) of CG on this N's kernel system."""
    from pinnsolve.optim.rows import Rows
    from pinnsolve.optim import ConjugateGradient

    _, _, engine, batch = setup(n, device, hidden)
    r, J = engine.residuals_and_jacobian(batch)
    out = []
    for damping in (1e-6, PAPER_LAMBDA):
        for preconditioner in ("nystrom", "none"):
            torch.manual_seed(0)
            solver = ConjugateGradient(tol=1e-10, max_iters=2000, preconditioner=preconditioner, sketch_size=0.1)
            _, _, info = solver(Rows(r, J), r, torch.tensor(damping, dtype=J.dtype, device=J.device))
            out.append((damping, preconditioner, int(info["cg_iterations"]), float(info["cg_residual"])))
    return out


def cg_training(n: int, steps: int, device, hidden, max_iters: int = 100) -> list[tuple[int, int, float, int, int]]:
    """A training run of ENGD-W with ``solver=cg`` (``max_iters`` products per attempt, the growing sketch),
    fresh points every step, the default damping: ``(step, iterations, residual, sketch, attempts)`` per step."""
    from pinnsolve import BatchSampler
    from pinnsolve.engine import EngineClosure
    from pinnsolve.optim import ENGDW

    problem, model, engine, _ = setup(n, device, hidden)
    sampler = BatchSampler(problem, 0, device, torch.float64)
    optimizer = ENGDW(model.parameters(), solver="cg", tol=1e-10, max_iters=max_iters)
    out = []
    for step in range(steps):
        optimizer.step(EngineClosure(engine, sampler(), fresh_points=True))
        info = optimizer.diagnostics
        out.append((step, int(info["cg_iterations"]), float(info["cg_residual"]), int(info["cg_sketch"]),
                    int(info["cg_attempts"])))
    return out


def _rank_worker(rank: int, world: int, port: int, solvers: list[str], n: int, steps: int, hidden, queue) -> None:
    import torch.distributed as dist

    from pinnsolve.training import distributed as dw
    from pinnsolve.training.distributed import finish, local_batch
    from pinnsolve.optim import ENGDW
    from pinnsolve.engine import EngineClosure

    torch.set_default_dtype(torch.float64)
    dw.join_local(rank, world, port)
    problem, model, engine, batch = setup(n, torch.device("cpu"), hidden)
    batch = local_batch(batch, rank, world)
    engine.group = dist.group.WORLD
    for solver in solvers:  # one process group for every solver: the processes start once
        optimizer = ENGDW(model.parameters(), damping=1e-6, solver=solver, **SOLVERS[solver])
        optimizer.step(EngineClosure(engine, batch))
        times = []
        for _ in range(steps):
            dist.barrier()
            start = time.perf_counter()
            optimizer.step(EngineClosure(engine, batch))
            times.append(time.perf_counter() - start)
        if rank == 0:
            queue.put((solver, statistics.median(times)))
    finish()  # a barrier, then leave the group


def two_ranks(solvers: list[str], n: int, steps: int, hidden) -> dict[str, float]:
    """Median seconds per step of each solver on two gloo processes (one thread each)."""
    from pinnsolve.training import distributed as dw

    queue = mp.get_context("spawn").SimpleQueue()
    mp.spawn(_rank_worker, args=(2, dw.free_port(), list(solvers), n, steps, hidden, queue), nprocs=2, join=True)
    return dict(queue.get() for _ in solvers)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 2000, 4000, 8000, 16000])
    parser.add_argument("--solvers", nargs="*", default=list(SOLVERS), choices=list(SOLVERS))
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--memory-budget", type=float, default=1.0, help="GB the kernel K may take (default 1)")
    parser.add_argument("--cg-n", type=int, default=2000, help="N of the CG product count")
    parser.add_argument("--ranks-n", type=int, default=2000, help="N of the 1 against 2 processes comparison")
    parser.add_argument("--cg-run", type=int, nargs="*", default=[], metavar="N",
                        help="also train 50 steps with solver=cg at these N and print its products per step")
    parser.add_argument("--cg-run-steps", type=int, default=50)
    parser.add_argument("--smoke", action="store_true", help="toy sizes and network, for the tests")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    hidden = (8, 8) if args.smoke else (64, 64, 48, 48)
    if args.smoke:
        args.sizes, args.cg_n, args.ranks_n, args.steps, args.memory_budget = [40, 160], 40, 40, 1, 160**2 * 8 / 2**30 * 0.5
        args.cg_run, args.cg_run_steps = [60], 3
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))
    print(f"poisson5d, network {'-'.join(map(str, (5, *hidden, 1)))}, float64, {device}, {torch.get_num_threads()} threads, "
          f"K budget {args.memory_budget:g} GB")
    print(f"{'N':>7} {'solver':>9} {'s / step':>10} {'peak MB':>9} {'notes':s}")
    result = {"steps": [], "cg": [], "ranks": []}
    for n in args.sizes:
        for solver in args.solvers:
            if solver == "cholesky" and n * n * 8 / 2**30 > args.memory_budget:
                print(f"{n:>7} {solver:>9} {'—':>10} {'—':>9} K = {n * n * 8 / 2**30:.2f} GB exceeds the budget: skipped")
                result["steps"].append((n, solver, None, None))
                continue
            seconds, peak, info = time_step(solver, n, device, args.steps, hidden)
            note = f"{int(info['cg_iterations'])} CG iterations, residual {info['cg_residual']:.1e}" if solver == "cg" else ""
            print(f"{n:>7} {solver:>9} {seconds:10.3f} {peak:9.0f} {note}")
            result["steps"].append((n, solver, seconds, peak))
    print(f"\nCG on (K + λI)x = r at N = {args.cg_n}, products Kv to a relative residual of 1e-10 (at most 2000):")
    for damping, preconditioner, iterations, residual in cg_products(args.cg_n, device, hidden):
        print(f"  λ = {damping:.3g}, preconditioner {preconditioner:7s}: {iterations:5d} iterations, residual {residual:.1e}")
        result["cg"].append((damping, preconditioner, iterations, residual))
    result["cg_run"] = {}
    for n in args.cg_run:
        rows = cg_training(n, args.cg_run_steps, device, hidden)
        result["cg_run"][n] = rows
        total = [100 * (attempts - 1) + iterations for _, iterations, _, _, attempts in rows]  # products per step
        print(f"\nCG in training, N = {n}, {len(rows)} steps, at most 100 products per attempt: "
              f"{max(r[1] for r in rows)} products at most in a step's final attempt, {max(total)} at most in a "
              f"step with its retries, largest residual {max(r[2] for r in rows):.1e}, sketch {rows[0][3]} -> "
              f"{rows[-1][3]}, steps that retried: {sum(r[4] > 1 for r in rows)}")
        for step, iterations, residual, sketch, attempts in rows:
            print(f"  step {step:3d}: {iterations:4d} products, residual {residual:.1e}, sketch {sketch:5d}, "
                  f"{attempts} attempt(s)")
    if device.type == "cpu":
        print(f"\n1 against 2 processes (gloo, one thread each), N = {args.ranks_n}, s / step:")
        twos = two_ranks(args.solvers, args.ranks_n, args.steps, hidden)
        for solver in args.solvers:
            one, two = time_step(solver, args.ranks_n, device, args.steps, hidden)[0], twos[solver]
            print(f"  {solver:9s} 1 process {one:8.3f}   2 processes {two:8.3f}   ratio {one / two:.2f}x")
            result["ranks"].append((solver, one, two))
    return result


if __name__ == "__main__":
    main()
