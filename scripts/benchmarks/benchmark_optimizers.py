"""Median seconds per step of every natural-gradient optimizer on poisson5d, and ratios from the same run.

    python scripts/benchmarks/benchmark_optimizers.py           # paper size: 5-64-64-48-48-1, N = 3000 + 500, float64
    python scripts/benchmarks/benchmark_optimizers.py --small   # CPU-friendly: N = 600 + 100, Nyström at N = 1000

Prints, for each optimizer, the median wall time of ``step`` (Jacobian, solve, line search or fixed step,
update; CUDA synchronised before each clock read) and the ratios measured in this run:
dense ENGD / ENGD-W, standard / GPU-efficient Nyström solve (sketch 20–80% of N), Sven full-SVD
(``svd_mode="torch"``) / Sven kernel mode at the same update.
"""

import argparse
import statistics
import time

import torch

from pinnsolve import MLP, BatchSampler, ResidualEngine
from pinnsolve.optim import ENGD, ENGDW, SPRING, Nystrom, Sven
from pinnsolve.engine import EngineClosure
from pinnsolve.optim.sketch import nystrom_gpu_efficient, nystrom_standard
from pinnsolve.problems import poisson5d


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def median_time(fn, device, repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="smaller batches for a CPU")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    n_in, n_bd, n_nys = (600, 100, 1000) if args.small else (3000, 500, 5000)
    repeats = args.repeats or (3 if args.small else 10)
    torch.manual_seed(0)
    problem = poisson5d.make_problem(n_interior=n_in, n_boundary=n_bd)
    model = MLP(5, [64, 64, 48, 48]).to(device)
    engine = ResidualEngine(problem, model)
    batch = BatchSampler(problem, 0, device, torch.float64)()
    P, N = engine.num_params, n_in + n_bd
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"poisson5d, P = {P}, N = {N}, float64, {name}, torch {torch.__version__}, median of {repeats}")

    optimizers = {
        "ENGD (dense, line search)": lambda: ENGD(model.parameters(), damping=1e-8),
        "ENGD-W (line search)": lambda: ENGDW(model.parameters(), damping=1e-10),
        "SPRING (fixed step)": lambda: SPRING(model.parameters(), lr=0.05, damping=1e-10, momentum=0.9),
        "Nystrom GPU-eff. 10% (line search)": lambda: Nystrom(model.parameters(), damping=1e-8, sketch_size=0.1),
        "Sven kernel (k=N/2)": lambda: Sven(model.parameters(), k=N // 2, svd_mode="kernel"),
        "Sven torch full SVD (k=N/2)": lambda: Sven(model.parameters(), k=N // 2, svd_mode="torch"),
    }
    state = {k: v.clone() for k, v in model.state_dict().items()}
    results = {}
    for label, make in optimizers.items():
        model.load_state_dict(state)
        opt = make()
        results[label] = median_time(lambda: opt.step(EngineClosure(engine, batch)), device, repeats)
        print(f"  {label:38s} {results[label] * 1e3:10.1f} ms/step")
    model.load_state_dict(state)

    r, J = engine.residuals_and_jacobian(batch)
    parts = {
        "Jacobian (engine)": lambda: engine.residuals_and_jacobian(batch),
        "kernel K = JJ^T": lambda: J @ J.mT,
        "line search (31 candidates)": lambda: EngineClosure(engine, batch).losses_at(
            torch.cat([p.detach().reshape(-1) for p in model.parameters()]).expand(31, -1).contiguous()),
    }
    for label, fn in parts.items():
        print(f"  part: {label:32s} {median_time(fn, device, repeats) * 1e3:10.1f} ms")

    print("ratios (same run):")
    print(f"  dense ENGD / ENGD-W step:              {results['ENGD (dense, line search)'] / results['ENGD-W (line search)']:.2f}x")
    print(f"  Sven full SVD / Sven kernel step:      {results['Sven torch full SVD (k=N/2)'] / results['Sven kernel (k=N/2)']:.2f}x")

    big = BatchSampler(poisson5d.make_problem(n_interior=n_nys - n_nys // 7, n_boundary=n_nys // 7), 1, device, torch.float64)()
    _, Jn = engine.residuals_and_jacobian(big)
    g = torch.randn(Jn.shape[0], dtype=Jn.dtype, device=device)
    for fraction in (0.2, 0.4, 0.6, 0.8):
        t_std = median_time(lambda: nystrom_standard(Jn, g, 1e-8, fraction), device, repeats)
        t_gpu = median_time(lambda: nystrom_gpu_efficient(Jn, g, 1e-8, fraction), device, repeats)
        print(f"  Nystrom N={Jn.shape[0]} sketch {fraction:.0%}: standard {t_std * 1e3:8.1f} ms / "
              f"GPU-efficient {t_gpu * 1e3:8.1f} ms = {t_std / t_gpu:.2f}x")


if __name__ == "__main__":
    main()
