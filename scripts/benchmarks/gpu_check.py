"""One command for a CUDA machine: tests, benchmark against the targets, sync audit, time to accuracy.

    python scripts/benchmarks/gpu_check.py             # on a CUDA machine: about 6–8 minutes on one H100/H200
    python scripts/benchmarks/gpu_check.py --dry-run   # the same plan on the CPU at toy sizes, under a minute
    bash scripts/gpu_check.sh                          # on a lent machine: installs carried wheels, then the above

Sections, each timed and reported even when another fails:

1. the GPU-marked tests (``pytest -m gpu``);
2. the optimizer benchmark on poisson5d at the paper's size (5-64-64-48-48-1, N = 3000 + 500, float64):
   median ms per step next to the targets (ENGD-W + line search ≤ 12 ms, SPRING fixed ≤ 8 ms), and
   Sven's kernel mode against a full SVD of J at P ≈ 10⁵ (target ≥ 10×);
3. a host-synchronisation audit: one step of every natural-gradient optimizer under
   ``torch.cuda.set_sync_debug_mode("error")`` (dry run: tensor methods that read values are trapped);
4. time-to-accuracy runs of 60 s each through the real config path: poisson5d SPRING fixed and ENGD-W +
   line search (the papers' best settings; target l2_rms ≤ 5.4e-7 within 25 s), heat4d ENGD-W.

Writes one Markdown report, ``<out>/gpu_check_<date>_<device>.md`` (default ``docs/gpu/``; dry runs go to
``outputs/gpu_check/``), and prints it.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import re
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
TARGETS_MS = {"ENGD-W + line search": 12.0, "SPRING fixed": 8.0}
TARGET_L2, TARGET_SECONDS, SVEN_TARGET = 5.4e-7, 25.0, 10.0


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def median_ms(fn, device, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def _poisson5d(device, n_interior, n_boundary, hidden):
    from pinnsolve import MLP, BatchSampler, ResidualEngine
    from pinnsolve.problems import poisson5d

    torch.manual_seed(0)
    problem = poisson5d.make_problem(n_interior=n_interior, n_boundary=n_boundary)
    model = MLP(5, hidden).to(device)
    return model, ResidualEngine(problem, model), BatchSampler(problem, 0, device, torch.float64)()


def optimizers(model, n: int) -> dict:
    from pinnsolve.optim import ENGD, ENGDW, SPRING, Nystrom, Sven

    return {
        "ENGD-W + line search": lambda: ENGDW(model.parameters(), damping=1e-10),
        "SPRING fixed": lambda: SPRING(model.parameters(), lr=0.05, damping=1e-10, momentum=0.9, line_search=False),
        "SPRING + line search": lambda: SPRING(model.parameters(), damping=1e-10, momentum=0.2, line_search=True),
        "Nystrom GPU-efficient 10% + line search": lambda: Nystrom(model.parameters(), damping=1e-8, sketch_size=0.1),
        "Nystrom standard 10% + line search": lambda: Nystrom(model.parameters(), damping=1e-8, sketch_size=0.1,
                                                             variant="standard"),
        "Sven kernel (k = N/2)": lambda: Sven(model.parameters(), k=n // 2),
        "ENGD dense + line search": lambda: ENGD(model.parameters(), damping=1e-8),
    }


def section_tests(args, device) -> str:
    command = [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider", str(REPO / "tests")]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600)
    tail = (result.stdout + result.stderr).strip().splitlines()[-1:] or ["(no output)"]
    return f"`{' '.join(command[1:])}` → exit {result.returncode}: {tail[0]}"


def section_benchmark(args, device) -> str:
    from pinnsolve.engine import EngineClosure
    from pinnsolve.optim import kernel as kn
    from pinnsolve.optim.svd import svd_torch

    sizes = (60, 20, [16, 16]) if args.dry_run else (3000, 500, [64, 64, 48, 48])
    model, engine, batch = _poisson5d(device, *sizes)
    n, state = sizes[0] + sizes[1], {k: v.clone() for k, v in model.state_dict().items()}
    lines = [f"poisson5d, N = {n}, P = {engine.num_params}, float64, median of {args.repeats} steps", "",
             "| optimizer | ms / step | target | met |", "| --- | ---: | ---: | --- |"]
    for label, make in optimizers(model, n).items():
        model.load_state_dict(state)
        opt = make()
        ms = median_ms(lambda: opt.step(EngineClosure(engine, batch)), device, args.repeats)
        target = TARGETS_MS.get(label)
        met = "" if target is None else ("yes" if ms <= target else "no")
        lines.append(f"| {label} | {ms:.1f} | {'' if target is None else f'≤ {target:g}'} | {met} |")
    model.load_state_dict(state)
    r, J = engine.residuals_and_jacobian(batch)
    for label, fn in {"Jacobian (engine)": lambda: engine.residuals_and_jacobian(batch),
                      "K = JJᵀ": lambda: kn.kernel(J),
                      "Cholesky solve": lambda: kn.damped_least_squares(J, r, 1e-10),
                      "line search (31 losses)": lambda: EngineClosure(engine, batch).losses_at(
                          engine.layout.flatten().expand(31, -1).contiguous())}.items():
        lines.append(f"| part: {label} | {median_ms(fn, device, args.repeats):.1f} | | |")
    rows, cols = (40, 1000) if args.dry_run else (2000, 100_000)
    Jb = torch.randn(rows, cols, dtype=torch.float64, device=device)
    rb = torch.randn(rows, dtype=torch.float64, device=device)
    t_kernel = median_ms(lambda: kn.truncated_pinv_direction(Jb, rb, rows // 2, 1e-3), device, 3, warmup=1)
    t_svd = median_ms(lambda: svd_torch(Jb, rows // 2), device, 3, warmup=1)
    ratio = t_svd / t_kernel
    lines += ["", f"Sven at N = {rows}, P = {cols}: kernel mode {t_kernel:.1f} ms, full SVD {t_svd:.1f} ms: "
                  f"{ratio:.1f}× (target ≥ {SVEN_TARGET:g}×: {'met' if ratio >= SVEN_TARGET else 'not met'})"]
    return "\n".join(lines)


class _TrapValueReads:
    """CPU stand-in for ``set_sync_debug_mode("error")``: reading a tensor's value on the host raises."""

    METHODS = ("item", "__bool__", "tolist", "__float__", "__int__")

    def __enter__(self):
        self.saved = {m: getattr(torch.Tensor, m) for m in self.METHODS}

        def trap(name):
            def method(self, *a, **k):
                raise RuntimeError(f"host read: Tensor.{name}")
            return method

        for m in self.METHODS:
            setattr(torch.Tensor, m, trap(m))

    def __exit__(self, *exc):
        for m, f in self.saved.items():
            setattr(torch.Tensor, m, f)


def section_sync_audit(args, device) -> str:
    from pinnsolve.engine import EngineClosure

    model, engine, batch = _poisson5d(device, 60, 20, [16, 16])
    if device.type == "cpu":
        # the GPU's batched line search (31 candidates a pass); the CPU's walks its grid and reads losses on purpose
        engine.candidates_per_pass = lambda batch, budget_bytes=None: 31
    lines = ["| optimizer | host synchronisations in one step |", "| --- | --- |"]
    for label, make in optimizers(model, 80).items():
        opt = make()
        opt.step(EngineClosure(engine, batch))  # warm-up: plans, caches, lazy initialisation
        try:
            if device.type == "cuda":
                torch.cuda.set_sync_debug_mode("error")
                try:
                    opt.step(EngineClosure(engine, batch))
                finally:
                    torch.cuda.set_sync_debug_mode("default")
            else:
                with _TrapValueReads():
                    opt.step(EngineClosure(engine, batch))
            verdict = "none"
        except RuntimeError as exc:
            verdict = f"**{str(exc).splitlines()[0][:160]}**"
        lines.append(f"| {label} | {verdict} |")
    return "\n".join(lines)


def section_time_to_accuracy(args, device) -> str:
    from pinnsolve import compose_config
    from pinnsolve.cli import run
    from pinnsolve.problems.sizes import SMOKE  # the dry run's toy sizes: the tests' size table
    runs = {"poisson5d SPRING fixed": ["+experiment=poisson5d_spring_fixed"],
            "poisson5d ENGD-W + line search": ["+experiment=poisson5d_engd_w_ls"],
            "heat4d ENGD-W + line search": ["+experiment=heat4d_engd_w_ls"]}
    lines = [f"{args.seconds:g} s of training each, float64, {device}", "",
             "| run | steps | s / step | final l2_rms | first reached ≤ 5.4e-7 at [s] |", "| --- | ---: | ---: | ---: | ---: |"]
    for label, overrides in runs.items():
        sizes = SMOKE[label.split()[0]] if args.dry_run else []
        cfg = compose_config([*overrides, *sizes, f"trainer.device={device.type}", f"trainer.time_budget={args.seconds}",
                              "trainer.max_steps=1000000", "trainer.progress=false", "trainer.plots=false",
                              "trainer.log_every=10", "trainer.checkpoint_every=1000000"])
        with tempfile.TemporaryDirectory() as tmp:
            summary = run(cfg, tmp)
            rows = list(csv.DictReader(open(Path(tmp) / "metrics.csv")))
        reached = next((float(r["time_s"]) for r in rows if r.get("l2_rms") and float(r["l2_rms"]) <= TARGET_L2), None)
        steps = summary["steps"]
        lines.append(f"| {label} | {steps} | {summary['train_time_s'] / max(1, steps):.4f} | "
                     f"{summary['final'].get('l2_rms', float('nan')):.2e} | {'—' if reached is None else f'{reached:.1f}'} |")
    lines.append(f"\nTarget (H100-class): poisson5d l2_rms ≤ {TARGET_L2:g} within {TARGET_SECONDS:g} s.")
    return "\n".join(lines)


SECTIONS = {"GPU-marked tests": section_tests, "Optimizer benchmark": section_benchmark,
            "Host-synchronisation audit": section_sync_audit, "Time to accuracy": section_time_to_accuracy}



def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="the same plan on the CPU at toy sizes (< 1 minute)")
    parser.add_argument("--out", type=Path, default=None, help="report directory (default docs/gpu, dry run: outputs/gpu_check)")
    parser.add_argument("--seconds", type=float, default=None, help="training seconds per time-to-accuracy run (60; dry run 2)")
    parser.add_argument("--repeats", type=int, default=None, help="timed steps per benchmark entry (20; dry run 2)")
    parser.add_argument("--skip", action="append", default=[], choices=list(SECTIONS), help="leave a section out")
    args = parser.parse_args(argv)
    if not args.dry_run and not torch.cuda.is_available():
        parser.error(f"PyTorch {torch.__version__} sees no CUDA device; run it on a GPU machine, or use --dry-run here")
    device = torch.device("cpu" if args.dry_run else "cuda")
    args.seconds = args.seconds or (2.0 if args.dry_run else 60.0)
    args.repeats = args.repeats or (2 if args.dry_run else 20)
    torch.backends.cuda.matmul.allow_tf32 = False
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    today = datetime.date.today().isoformat()
    header = [f"# GPU check, {today}, {name}", "",
              f"torch {torch.__version__} (CUDA {torch.version.cuda or 'none'}), float64, TF32 off"
              + (", **dry run on the CPU at toy sizes: not a measurement of anything**" if args.dry_run else ""), ""]
    body = []
    for title, section in SECTIONS.items():
        if title in args.skip:
            continue
        start = time.perf_counter()
        try:
            text = section(args, device)
        except Exception:  # noqa: BLE001 - the report says what failed and goes on
            text = "**failed:**\n\n```\n" + traceback.format_exc()[-3000:] + "```"
        body += [f"## {title} ({time.perf_counter() - start:.0f} s)", "", text, ""]
        print(f"{title}: done", file=sys.stderr, flush=True)
    report = "\n".join(header + body)
    out = args.out or (REPO / ("outputs/gpu_check" if args.dry_run else "docs/gpu"))
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"gpu_check_{today}_{re.sub(r'[^A-Za-z0-9]+', '_', name).strip('_')}.md"
    path.write_text(report + "\n")
    print(report)
    print(f"report: {path}", file=sys.stderr)
    return path


if __name__ == "__main__":
    main()
