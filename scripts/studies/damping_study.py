"""Default damping against the best fixed λ: every PINN problem, equal steps, ENGD-W (+ SPRING, Nyström).

For each problem and method: the config's default (``optimizer.damping=auto``: λ relative to tr K/N,
adapted from the line search's step, at least 1e-4 times the loss with fresh points;
pinnsolve/optim/damping.py), fixed λ ∈ {1e-12, 1e-11, …, 1e-2}
and the papers' tuned λ where the paper (Guzmán-Cordero et al. 2025) gives one, each for ``--steps`` steps from the same seeds. The
table (problem × {default, best swept λ, papers' λ}) compares medians over the seeds:

    python scripts/studies/damping_study.py --quick                                        # CPU sizes, about 3 hours on 2 cores
    python scripts/studies/damping_study.py --quick --problems poisson2d heat1d --methods engd_w spring
    python scripts/studies/damping_study.py --quick --problems logfp9d --big-seeds 0 1 2   # RESULTS.md: three seeds
    python scripts/studies/damping_study.py --gather --out <dir>                           # only rebuild the table from finished runs
    python scripts/studies/damping_study.py --override trainer.device=cuda                 # full mode: the papers' sizes

Writes damping_study_runs.csv (one row per run), damping_study_table.csv and damping_study.png
(final l2_rel against λ per problem, the default as a horizontal line) into --out. Budgets are
steps, not seconds: the rules cost the same per step (the adaptive rule adds O(NP) for tr K/N), so
equal steps are equal time.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/ on the path: the shared library `common`
from common.reproduce import Budget, Panel, Run, launch, make_parser, plot_panels, write_csv  # noqa: E402

SWEEP = ["%g" % 10.0**-k for k in range(12, 1, -1)]     # the λ of a run as its config holds it, "%g"
METHODS = {"engd_w": ["optimizer=engd_w"], "spring": ["optimizer=spring"],
           "nystrom": ["optimizer=nystrom"]}
PAPER_LAMBDA = {("poisson5d", "engd_w"): "3.17e-12", ("poisson10d", "engd_w"): "3.9e-07",
                ("heat4d", "engd_w"): "1.93e-07", ("poisson5d", "spring"): "2.09e-10",
                ("poisson10d", "spring"): "1.7e-07"}
TARGETS = {"pinnsolve.optim.ENGDW": "engd_w", "pinnsolve.optim.SPRING": "spring", "pinnsolve.optim.Nystrom": "nystrom"}
# CPU sizes (--quick): the shipped problems with fewer points and, above 10 000 parameters, a
# 64-64-48-48 network; the problems of this study keep their shipped sizes. These are study sizes, not
# smoke sizes, so they stay here (--smoke uses the shared table pinnsolve.problems.sizes).
QUICK = {
    "poisson2d": [], "heat1d": [], "heat_ball": [], "nonlinear_disk": [], "helmholtz2d": [],
    "poisson5d": ["problem.n_interior=1000", "problem.n_boundary=200"],
    "poisson10d": ["problem.n_interior=300", "problem.n_boundary=100", "model.hidden=[64,64,48,48]"],
    "heat4d": ["problem.n_interior=500", "problem.n_initial=50", "problem.n_boundary=50", "model.hidden=[64,64,48,48]"],
    "logfp9d": ["problem.n_interior=500", "problem.n_initial=150", "model.hidden=[64,64,48,48]"],
    "poisson100d": ["problem.n_interior=100", "problem.n_boundary=50", "model.hidden=[128,128]"],
}
SMALL_PROBLEMS = ("poisson2d", "heat1d", "nonlinear_disk", "helmholtz2d")


def runs(problems, methods, seeds, quick: bool, big_seeds, big_sweep=SWEEP) -> list[Run]:
    out = []
    for problem in problems:
        sizes = QUICK[problem] if quick else []
        sweep = SWEEP if problem in SMALL_PROBLEMS else big_sweep
        for method in methods:
            base = [*METHODS[method], *sizes]
            values = [("default", "auto", base)] + [(f"λ = {v}", v, [*base, f"optimizer.damping={v}"]) for v in sweep]
            if (problem, method) in PAPER_LAMBDA:
                v = PAPER_LAMBDA[(problem, method)]
                values.append((f"paper λ = {v}", v, [*base, f"optimizer.damping={v}"]))
            for seed in (seeds if problem in SMALL_PROBLEMS else big_seeds):
                for label, value, overrides in values:
                    out.append(Run(problem, label, [*overrides, f"seed={seed}"],
                                   meta={"method": method, "setting": value, "seed": seed}))
    return out


def gather(out: Path) -> pd.DataFrame:
    """One row per finished run under ``out/runs``: problem, method, λ and seed (from its config.yaml),
    status, steps, time, final metrics."""
    rows = []
    for summary_file in sorted((out / "runs").glob("*/summary.json")):
        summary = json.loads(summary_file.read_text())
        cfg = OmegaConf.load(summary_file.parent / "config.yaml")
        damping = cfg.optimizer.damping
        rows.append({"problem": summary["problem"], "method": TARGETS.get(cfg.optimizer._target_, cfg.optimizer._target_),
                     "damping": damping if damping == "auto" else "%g" % float(damping), "seed": int(cfg.seed),
                     "status": summary["status"], "steps": summary["steps"], "train_time_s": summary["train_time_s"],
                     **{f"final_{k}": v for k, v in summary["final"].items()}})
    return pd.DataFrame(rows)


def table(df: pd.DataFrame) -> pd.DataFrame:
    """problem × method: the default's median l2_rel, the best swept λ by median and the paper's λ."""
    lines = []
    for (problem, method), g in df.groupby(["problem", "method"], sort=False):
        med = {value: statistics.median(v["final_l2_rel"]) for value, v in g.groupby("damping")}
        swept = {v: m for v, m in med.items() if v in SWEEP}
        if not swept or "auto" not in med:  # unfinished: nothing to compare yet
            continue
        best = min(swept, key=swept.get)
        paper = PAPER_LAMBDA.get((problem, method))
        lines.append({"problem": problem, "method": method, "seeds": g["seed"].nunique(), "steps": int(g["steps"].max()),
                      "default_l2_rel": med["auto"], "best_lambda": best, "best_l2_rel": swept[best],
                      "ratio_default_to_best": med["auto"] / swept[best],
                      "paper_lambda": paper, "paper_l2_rel": med.get(paper, math.nan) if paper else math.nan,
                      "default_no_progress": bool((g[g["damping"] == "auto"]["final_l2_rel"] > 0.5).any())})
    return pd.DataFrame(lines)


def main(argv=None):
    parser = make_parser(__doc__, "damping_study", quick=Budget(steps=200, log_every=10), full=Budget(steps=1000, log_every=10),
                         full_runtime="hours on a GPU (11 problems × 13 λ settings × seeds)", threads=1)
    parser.add_argument("--problems", nargs="*", default=list(QUICK))
    parser.add_argument("--methods", nargs="*", default=["engd_w"], choices=list(METHODS))
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2], help="seeds of the 2-d problems")
    parser.add_argument("--big-seeds", type=int, nargs="*", default=[0], help="seeds of the larger problems")
    parser.add_argument("--big-sweep", nargs="*", default=SWEEP, help="λ values of the larger problems (default: all)")
    parser.add_argument("--gather", action="store_true", help="only build the table from finished runs in --out")
    args = parser.parse_args(argv)
    if args.smoke:
        args.problems, args.seeds, args.big_seeds = ["poisson2d"], [0], [0]
    if not args.gather:
        todo = runs(args.problems, args.methods, args.seeds, quick=args.quick or args.smoke, big_seeds=args.big_seeds,
                    big_sweep=["%g" % float(v) for v in args.big_sweep])
        if args.smoke:
            todo = [r for r in todo if r.meta["setting"] in ("auto", "1e-10")]
        launch(todo, args)
    df = gather(Path(args.out))
    write_csv(df, args, "damping_study_runs")
    result = table(df)
    write_csv(result, args, "damping_study_table")
    print(result.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    curves = df[df["damping"].isin(SWEEP)].assign(lam=lambda d: d["damping"].astype(float))
    curves = curves.groupby(["problem", "method", "lam"], as_index=False)["final_l2_rel"].median()
    curves["label"] = curves["method"]
    panels = [Panel("lam", "final_l2_rel", problem, where={"problem": problem},
                    hlines={f"default ({m})": (float(result[(result.problem == problem) & (result.method == m)]["default_l2_rel"].iloc[0]), m)
                            for m in result[result.problem == problem]["method"]}, marker="o-", xlabel="fixed damping λ")
              for problem in result["problem"].unique()]
    curves["device"] = "cpu"
    plot_panels(curves, panels, args, "damping_study", suptitle="final l2_rel (median over seeds): fixed λ against the default")
    return result


if __name__ == "__main__":
    main()
