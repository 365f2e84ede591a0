"""pinnsolve's steps against the Woodbury paper's own code, side by side, and where the time goes.

    python scripts/reproductions/compare_reference.py                                               # our numbers and the profile only
    python scripts/reproductions/compare_reference.py --reference-python /tmp/ref/venv/bin/python   # and the reference's

poisson5d with the paper's network (5-64-64-48-48-1, P = 10 065), float64, one thread, the same initial
weights and points for both codes (saved by this script, loaded by scripts/reproductions/reference/rla_pinns_step.py
in the reference's environment; see its docstring for the setup). Each measurement is a fresh process
timing ``steps`` steps after ``warmup`` steps on a fixed batch; the two codes are interleaved for
``rounds`` rounds so that a change of machine load hits both. Methods, with the reference's settings:

- ENGD-W + grid line search, λ = 1e-10;
- SPRING, fixed step 0.05, momentum 0.9, λ = 1e-10, norm cap C = 1e-3;
- Nyström (GPU-efficient, sketch 10 % of N, shift 1e-7) + line search, λ = 1e-8.

Then: the profile of our ENGD-W step (Jacobian, kernel, Cholesky, line search) and Sven's training
step on reg1d against Adam's (the trainer's per-step time). Prints tables; nothing is written.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))  # scripts/ on the path: the shared library `common`
from common.measure import median_seconds  # noqa: E402
METHODS = {
    "ENGD-W + line search": ("engd_w", []),
    "SPRING fixed step": ("spring", []),
    "Nystrom 10% + line search": ("nystrom", []),
}


def _ours(method: str, model):
    from pinnsolve.optim import ENGDW, SPRING, Nystrom

    if method == "engd_w":
        return ENGDW(model.parameters(), damping=1e-10)
    if method == "spring":
        return SPRING(model.parameters(), lr=0.05, momentum=0.9, damping=1e-10, norm_constraint=1e-3, line_search=False)
    return Nystrom(model.parameters(), damping=1e-8, sketch_size=0.1, shift=1e-7)


def _problem(n_interior: int, n_boundary: int, weights: str, data: str):
    from pinnsolve import MLP, ConditionPoints, ResidualEngine
    from pinnsolve.problems import poisson5d

    problem = poisson5d.make_problem(n_interior=n_interior, n_boundary=n_boundary)
    model = MLP(5, [64, 64, 48, 48])
    model.load_state_dict(torch.load(weights, weights_only=True))
    points = torch.load(data, weights_only=True)
    batch = {"interior": ConditionPoints(points["X_Omega"]), "boundary": ConditionPoints(points["X_dOmega"])}
    return problem, model, ResidualEngine(problem, model), batch


def counting_closure(engine, batch):
    """An :class:`~pinnsolve.optim.EngineClosure` that counts the losses its line search reads."""
    from pinnsolve.engine import EngineClosure

    class Counting(EngineClosure):
        losses_read = 0

        def losses_at(self, thetas):
            self.losses_read += len(thetas)
            return super().losses_at(thetas)

    return Counting(engine, batch)


def worker(args) -> dict:
    """One measurement of our code in this (fresh, single-threaded) process."""
    from pinnsolve.training.allocator import keep_freed_memory

    keep_freed_memory()  # as the trainer does on the CPU
    torch.set_num_threads(1)
    torch.manual_seed(0)
    _, model, engine, batch = _problem(args.n_interior, args.n_boundary, args.weights, args.data)
    optimizer = _ours(args.method, model)
    times, losses_read = [], []
    for _ in range(args.warmup + args.steps):
        closure = counting_closure(engine, batch)
        start = time.perf_counter()
        optimizer.step(closure)
        times.append(time.perf_counter() - start)
        losses_read.append(closure.losses_read)
    return {"median": statistics.median(times[args.warmup:]), "times": times, "losses_read": losses_read[args.warmup:]}


def measure(code: str, method: str, n: tuple[int, int], files: tuple[str, str], args) -> float | None:
    """Median seconds per step of ``code`` (ours or the reference), in a fresh process."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    common = ["--n-omega", str(n[0]), "--n-boundary", str(n[1]), "--steps", str(args.steps), "--warmup", str(args.warmup)]
    if code == "ours":
        command = [sys.executable, __file__, "--worker", method, "--weights", files[0], "--data", files[1], *common]
        result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
        if result.returncode:
            raise RuntimeError(result.stderr[-2000:])
        out = json.loads(result.stdout.strip().splitlines()[-1])
        args.losses_read.setdefault((method, n), []).extend(out["losses_read"])
        return out["median"]
    extra = {"nystrom": ["--damping", "1e-8"]}.get(method, [])
    command = [args.reference_python, str(HERE / "reference" / "rla_pinns_step.py"), "--time", "--opt", method,
               "--weights", files[0], "--data", files[1], "--threads", "1", *common, *extra]
    if args.same_allocator:  # glibc's settings of pinnsolve.training.allocator, through glibc's own variables
        from pinnsolve.training.allocator import MMAP_THRESHOLD, TRIM_THRESHOLD
        env.update(MALLOC_MMAP_THRESHOLD_=str(MMAP_THRESHOLD), MALLOC_TRIM_THRESHOLD_=str(TRIM_THRESHOLD))
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode:
        print(f"reference {method} failed: {result.stderr[-1500:]}", file=sys.stderr)
        return None
    line = next(li for li in result.stdout.splitlines() if "median" in li)
    return float(line.split("median")[1].split("ms")[0]) / 1e3


def profile(n: tuple[int, int], files: tuple[str, str], repeats: int = 3) -> dict:
    """Seconds of the parts of our ENGD-W step and of the Nyström sketch, one thread."""
    from pinnsolve.training.allocator import keep_freed_memory
    from pinnsolve.engine import EngineClosure
    from pinnsolve.optim import kernel as kn
    from pinnsolve.optim.rows import Rows

    keep_freed_memory()
    torch.set_num_threads(1)
    _, model, engine, batch = _problem(*n, *files)
    closure = EngineClosure(engine, batch)
    r, J = closure.residuals_and_jacobian()
    theta = engine.layout.flatten()
    candidates = theta - torch.pow(2.0, -torch.arange(31, dtype=theta.dtype))[:, None] * torch.randn_like(theta) * 1e-3
    parts = {"Jacobian": lambda: closure.residuals_and_jacobian(),
             "kernel K = JJᵀ (lower)": lambda: kn.gram_lower(J),
             "Cholesky + solve": lambda: kn.damped_solve(kn.gram_lower(J), r, 1e-10, overwrite=True),
             "line search (31 losses)": lambda: closure.losses_at(candidates),
             "one loss": lambda: closure.losses_at(theta[None]),
             "Nyström sketch KΩ, ℓ = N/10": lambda: Rows(r, J).kernel_times(torch.randn(J.shape[0], J.shape[0] // 10,
                                                                                         dtype=J.dtype))}
    out = {name: median_seconds(fn, repeats) for name, fn in parts.items()}
    out["Cholesky + solve"] -= out["kernel K = JJᵀ (lower)"]
    return out


def sven_against_adam(steps: int = 300) -> dict:
    """Per-step training time on reg1d (batch 32, 593 parameters): Sven (the paper's settings) and Adam."""
    from pinnsolve import compose_config
    from pinnsolve.cli import run

    out = {}
    for label, overrides in {"Sven (k = 16)": ["+experiment=reg1d_sven"], "Adam": ["problem=reg1d", "optimizer=adam"]}.items():
        cfg = compose_config([*overrides, f"trainer.max_steps={steps}", "trainer.log_every=100", "trainer.threads=1",
                              "trainer.progress=false", "trainer.plots=false", "trainer.checkpoint_every=100000"])
        with tempfile.TemporaryDirectory() as tmp:
            summary = run(cfg, tmp)
        out[label] = summary["train_time_s"] / summary["steps"]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference-python", default=None, help="python of the reference's environment (optional)")
    parser.add_argument("--sizes", nargs="*", default=["1000:200", "3000:500"], help="N_Ω:N_∂ pairs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--methods", nargs="*", default=list(METHODS))
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--weights", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--data", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--n-omega", dest="n_interior", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--n-boundary", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--skip-sven", action="store_true")
    parser.add_argument("--same-allocator", action="store_true",
                        help="run the reference with the malloc settings pinnsolve's trainer uses (pinnsolve/training/allocator.py)")
    args = parser.parse_args(argv)
    args.losses_read = {}  # (method, N) -> losses our line search read per measured step
    if args.worker:
        args.method = args.worker
        print(json.dumps(worker(args)))
        return None
    from pinnsolve import MLP, BatchSampler
    from pinnsolve.problems import poisson5d

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            n = tuple(int(v) for v in size.split(":"))
            torch.manual_seed(0)
            model = MLP(5, [64, 64, 48, 48])
            batch = BatchSampler(poisson5d.make_problem(n_interior=n[0], n_boundary=n[1]), 0, "cpu", torch.float64)()
            files = (f"{tmp}/weights_{size}.pt", f"{tmp}/points_{size}.pt")
            torch.save(model.state_dict(), files[0])
            torch.save({"X_Omega": batch["interior"].x, "X_dOmega": batch["boundary"].x}, files[1])
            for label in args.methods:
                method = METHODS[label][0]
                ours, theirs = [], []
                for _ in range(args.rounds):
                    ours.append(measure("ours", method, n, files, args))
                    if args.reference_python:
                        theirs.append(measure("reference", method, n, files, args))
                results.append((label, f"{n[0]} + {n[1]}", ours, [t for t in theirs if t is not None],
                                args.losses_read.get((method, n), [0])))
            parts = profile(n, files)
            print(f"\nprofile of our ENGD-W step, N = {n[0]} + {n[1]}, one thread (median of 3):")
            for name, seconds in parts.items():
                print(f"  {name:28s} {seconds * 1e3:9.1f} ms")
    span = lambda xs: f"{min(xs):.2f}–{max(xs):.2f}" if xs else "—"  # noqa: E731
    print(f"\nseconds per step, one thread, {args.rounds} interleaved rounds (each the median of {args.steps} steps):")
    print(f"{'step':28s} {'N':>11s} {'pinnsolve':>12s} {'reference':>12s} {'reference / ours':>17s} {'our losses/step':>16s}")
    for label, n, ours, theirs, read in results:
        ratio = f"{statistics.median(theirs) / statistics.median(ours):.2f}x" if theirs else "—"
        print(f"{label:28s} {n:>11s} {span(ours):>12s} {span(theirs):>12s} {ratio:>17s} {statistics.mean(read):16.1f}")
    if not args.skip_sven:
        sven = sven_against_adam()
        print("\nreg1d training step (trainer, one thread): " + ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in sven.items())
              + f"; Sven / Adam = {sven['Sven (k = 16)'] / sven['Adam']:.2f}x")
    return results


if __name__ == "__main__":
    main()
