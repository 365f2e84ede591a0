"""Woodbury paper Fig. 4: randomized Nyström against the exact kernel solve on poisson5d, batch sizes
N ∈ {1000, 5000, 10000} (N_Ω : N_∂ = 6 : 1 as in the 3000 / 500 default), sketch 10% of N.

Per N: exact ENGD-W and SPRING (line search, the paper's best λ, μ: configs/experiment/poisson5d_*_ls.yaml)
against Nyström-ENGD-W (momentum 0) and Nyström-SPRING (μ = 0.063) in both variants, GPU-efficient
(Cholesky only) and standard (QR + SVD), with configs/optimizer/nystrom.yaml's λ = 1e-8 (a tiny λ
amplifies the part of the residual outside the sketch by 1/λ). --quick uses N ∈ {500, 1000, 2000}.

    python scripts/reproductions/fig4_nystrom.py --quick
    python scripts/reproductions/fig4_nystrom.py --override trainer.device=cuda

Writes fig4_nystrom.png, fig4_metrics.csv and fig4_final.csv into --out.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/ on the path: the shared library `common`
from common.reproduce import Budget, Panel, Run, finals, launch, make_parser, mode_of, plot_panels, print_table, write_csv  # noqa: E402

SIZES = {"smoke": [21, 42], "quick": [500, 1000, 2000], "full": [1000, 5000, 10000]}
METHODS = {
    "ENGD-W (exact)": ["+experiment=poisson5d_engd_w_ls"],
    "Nyström-ENGD-W GPU-eff.": ["optimizer=nystrom", "optimizer.variant=gpu_efficient"],
    "Nyström-ENGD-W standard": ["optimizer=nystrom", "optimizer.variant=standard"],
    "SPRING (exact)": ["+experiment=poisson5d_spring_ls"],
    "Nyström-SPRING GPU-eff.": ["optimizer=nystrom", "optimizer.variant=gpu_efficient", "optimizer.momentum=0.063"],
    "Nyström-SPRING standard": ["optimizer=nystrom", "optimizer.variant=standard", "optimizer.momentum=0.063"],
}


def points(n: int) -> list[str]:
    boundary = n // 7
    return [f"problem.n_interior={n - boundary}", f"problem.n_boundary={boundary}"]


def main(argv=None):
    parser = make_parser(__doc__, "fig4_nystrom",
                         quick=Budget(steps=100000, time_budget=5, log_every=1),
                         full=Budget(steps=1000000, time_budget=500, log_every=5),
                         full_runtime="18 runs x 500 s budget ≈ 2.5 h on a GPU")
    parser.add_argument("--sketch", type=float, default=0.1, help="sketch size as a fraction of N (default 0.1)")
    args = parser.parse_args(argv)
    runs = [Run("poisson5d", label, points(n) + o + ([f"optimizer.sketch_size={args.sketch}"] if "nystrom" in o[0] else []),
                {"N": n}) for n in SIZES[mode_of(args)] for label, o in METHODS.items()]
    df = launch(runs, args)
    write_csv(df, args, "fig4_metrics")
    final = finals(df)
    write_csv(final, args, "fig4_final")
    print_table(final, ["N", "label", "steps", "train_time_s", "l2_rms", "device"])
    plot_panels(df, [Panel("time_s", "l2_rms", f"N = {n}", {"N": n}) for n in SIZES[mode_of(args)]],
                args, "fig4_nystrom", ncols=3, suptitle=f"poisson5d: Nyström (sketch {args.sketch:.0%} of N) vs exact")
    return final


if __name__ == "__main__":
    main()
