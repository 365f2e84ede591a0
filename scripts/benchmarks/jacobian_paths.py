"""Seconds for (r, J) on the forward-Laplacian fast path against the generic torch.func path, same run.

    python scripts/benchmarks/jacobian_paths.py            # the hard PDEs the fast path newly carries
    python scripts/benchmarks/jacobian_paths.py --smoke    # toy sizes (the tests)

Each row is one problem as shipped (its config's network, 48-48-48 tanh) with the network a recipe
uses: periodic inputs (Allen–Cahn, convection), an output transform (``wave``, ``hard=True``), Fourier
features and the modified MLP (wave). Median of ``--repeats`` after a warm-up, one thread by default.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from pinnsolve import BatchSampler, ResidualEngine
from pinnsolve.models import MLP, FourierMLP, ModifiedMLP, for_problem
from pinnsolve.problems import allen_cahn, convection, wave

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/ on the path: the shared library `common`
from common.measure import median_seconds  # noqa: E402

CASES = {
    "allen_cahn (periodic inputs), MLP": (allen_cahn.make_problem, {}, MLP),
    "convection (periodic inputs), MLP": (convection.make_problem, {}, MLP),
    "wave hard=true (output transform), MLP": (wave.make_problem, {"hard": True}, MLP),
    "wave, Fourier-feature MLP": (wave.make_problem, {}, FourierMLP),
    "wave, modified MLP": (wave.make_problem, {}, ModifiedMLP),
}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="toy sizes, for the tests")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    hidden, sizes = ([8], dict(n_interior=40)) if args.smoke else ([48, 48, 48], {})
    repeats = 1 if args.smoke else args.repeats
    print(f"float64, CPU, {torch.get_num_threads()} thread(s), torch {torch.__version__}, median of {repeats}")
    print(f"{'problem, network':42s} {'N':>6s} {'P':>6s} {'fast s':>8s} {'generic s':>10s} {'ratio':>6s}")
    result = {}
    for label, (make, options, network) in CASES.items():
        problem = make(**sizes, **options)
        torch.manual_seed(0)
        model = for_problem(network(problem.network_inputs, hidden, out_features=problem.n_outputs), problem)
        batch = BatchSampler(problem, 0, torch.device("cpu"), torch.float64)()
        seconds = {}
        for mode in ("fast", "generic"):
            engine = ResidualEngine(problem, model, mode)
            seconds[mode] = median_seconds(lambda: engine.residuals_and_jacobian(batch), repeats)
        n, p = problem.n_points, sum(q.numel() for q in model.parameters())
        result[label] = seconds
        print(f"{label:42s} {n:6d} {p:6d} {seconds['fast']:8.3f} {seconds['generic']:10.3f} "
              f"{seconds['generic'] / seconds['fast']:5.1f}x")
    return result


if __name__ == "__main__":
    main()
