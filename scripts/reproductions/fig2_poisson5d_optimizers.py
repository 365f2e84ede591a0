"""Woodbury paper Fig. 2/7: poisson5d with SGD, Adam, dense ENGD, ENGD-W, SPRING and Sven.

Loss and L2 error (RMS) against steps and against training time, log-log. Hyper-parameters: the
papers' best (configs/experiment/poisson5d_*.yaml); Sven (not in the paper) with a line search and no
cap on k (the rank it keeps reached 1195).

    python scripts/reproductions/fig2_poisson5d_optimizers.py --quick                          # CPU, ~2 min
    python scripts/reproductions/fig2_poisson5d_optimizers.py --override trainer.device=cuda   # full, GPU
    python scripts/reproductions/fig2_poisson5d_optimizers.py --steps 500 --time-budget 0      # equal steps

Writes fig2_poisson5d.png, fig2_poisson5d_metrics.csv (every logged row of every run) and
fig2_poisson5d_final.csv (one row per run) into --out.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/ on the path: the shared library `common`
from common.reproduce import Budget, Panel, Run, finals, launch, make_parser, plot_panels, print_table, write_csv  # noqa: E402

RUNS = [
    Run("poisson5d", "SGD", ["optimizer=sgd"]),
    Run("poisson5d", "Adam", ["optimizer=adam"]),
    Run("poisson5d", "ENGD dense", ["+experiment=poisson5d_engd"]),
    Run("poisson5d", "ENGD-W LS", ["+experiment=poisson5d_engd_w_ls"]),
    Run("poisson5d", "SPRING LS", ["+experiment=poisson5d_spring_ls"]),
    Run("poisson5d", "SPRING fixed", ["+experiment=poisson5d_spring_fixed"]),
    Run("poisson5d", "Sven LS", ["optimizer=sven", "optimizer.line_search=true"]),
]


def main(argv=None):
    parser = make_parser(__doc__, "fig2_poisson5d_optimizers",
                         quick=Budget(steps=100000, time_budget=12, log_every=2),
                         full=Budget(steps=1000000, time_budget=1000, log_every=10),
                         full_runtime="7 runs x 1000 s budget ≈ 2 h on a GPU (dense ENGD's steps take ~1 min each)")
    args = parser.parse_args(argv)
    df = launch(RUNS, args)
    write_csv(df, args, "fig2_poisson5d_metrics")
    final = finals(df)
    write_csv(final, args, "fig2_poisson5d_final")
    print_table(final, ["label", "steps", "train_time_s", "loss", "l2_rms", "device", "dtype"])
    plot_panels(df, [Panel("step", "loss"), Panel("step", "l2_rms"), Panel("time_s", "loss"), Panel("time_s", "l2_rms")],
                args, "fig2_poisson5d", suptitle="poisson5d (10 065 parameters)")
    return df


if __name__ == "__main__":
    main()
