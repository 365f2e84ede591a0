"""A step's parts against the machine's own GEMM rate, measured in the same run (a roofline for the step).

    python scripts/benchmarks/roofline.py                 # poisson5d at the paper's size, N = 3000 + 500
    python scripts/benchmarks/roofline.py --n 1200        # another batch size
    python scripts/benchmarks/roofline.py --smoke         # toy sizes (the tests)

For each part of an ENGD-W step — the Jacobian J (forward Laplacian), the kernel's lower triangle
K = JJᵀ, the Cholesky factorisation of K + λI, the line search's losses — it prints the median time,
its flop count, the rate reached and that rate as a fraction of a plain GEMM ``[N, P] × [P, N]`` timed in
the same run; then the whole step against the time its flops would take at the GEMM rate. Flop counts:
K: 2·Σ_blocks (e − s)·e·P (the blocked lower triangle, ≈ 1.1·N²P); Cholesky: N³/3; Jacobian and each
line-search loss: from the forward-Laplacian channels, 2·C·N·(Σ_l w_{l−1}w_l) per propagation with
C = 1 + d + (Laplacians), three propagations' worth for J (forward, backward, the batched products) and
one per loss; the line search's loss count is read from the step itself (on a CPU it reads 5–8 of its 31
candidates).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from pinnsolve import MLP, BatchSampler, ResidualEngine
from pinnsolve.engine import EngineClosure
from pinnsolve.optim import ENGDW
from pinnsolve.optim.kernel import damped_cholesky, gram_lower, lower_blocks
from pinnsolve.problems import poisson5d

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/ on the path: the shared library `common`
from common.measure import median_seconds  # noqa: E402


class CountingClosure(EngineClosure):
    """An :class:`EngineClosure` that counts the candidate losses the line search reads."""

    read = 0

    def losses_at(self, thetas):
        CountingClosure.read += thetas.shape[0]
        return super().losses_at(thetas)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=3500, help="points per step (6/7 interior, 1/7 boundary)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1, as BENCHMARKS.md measures)")
    parser.add_argument("--smoke", action="store_true", help="toy sizes, for the tests")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    n, hidden = (args.n, [64, 64, 48, 48]) if not args.smoke else (140, [8, 8])
    repeats = 1 if args.smoke else args.repeats
    torch.manual_seed(0)
    problem = poisson5d.make_problem(n_interior=n - n // 7, n_boundary=n // 7)
    model = MLP(5, hidden)
    engine = ResidualEngine(problem, model)
    batch = BatchSampler(problem, 0, torch.device("cpu"), torch.float64)()
    r, J = engine.residuals_and_jacobian(batch)
    N, P = J.shape
    widths = [5, *hidden, 1]
    per_propagation = 2 * sum(a * b for a, b in zip(widths[:-1], widths[1:]))   # flops per point and channel
    channels = {"interior": 1 + 5 + 1, "boundary": 1}                          # value, ∇, Δ: what each residual reads
    flops_forward = sum(channels[c.name] * c.n_points for c in problem.conditions) * per_propagation
    B = torch.randn(P, N, dtype=torch.float64)
    gemm = median_seconds(lambda: J @ B, repeats)
    rate = 2.0 * N * N * P / gemm
    K = gram_lower(J)
    lam = 1e-8 * float(K.diagonal().mean())
    parts = {
        "Jacobian J": (lambda: engine.residuals_and_jacobian(batch), 3 * flops_forward),
        "kernel K = JJᵀ (lower)": (lambda: gram_lower(J), 2.0 * P * sum((e - s) * e for s, e in lower_blocks(N))),
        "Cholesky of K + λI": (lambda: damped_cholesky(K, lam), N**3 / 3),
        "one line-search loss": (lambda: engine.loss(batch), flops_forward),
    }
    print(f"poisson5d, N = {N}, P = {P}, float64, CPU, {torch.get_num_threads()} thread(s), torch {torch.__version__}")
    print(f"GEMM [N, P] x [P, N]: {gemm:.3f} s = {rate / 1e9:.1f} GF/s (the machine's rate, this run)\n")
    print(f"{'part':28s} {'s':>8s} {'GFLOP':>8s} {'GF/s':>7s} {'of GEMM':>8s}")
    result = {"gemm_rate": rate, "parts": {}}
    for label, (fn, flops) in parts.items():
        seconds = median_seconds(fn, repeats)
        result["parts"][label] = (seconds, flops)
        print(f"{label:28s} {seconds:8.3f} {flops / 1e9:8.2f} {flops / seconds / 1e9:7.1f} {flops / seconds / rate:8.0%}")
    optimizer = ENGDW(model.parameters(), damping=lam)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    CountingClosure.read = 0
    step = median_seconds(lambda: optimizer.step(CountingClosure(engine, batch)), repeats)
    model.load_state_dict(state)
    losses_per_step = CountingClosure.read / (repeats + 1)
    loss_flops = parts["one line-search loss"][1]
    step_flops = sum(result["parts"][k][1] for k in ("Jacobian J", "kernel K = JJᵀ (lower)", "Cholesky of K + λI"))
    step_flops += losses_per_step * loss_flops
    bound = step_flops / rate
    print(f"\nENGD-W step (line search, {losses_per_step:.1f} losses read): {step:.3f} s; its {step_flops / 1e9:.1f} "
          f"GFLOP at the GEMM rate take {bound:.3f} s: {bound / step:.0%} of the bound")
    result.update(step=step, bound=bound, losses_per_step=losses_per_step)
    return result


if __name__ == "__main__":
    main()
