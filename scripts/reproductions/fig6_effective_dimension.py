"""Woodbury paper Fig. 6: effective dimension d_eff(λ)/N = tr(K(K + λI)⁻¹)/N against steps.

ENGD-W (line search) and SPRING (fixed step) on poisson5d with the paper's best λ, and ENGD-W on
poisson2d, all with ``optimizer.effective_dimension=true`` (an N×N eigendecomposition per step, logged
as the metrics column ``d_eff_over_N``). The paper's point: d_eff/N stays above 0.5 through training,
so a 10% Nyström sketch cannot capture the kernel (Fig. 4).

    python scripts/reproductions/fig6_effective_dimension.py --quick
    python scripts/reproductions/fig6_effective_dimension.py --override trainer.device=cuda

Writes fig6_effective_dimension.png, fig6_metrics.csv and fig6_final.csv into --out.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/ on the path: the shared library `common`
from common.reproduce import Budget, Panel, Run, finals, launch, make_parser, plot_panels, print_table, write_csv  # noqa: E402

DEFF = ["optimizer.effective_dimension=true"]
RUNS = [
    Run("poisson5d", "ENGD-W LS", ["+experiment=poisson5d_engd_w_ls", *DEFF]),
    Run("poisson5d", "SPRING fixed", ["+experiment=poisson5d_spring_fixed", *DEFF]),
    Run("poisson2d", "ENGD-W LS", ["optimizer=engd_w", *DEFF]),
]


def main(argv=None):
    parser = make_parser(__doc__, "fig6_effective_dimension",
                         quick=Budget(steps=100000, time_budget=15, log_every=1),
                         full=Budget(steps=2000, log_every=5),
                         full_runtime="about 1 h on a GPU (3 runs x 2000 steps; poisson5d ≈ 1.3 s/step)")
    args = parser.parse_args(argv)
    df = launch(RUNS, args)
    df["label"] = df["problem"] + ": " + df["label"]
    write_csv(df, args, "fig6_metrics")
    final = finals(df)
    final["d_eff_over_N_min"] = df.groupby("run", sort=False)["d_eff_over_N"].min().values
    write_csv(final, args, "fig6_final")
    print_table(final, ["label", "steps", "train_time_s", "l2_rms", "d_eff_over_N", "d_eff_over_N_min", "device"])
    plot_panels(df, [Panel("step", "d_eff_over_N", "effective dimension", hlines={"0.5": 0.5}, yscale="linear"),
                     Panel("step", "l2_rms", "L2 error (RMS)")],
                args, "fig6_effective_dimension", suptitle="d_eff/N during training")
    return final


if __name__ == "__main__":
    main()
