"""The hard-PDE yardsticks against their published records: Burgers, Allen–Cahn, wave, convection,
reaction, Kovasznay (Re = 40), the multi-scale heat equation and the inverse diffusivity field.

Every problem runs as a new user would run it: its recipe where one ships
(``pinnsolve +experiment=<name>_best``, method ``recipe``), its config's defaults (``pinnsolve problem=<name>``),
a time budget per run, one or more seeds, with ENGD-W and SPRING (the CLI's natural-gradient
defaults) next to the first-order baseline of Rathore et al. (Adam for 1000 steps, then L-BFGS:
``optimizer=adam_lbfgs``), L-BFGS and Adam. The final table sets each run's relative L2 error (for
Kovasznay ``l2_rel_u`` and ``l2_rel_v``, for the diffusivity field ``l2_rel_u`` and ``l2_rel_a``)
beside the best record the problem's module lists (``RECORDS``) and their ratio (< 1: the record is
beaten). One seed is not a result: pass ``--seeds 3``.

    python scripts/studies/yardsticks.py --quick                                # 20 s per run
    OMP_NUM_THREADS=1 python scripts/studies/yardsticks.py --time-budget 300 --seeds 3 --threads 1
    python scripts/studies/yardsticks.py --problems wave burgers --methods engd_w

Writes yardsticks.png, yardsticks_metrics.csv and yardsticks_final.csv into --out.
"""

import importlib
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/ on the path: the shared library `common`
from pinnsolve.cli import CONFIG_DIR  # noqa: E402
from common.reproduce import Budget, Panel, Run, finals, launch, make_parser, plot_panels, print_table, write_csv  # noqa: E402

PROBLEMS = ["burgers", "allen_cahn", "wave", "convection", "reaction", "kovasznay", "heat2d_ms", "inverse_diffusivity"]
ERRORS = {"kovasznay": ["l2_rel_u", "l2_rel_v"], "inverse_diffusivity": ["l2_rel_u", "l2_rel_a"]}
METHODS = {"recipe": "recipe", "engd_w": "ENGD-W", "spring": "SPRING", "adam_lbfgs": "Adam→L-BFGS", "lbfgs": "L-BFGS", "adam": "Adam"}


def record(problem: str, column: str) -> tuple[float, str]:
    """The smallest published value of ``column`` in the problem module's ``RECORDS`` and its source
    (NaN where none is published)."""
    rows = [r for r in importlib.import_module(f"pinnsolve.problems.{problem}").RECORDS if column in r]
    if not rows:
        return math.nan, "no published record"
    best = min(rows, key=lambda r: r[column])
    return best[column], f"{best['method']} ({best['source']})"


def has_recipe(problem: str) -> bool:
    return (Path(CONFIG_DIR) / "experiment" / f"{problem}_best.yaml").is_file()


def method_overrides(problem: str, method: str) -> list[str]:
    """The recipe's experiment config, or the optimizer on the problem's defaults."""
    return [f"+experiment={problem}_best"] if method == "recipe" else [f"optimizer={method}"]


def error_columns(problem: str) -> list[str]:
    return ERRORS.get(problem, ["l2_rel"])


def main(argv=None):
    parser = make_parser(__doc__, "yardsticks",
                         quick=Budget(steps=100000, time_budget=20, log_every=10),
                         full=Budget(steps=1000000, time_budget=300, log_every=10),
                         full_runtime="8 problems x 5 methods x 300 s ≈ 3.3 h per seed on one CPU thread")
    parser.add_argument("--problems", nargs="+", default=PROBLEMS, choices=PROBLEMS)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--seeds", type=int, default=1, help="seeds per problem and method (0, 1, …)")
    args = parser.parse_args(argv)
    missing = [p for p in args.problems if "recipe" in args.methods and not has_recipe(p)]
    if missing:
        print(f"no recipe ships for {', '.join(missing)}: their recipe rows are left out")
    runs = [Run(p, METHODS[m], method_overrides(p, m) + [f"seed={s}"], {"seed": s})
            for p in args.problems for m in args.methods for s in range(args.seeds) if m != "recipe" or has_recipe(p)]
    df = launch(runs, args)
    write_csv(df, args, "yardsticks_metrics")
    final = finals(df)
    rows = []
    for _, row in final.iterrows():
        for column in error_columns(row["problem"]):
            best, source = record(row["problem"], column)
            rows.append({"problem": row["problem"], "method": row["label"], "seed": row["seed"], "error": column,
                         "value": row[column], "record": best, "ratio": row[column] / best,
                         "steps": row["steps"], "train_time_s": row["train_time_s"], "record_source": source})
    table = final.__class__(rows)
    write_csv(table, args, "yardsticks_final")
    print_table(table, ["problem", "method", "seed", "error", "value", "record", "ratio", "steps"])
    plot_panels(df, [Panel("time_s", error_columns(p)[0], p, {"problem": p}) for p in args.problems],
                args, "yardsticks", suptitle="Hard-PDE yardsticks")
    return table


if __name__ == "__main__":
    main()
