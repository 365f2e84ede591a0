"""From a finished run to answers: load_run, predict (values and derivatives), pinnsolve-predict's files,
the solution plot of every kind of problem — each checked by reading back what a user would read."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch

from pinnsolve import ConfigError, compose_config, load_run, solve
from pinnsolve.cli import run
from pinnsolve.cli.predict import main as predict_main

QUIET = ["trainer.progress=false", "trainer.plots=false"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """poisson2d, ENGD-W, 60 steps (l2_rms ~1e-3): a run directory to answer questions from."""
    directory = tmp_path_factory.mktemp("poisson2d")
    summary = run(compose_config(["trainer.max_steps=60", *QUIET, "trainer.log_every=20"]), directory)
    return directory, summary


def test_load_run_predicts_the_solution_and_its_derivatives(trained):
    directory, summary = trained
    loaded = load_run(directory)
    assert loaded.problem.name == "poisson2d" and loaded.step == 60 and loaded.device.type == "cpu"
    x = torch.rand(2000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    exact = torch.sin(math.pi * x[:, 0]) * torch.sin(math.pi * x[:, 1])
    u = loaded.predict(x)
    assert u.shape == (2000,)
    assert (u - exact).square().mean().sqrt() < 3 * summary["final"]["l2_rms"] + 1e-12
    out = loaded.predict(x[:100], derivatives=["grad", "laplacian", "hessian"])
    assert out["grad"].shape == (100, 2) and out["hessian"].shape == (100, 2, 2)
    assert torch.allclose(out["laplacian"], torch.diagonal(out["hessian"], dim1=-2, dim2=-1).sum(-1))
    # the PDE: -Δu = 2π² sin πx sin πy, to the accuracy of the trained network
    assert (out["laplacian"] + 2 * math.pi**2 * exact[:100]).abs().max() < 0.2
    assert torch.allclose(load_run(directory / "checkpoint.pt").predict(x[:5]), u[:5], rtol=1e-13)  # a lone checkpoint


def test_load_run_of_a_solve_run_and_bad_inputs(tmp_path):
    from pinnsolve.problems import poisson2d

    problem = poisson2d.make_problem(n_interior=30, n_boundary=10)
    model, _ = solve(problem, optimizer="adam", hidden=[6], run_dir=tmp_path / "api",
                     overrides=["trainer.max_steps=3", *QUIET])
    job_log = (tmp_path / "api" / "pinnsolve.log").read_text()  # solve() keeps a job log like the CLI's
    assert "[pinnsolve][INFO] poisson2d: finished after 3 steps" in job_log and "run directory:" in job_log
    loaded = load_run(tmp_path / "api")                    # the model rebuilds from its weights
    x = torch.rand(7, 2, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(loaded.predict(x), model(x)[:, 0])
    assert loaded.problem is None and load_run(tmp_path / "api", problem=problem).problem is problem
    with pytest.raises(ConfigError, match=r"points of shape \(7, 3\): this network takes points of shape \[n, 2\]"):
        loaded.predict(torch.rand(7, 3))
    with pytest.raises(ConfigError, match=r"2 of 7 points have NaN or infinite coordinates \(point 1 first\)"):
        loaded.predict(torch.where(torch.isin(torch.arange(7), torch.tensor([1, 4]))[:, None], math.nan, x))
    with pytest.raises(ConfigError, match="no checkpoint found"):
        load_run(tmp_path / "nothing")
    with pytest.raises(ConfigError, match="unknown derivatives"):
        loaded.predict(x, derivatives=["curl"])


def test_predict_command_writes_csv_npz_and_vtk(trained, tmp_path, capsys):
    directory, _ = trained
    points = np.array([[0.5, 0.5], [0.25, 0.75], [0.1, 0.9]])
    np.savetxt(tmp_path / "points.csv", points, delimiter=",", header="x,y", comments="")
    predict_main([f"run={directory}", f"points={tmp_path / 'points.csv'}", f"out={tmp_path / 'u.csv'}",
                  "derivatives=grad,laplacian"])
    rows = list(csv.DictReader(open(tmp_path / "u.csv")))
    assert list(rows[0]) == ["x", "y", "u", "du_dx", "du_dy", "laplacian_u"] and len(rows) == 3
    expected = load_run(directory).predict(points)
    assert np.allclose([float(r["u"]) for r in rows], expected.numpy(), rtol=1e-12)
    np.save(tmp_path / "points.npy", points)
    predict_main([f"run={directory}", f"points={tmp_path / 'points.npy'}", f"out={tmp_path / 'u.npz'}"])
    with np.load(tmp_path / "u.npz") as data:
        assert np.allclose(data["u"], expected.numpy()) and data["points"].shape == (3, 2)
    predict_main([f"run={directory}", f"out={tmp_path / 'grid.vtu'}", "resolution=11"])   # no points: a grid
    import meshio

    mesh = meshio.read(tmp_path / "grid.vtu")
    assert mesh.points.shape == (121, 3) and mesh.point_data["u"].shape == (121,)
    quads = mesh.cells_dict["quad"]  # a surface, not a point cloud: the 10 x 10 cells of the unit square
    assert quads.shape == (100, 4)
    corners = mesh.points[quads[0], :2]
    assert np.allclose(np.abs(np.diff(corners, axis=0, append=corners[:1])).sum(), 0.4)  # a 0.1 x 0.1 square


def test_residuals_at_points_are_the_pde_s(trained, tmp_path):
    """residuals=true: −Δu − f for the PDE and u for the boundary of poisson2d, against predict's own Laplacian."""
    directory, _ = trained
    loaded = load_run(directory)
    x = torch.tensor([[0.5, 0.5], [0.2, 0.7], [0.9, 0.1]], dtype=torch.float64)
    derivatives = loaded.predict(x, derivatives=["laplacian"])
    f = 2 * math.pi**2 * torch.sin(math.pi * x[:, 0]) * torch.sin(math.pi * x[:, 1])
    residuals = loaded.residuals(x)
    assert set(residuals) == {"interior", "boundary"}
    assert torch.allclose(residuals["interior"], -derivatives["laplacian"] - f, rtol=1e-10, atol=1e-10)
    assert torch.allclose(residuals["boundary"], derivatives["value"], rtol=1e-12, atol=1e-14)
    np.save(tmp_path / "points.npy", x.numpy())
    predict_main([f"run={directory}", f"points={tmp_path / 'points.npy'}", f"out={tmp_path / 'r.csv'}", "residuals=true"])
    rows = list(csv.DictReader(open(tmp_path / "r.csv")))
    assert np.allclose([float(r["residual_interior"]) for r in rows], residuals["interior"].numpy(), rtol=1e-12)


@pytest.mark.parametrize("args,message", [
    (["out=u.csv"], "run= is required"),
    (["run=nowhere", "out=u.csv"], "no checkpoint found"),
    (["run={run}", "points={tmp}/wide.npy", "out={tmp}/u.csv"], "points of shape (2, 3)"),
    (["run={run}", "points={tmp}/wide.npy", "out={tmp}/u.xlsx"], "use .csv, .npz, .vtu or .vtk"),
    (["run={run}", "colour=red", "out=u.csv"], "arguments are key=value with key one of"),
    (["run=nowhere", "out=u.csv"], "run=nowhere: no checkpoint found"),
    (["run={run}", "points={tmp}/objects.npy", "out={tmp}/u.csv"], "it holds Python objects, not numbers"),
    (["run={run}", "points={tmp}/objects.npz", "out={tmp}/u.csv"], "it holds Python objects, not numbers"),
    (["run={run}", "points={tmp}/nan.npy", "out={tmp}/u.csv"], "1 point(s) have NaN or infinite coordinates (row 1 first)"),
    (["run={run}", "out={tmp}/afile/u.csv"], "cannot write in"),
    (["run={run}", "out={tmp}"], "use .csv, .npz, .vtu or .vtk"),
    (["run={run}", "out={tmp}/dir.csv"], "is a directory; name a file in it"),
    (["run={run}", "out={tmp}/u.csv", "resolution=-1"], "resolution=-1: give at least 2 grid points per axis"),
    (["run={run}", "out={tmp}/u.csv", "resolution=0"], "resolution=0: give at least 2 grid points per axis"),
    (["run={run}", "out={tmp}/u.csv", "resolution=abc"], "resolution=abc: give a whole number of grid points per axis"),
    (["run={run}", "out={tmp}/u.csv", "resolution=1000000"], "resolution=1000000: a grid of 1000000^2 = 1e+12 points needs about"),
    (["run={run}", "out={tmp}/u.csv", "device=xyz"], "unknown device 'xyz'"),
    (["run={run}", "out={tmp}/u.csv", "residuals=yes"], "residuals=yes: give true or false"),
    (["run={run}", "out={tmp}/u.csv", "problem={tmp}/none.py"], "none.py: no such file"),
])
def test_predict_command_errors_name_the_fix(args, message, trained, tmp_path, capsys):
    np.save(tmp_path / "wide.npy", np.zeros((2, 3)))
    np.save(tmp_path / "objects.npy", np.array([{"x": 1}], dtype=object))
    np.savez(tmp_path / "objects.npz", points=np.array([{"x": 1}], dtype=object))
    np.save(tmp_path / "nan.npy", np.array([[0.5, 0.5], [np.nan, 0.5]]))
    (tmp_path / "afile").write_text("a file, not a directory")
    (tmp_path / "dir.csv").mkdir()
    args = [a.replace("{run}", str(trained[0])).replace("{tmp}", str(tmp_path)) for a in args]
    with pytest.raises(SystemExit) as exit_info:
        predict_main(args)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err.replace("\n", " ")


def test_the_solution_plot_shows_the_domain_and_the_residual_without_an_exact_solution(tmp_path):
    """heat_ball (a 5-ball in space) without its exact solution: prediction and |residual|, blank outside."""
    from pinnsolve.geometry.grids import slice_grid
    from pinnsolve.models import MLP
    from pinnsolve.training.plots import plot_slice
    from pinnsolve.problems import heat_ball

    problem = heat_ball.make_problem(n_interior=20, n_initial=5, n_boundary=5)
    problem.exact = None
    points, A, B, inside = slice_grid(problem, 41, dims=(1, 2))
    assert 0 < int(inside.sum()) < inside.numel()                 # the (x1, x2) slice of the ball is a disk
    plot_slice(problem, MLP(6, [8]), None, tmp_path / "slice.png")
    data = (tmp_path / "slice.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000


@pytest.mark.parametrize("logger", ["tensorboard", "mlflow", "wandb"])
def test_each_logger_writes_what_can_be_read_back(logger, tmp_path, monkeypatch):
    pytest.importorskip({"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb"}[logger])
    monkeypatch.setenv("WANDB_SILENT", "true")
    cfg = compose_config([f"logger={logger}", "trainer.max_steps=4", "trainer.log_every=2", "problem.n_interior=30",
                          "problem.n_boundary=10", *QUIET])
    summary = run(cfg, tmp_path)
    losses = {int(r["step"]): float(r["loss"]) for r in csv.DictReader(open(tmp_path / "metrics.csv"))}
    if logger == "tensorboard":
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        events = EventAccumulator(str(tmp_path / "tensorboard"))
        events.Reload()
        read = {e.step: e.value for e in events.Scalars("loss")}
        assert read.keys() == losses.keys() and all(abs(read[s] - losses[s]) <= 1e-6 * abs(losses[s]) for s in read)
        assert "final/l2_rms" in events.Tags()["scalars"]
    elif logger == "mlflow":
        import mlflow

        client = mlflow.tracking.MlflowClient((tmp_path / "mlruns").resolve().as_uri())
        (found,) = client.search_runs([client.get_experiment_by_name("pinnsolve").experiment_id])
        history = {m.step: m.value for m in client.get_metric_history(found.info.run_id, "loss")}
        assert history == losses and found.data.params["optimizer._target_"] == "pinnsolve.optim.ENGDW"
        assert found.info.status == "FINISHED"
    else:  # the offline run's record log (protobuf) holds every value as its JSON text
        import json

        import time

        (record_log,) = (tmp_path / "wandb").glob("offline-run-*/run-*.wandb")
        wanted = [json.dumps(value).encode() for value in [*losses.values(), summary["final"]["loss"]]] + [b"final_loss"]
        deadline = time.monotonic() + 30  # wandb's service process may still be writing after finish() (seen once under load)
        while not all(text in record_log.read_bytes() for text in wanted):
            assert time.monotonic() < deadline, "the offline run's record log lacks logged values"
            time.sleep(0.5)


def test_a_missing_logger_package_names_the_extra(monkeypatch):
    import builtins

    from pinnsolve.training.loggers import TensorBoardLogger

    real_import = builtins.__import__

    def without_tensorboard(name, *args, **kwargs):
        if name.startswith("tensorboard"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_tensorboard)
    with pytest.raises(ConfigError, match=r'logger=tensorboard needs the package .tensorboard.: pip install "pinnsolve\[tensorboard\]"'):
        TensorBoardLogger("/tmp/unused")


def test_an_optuna_search_over_damping_and_step(tmp_path, monkeypatch):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    import yaml

    from cli_runner import pinnsolve as in_process

    monkeypatch.chdir(tmp_path)
    result = in_process("-m", "+hparams_search=poisson2d_optuna", "hydra.sweeper.n_trials=2", "trainer.max_steps=3",
                        "problem.n_interior=30", f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert result.code == 0, result.output
    best = yaml.safe_load((tmp_path / "sweep" / "optimization_results.yaml").read_text())
    assert set(best["best_params"]) == {"optimizer.damping", "optimizer.lr"} and math.isfinite(best["best_value"])
    rows = list(csv.DictReader(open(tmp_path / "sweep" / "summary.csv")))
    assert len(rows) == 2 and min(float(r["final_l2_rel"]) for r in rows) == pytest.approx(best["best_value"])


def test_a_run_directory_from_before_the_problems_moved_still_loads_and_resumes(trained, tmp_path):
    """Runs written when the shipped problems were the top-level package ``problems`` name ``problems.X``."""
    import shutil

    import yaml

    from cli_runner import pinnsolve as in_process

    directory, _ = trained
    old = tmp_path / "old_run"
    shutil.copytree(directory, old)
    state = torch.load(old / "checkpoint.pt", weights_only=True)
    assert state["config"]["problem"]["_target_"] == "pinnsolve.problems.poisson2d.make_problem"
    state["config"]["problem"]["_target_"] = "problems.poisson2d.make_problem"
    torch.save(state, old / "checkpoint.pt")
    (old / ".hydra").mkdir(exist_ok=True)
    saved = dict(state["config"])
    (old / ".hydra" / "config.yaml").write_text(yaml.safe_dump(saved))

    assert load_run(old).problem.name == "poisson2d"
    result = in_process(f"resume={old}", "trainer.max_steps=62", *QUIET)
    assert result.code == 0, result.output
    assert [int(r["step"]) for r in csv.DictReader(open(old / "metrics.csv"))][-1] >= 61
