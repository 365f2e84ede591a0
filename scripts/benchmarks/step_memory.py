"""Peak memory of one ENGD-W step and of its parts, against ``trainer.chunk_size``.

    python scripts/benchmarks/step_memory.py                 # poisson5d at the paper's size: N = 3000 + 500, P = 10 065
    python scripts/benchmarks/step_memory.py --device cuda   # the same on a GPU (allocator statistics)
    python scripts/benchmarks/step_memory.py --smoke         # a toy size, seconds (the test suite runs this)

For each chunk size it prints the peak memory above the model and batch of: building ``J``
(``residuals_and_jacobian``), the solve (``K = JJᵀ`` or ``G = JᵀJ`` plus Cholesky, given ``J``), the
31-candidate line search (given the direction), and one whole ``ENGDW.step``; next to them the
sizes of ``J`` (N·P numbers) and ``K`` (N² numbers) in float64. CPU numbers come from the resident
set size (a lower bound, see ``scripts/common/measure.py``).
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

import torch

from pinnsolve import MLP, BatchSampler, ResidualEngine
from pinnsolve.optim import ENGDW
from pinnsolve.engine import EngineClosure
from pinnsolve.optim import kernel as kn
from pinnsolve.optim.step_rules import grid_line_search
from pinnsolve.problems import poisson5d

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/ on the path: the shared library `common`
from common.measure import PeakMemory  # noqa: E402

SIZES = {"paper": (3000, 500, [64, 64, 48, 48]), "smoke": (120, 20, [16, 16])}


def measure(fn, device) -> float:
    """Peak MB that ``fn()`` adds."""
    gc.collect()
    with PeakMemory(device) as mem:
        out = fn()
    del out
    return mem.extra / 2**20


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--smoke", action="store_true", help="a toy size, for the tests")
    parser.add_argument("--chunks", type=int, nargs="*", default=None, help="chunk sizes (default: none, 256, 64)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    n_interior, n_boundary, hidden = SIZES["smoke" if args.smoke else "paper"]
    chunks = args.chunks if args.chunks is not None else [None, 256, 64] if not args.smoke else [None, 16]
    torch.manual_seed(0)
    problem = poisson5d.make_problem(n_interior=n_interior, n_boundary=n_boundary)
    model = MLP(5, hidden).to(device)
    batch = BatchSampler(problem, 0, device, torch.float64)()
    n, p = problem.n_points, model.num_parameters()
    print(f"poisson5d, N = {n}, P = {p}, float64, {device}: J = {n * p * 8 / 2**20:.0f} MB, K = {n * n * 8 / 2**20:.0f} MB")
    print(f"{'chunk_size':>10} {'J [MB]':>8} {'solve [MB]':>11} {'line search [MB]':>17} {'ENGD-W step [MB]':>17}")
    rows = []
    for chunk in chunks:
        engine = ResidualEngine(problem, model, chunk_size=chunk)
        closure = EngineClosure(engine, batch)
        build = measure(lambda: closure.residuals_and_jacobian(), device)
        r, J = closure.residuals_and_jacobian()
        solve = measure(lambda J=J: kn.damped_least_squares(J, r, 1e-10), device)
        phi, _ = kn.damped_least_squares(J, r, 1e-10)
        del J
        theta, loss = engine.layout.flatten(), closure.objective(r)
        search = measure(lambda: grid_line_search(closure, theta, phi, loss), device)
        optimizer = ENGDW(model.parameters(), damping=1e-10)
        whole = measure(lambda: optimizer.step(EngineClosure(engine, batch)), device)
        rows.append(dict(chunk_size=chunk, jacobian_MB=build, solve_MB=solve, line_search_MB=search, step_MB=whole))
        print(f"{str(chunk):>10} {build:8.0f} {solve:11.0f} {search:17.0f} {whole:17.0f}")
    return rows


if __name__ == "__main__":
    main()
