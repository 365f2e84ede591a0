"""Sven on PINN problems next to ENGD-W and SPRING (no paper has this comparison).

poisson2d (P = 257, N = 1020) and poisson5d (P = 10 065, N = 3500): ENGD-W and SPRING with a line
search (and, on poisson2d, dense ENGD as the reference) (poisson2d: the optimizer configs' defaults; poisson5d: the paper's best,
configs/experiment/poisson5d_*_ls.yaml) against Sven with a line search keeping k = 64 singular values
and k = 4·64 (poisson2d: 256 ≈ P, i.e. nearly the full Gauss–Newton pseudoinverse) or 512 (poisson5d).

    python scripts/reproductions/sven_pinns.py --quick
    python scripts/reproductions/sven_pinns.py --override trainer.device=cuda
    python scripts/reproductions/sven_pinns.py --steps 300 --time-budget 0        # equal steps

Writes sven_pinns.png, sven_pinns_metrics.csv and sven_pinns_final.csv into --out.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/ on the path: the shared library `common`
from common.reproduce import Budget, Panel, Run, finals, launch, make_parser, plot_panels, print_table, write_csv  # noqa: E402

SVEN = lambda k: ["optimizer=sven", f"optimizer.k={k}", "optimizer.rtol=0.001", "optimizer.line_search=true"]  # noqa: E731
RUNS = [
    Run("poisson2d", "Sven default (adaptive rtol)", ["optimizer=sven"]),
    Run("poisson5d", "Sven default (adaptive rtol)", ["optimizer=sven"]),
    Run("poisson2d", "ENGD dense LS", ["optimizer=engd"]),
    Run("poisson2d", "ENGD-W LS", ["optimizer=engd_w"]),
    Run("poisson2d", "SPRING LS", ["optimizer=spring"]),
    Run("poisson2d", "Sven k=64 LS", SVEN(64)),
    Run("poisson2d", "Sven k=256 LS", SVEN(256)),
    Run("poisson5d", "ENGD-W LS", ["+experiment=poisson5d_engd_w_ls"]),
    Run("poisson5d", "SPRING LS", ["+experiment=poisson5d_spring_ls"]),
    Run("poisson5d", "Sven k=64 LS", SVEN(64)),
    Run("poisson5d", "Sven k=512 LS", SVEN(512)),
]
PROBLEMS = ["poisson2d", "poisson5d"]


def main(argv=None):
    parser = make_parser(__doc__, "sven_pinns",
                         quick=Budget(steps=100000, time_budget=10, log_every=2),
                         full=Budget(steps=1000000, time_budget=600, log_every=10),
                         full_runtime="9 runs x 600 s budget ≈ 1.5 h on a GPU")
    args = parser.parse_args(argv)
    df = launch(RUNS, args)
    write_csv(df, args, "sven_pinns_metrics")
    final = finals(df)
    write_csv(final, args, "sven_pinns_final")
    print_table(final, ["problem", "label", "steps", "train_time_s", "loss", "l2_rms", "device"])
    plot_panels(df, [Panel(x, "l2_rms", p, {"problem": p}) for p in PROBLEMS for x in ("step", "time_s")],
                args, "sven_pinns", suptitle="Sven on PINNs")
    return final


if __name__ == "__main__":
    main()
