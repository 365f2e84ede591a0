"""Woodbury paper Table 1: standard (QR + SVD) against GPU-efficient (Cholesky only) Nyström solve,
time and peak memory against sketch size, at N = 5000 on poisson5d (P = 10 065).

The residual Jacobian J of the configured problem and network at initialisation is built once (through
the same Hydra config as training: --override passes through, e.g. trainer.device=cuda); then
``pinnsolve.optim.sketch.nystrom_standard`` and ``nystrom_gpu_efficient`` are timed directly (sketch and
solve, median of --repeats calls after a warm-up; CUDA synchronised). Peak memory is the memory the
call adds on top of J: on CUDA ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``;
on CPU the peak resident set size sampled every 0.2 ms by a background thread from /proc/self/statm,
with glibc told (mallopt) to mmap every allocation ≥ 128 KiB and unmap it on free, so RSS follows the
live tensors (a very short-lived peak can be missed: treat CPU numbers as a lower bound).

    python scripts/reproductions/table1_nystrom.py --quick          # N = 1000, CPU, ~1 min
    python scripts/reproductions/table1_nystrom.py --override trainer.device=cuda

Writes table1_nystrom.csv and table1_nystrom.png (time and memory against sketch size, and the
standard / GPU-efficient time ratio) into --out.
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from pinnsolve.optim.sketch import nystrom_gpu_efficient, nystrom_standard

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/ on the path: the shared library `common`
from common.measure import PeakRSS  # noqa: E402
from common.reproduce import Budget, Panel, Run, make_parser, mode_of, plot_panels, run_overrides, write_csv  # noqa: E402

SIZES = {"smoke": 42, "quick": 1000, "full": 5000}
FRACTIONS = {"smoke": [0.2, 0.8], "quick": [0.1, 0.2, 0.4, 0.6, 0.8], "full": [0.1, 0.2, 0.4, 0.6, 0.8]}
REPEATS = {"smoke": 1, "quick": 3, "full": 10}
VARIANTS = {"standard": nystrom_standard, "GPU-efficient": nystrom_gpu_efficient}


def jacobian(args, n: int):
    """r, J of poisson5d with N = n points at initialisation, from the composed Hydra config."""
    from pinnsolve import compose_config
    from pinnsolve.cli import build

    boundary = n // 7
    run = Run("poisson5d", "J", [f"problem.n_interior={n - boundary}", f"problem.n_boundary={boundary}"])
    with tempfile.TemporaryDirectory() as tmp:
        trainer = build(compose_config(run_overrides(run, args)), tmp)
        torch.manual_seed(args.seed)
        return trainer.engine.residuals_and_jacobian(trainer.sampler())


def measure(fn, J, r, fraction, repeats, cuda):
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    fn(J, r, 1e-8, fraction)  # warm-up
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn(J, r, 1e-8, fraction)
        sync()
        times.append(time.perf_counter() - start)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn(J, r, 1e-8, fraction)
        sync()
        peak = torch.cuda.max_memory_allocated() - base
    else:
        with PeakRSS() as mem:
            fn(J, r, 1e-8, fraction)
        peak = mem.extra
    return statistics.median(times), peak


def main(argv=None):
    parser = make_parser(__doc__, "table1_nystrom", quick=Budget(steps=1), full=Budget(steps=1),
                         full_runtime="about 2 min on a GPU (CPU: ~15 min, dominated by the 80% sketch)")
    parser.add_argument("--n", type=int, default=None, help="batch size N (default: 5000; --quick 1000)")
    parser.add_argument("--repeats", type=int, default=None, help="timed calls per entry (median)")
    args = parser.parse_args(argv)
    mode = mode_of(args)
    n, repeats = args.n or SIZES[mode], args.repeats or REPEATS[mode]
    threads = torch.get_num_threads()
    if args.threads or args.smoke:
        torch.set_num_threads(args.threads or 1)
    try:
        r, J = jacobian(args, n)
        cuda = J.is_cuda
        rows = []
        for fraction in FRACTIONS[mode]:
            for name, fn in VARIANTS.items():
                seconds, peak = measure(fn, J, r, fraction, repeats, cuda)
                rows.append({"variant": name, "sketch_fraction": fraction, "sketch_size": round(fraction * J.shape[0]),
                             "N": J.shape[0], "P": J.shape[1], "solve_time_s": seconds, "peak_memory_MB": peak / 2**20,
                             "memory_method": "cuda.max_memory_allocated" if cuda else "peak RSS (sampled)",
                             "device": str(J.device), "dtype": str(J.dtype).replace("torch.", ""), "repeats": repeats})
                print(f"{name:14s} sketch {fraction:.0%}: {seconds:.4f} s, {peak / 2**20:.1f} MB", flush=True)
    finally:
        torch.set_num_threads(threads)
    df = pd.DataFrame(rows)
    ratio = df.pivot(index="sketch_fraction", columns="variant", values="solve_time_s")
    df["speedup_vs_standard"] = df["sketch_fraction"].map(ratio["standard"] / ratio["GPU-efficient"])
    write_csv(df, args, "table1_nystrom")
    print(df[["sketch_fraction", "variant", "solve_time_s", "peak_memory_MB", "speedup_vs_standard"]].to_string(index=False))
    df["label"] = df["variant"]
    plot_panels(df, [Panel("sketch_fraction", "solve_time_s", "time per sketch + solve", marker="o-", xscale="linear"),
                     Panel("sketch_fraction", "peak_memory_MB", "peak memory above J [MB]", marker="o-", xscale="linear"),
                     Panel("sketch_fraction", "speedup_vs_standard", "standard / GPU-efficient time",
                           {"variant": "GPU-efficient"}, marker="o-", xscale="linear", yscale="linear")],
                args, "table1_nystrom", ncols=3, suptitle=f"Nyström solve, N = {J.shape[0]}, P = {J.shape[1]}")
    return df


if __name__ == "__main__":
    main()
