"""Adaptive damping against the papers' tuned λ, ENGD-W with a line search.

On poisson2d (tuned λ = 1e-10) and poisson5d (the paper's best λ = 3.17e-12,
configs/experiment/poisson5d_engd_w_ls.yaml): the tuned fixed λ, a fixed λ four orders of magnitude
too large, the default ``optimizer.damping=auto`` and ``optimizer.adaptive_damping=true`` started at
λ = 1e-4 and at λ = 1e-12. The adaptive rule (pinnsolve/optim/damping.py) keeps λ = μ·tr(K)/N and
divides μ by 3 after a line-search step η ≥ 1/4, multiplies it by 3 after η ≤ 1/32 (logged as
``relative_damping``). The question: does it land near the tuned error without a search over λ?
``scripts/studies/damping_study.py`` asks the same on every PINN problem against a whole sweep of λ.

    python scripts/studies/adaptive_damping.py --quick                          # CPU, poisson5d on 1000 + 200 points
    python scripts/studies/adaptive_damping.py --override trainer.device=cuda   # full, papers' sizes
    python scripts/studies/adaptive_damping.py --steps 200 --time-budget 0      # equal steps

Writes adaptive_damping.png (L2 error and λ against steps), adaptive_damping_metrics.csv and
adaptive_damping_final.csv into --out.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/ on the path: the shared library `common`
from common.reproduce import Budget, Panel, Run, finals, launch, make_parser, plot_panels, print_table, write_csv  # noqa: E402

ADAPTIVE = "optimizer.adaptive_damping=true"
TUNED = {"poisson2d": ("1e-10", ["optimizer=engd_w", "optimizer.damping=1e-10"]),
         "poisson5d": ("3.17e-12", ["+experiment=poisson5d_engd_w_ls"])}


def runs_for(problem: str) -> list[Run]:
    tuned, base = TUNED[problem]
    return [
        Run(problem, f"fixed λ = {tuned} (tuned)", base),
        Run(problem, "fixed λ = 1e-6", [*base, "optimizer.damping=1e-6"]),
        Run(problem, "default (auto)", [*base, "optimizer.damping=auto"]),
        Run(problem, "adaptive from 1e-4", [*base, ADAPTIVE, "optimizer.damping=1e-4"]),
        Run(problem, "adaptive from 1e-12", [*base, ADAPTIVE, "optimizer.damping=1e-12"]),
    ]


RUNS = runs_for("poisson2d") + runs_for("poisson5d")


def main(argv=None):
    parser = make_parser(__doc__, "adaptive_damping",
                         quick=Budget(steps=200, time_budget=15, log_every=5),
                         full=Budget(steps=1000, log_every=10),
                         full_runtime="about 20 min on a GPU (8 runs; poisson5d ≈ 0.1 s/step, poisson2d faster)")
    args = parser.parse_args(argv)
    df = launch(RUNS, args)
    write_csv(df, args, "adaptive_damping_metrics")
    final = finals(df)
    write_csv(final, args, "adaptive_damping_final")
    print_table(final, ["problem", "label", "steps", "train_time_s", "loss", "l2_rms", "damping", "cholesky_retries"])
    panels = [Panel("step", y, f"{problem}", where={"problem": problem})
              for problem in TUNED for y in ("l2_rms", "damping")]
    plot_panels(df, panels, args, "adaptive_damping", ncols=2,
                suptitle="ENGD-W LS: adaptive damping against the tuned λ")
    return final


if __name__ == "__main__":
    main()
