"""Run directories written by earlier versions still load, resume and predict.

``fixtures/run_v1`` was written by pinnsolve before the package was split into layers (commit
f049d65): poisson2d, 30 + 10 points, an 8-wide MLP, ENGD-W, 3 steps, checkpoint at step 3. Its config
names the targets of that layout (``pinnsolve.trainer.Trainer``, …).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from cli_runner import pinnsolve

FIXTURE = Path(__file__).parents[1] / "fixtures" / "run_v1"
SETTINGS = ["problem.n_interior=30", "problem.n_boundary=10", "model.hidden=[8]", "trainer.log_every=1",
            "trainer.progress=false", "trainer.plots=false"]


def test_an_old_run_resumes_bit_for_bit_as_a_run_of_today(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    old = tmp_path / "old"
    shutil.copytree(FIXTURE, old)
    resumed = pinnsolve(f"resume={old}", "trainer.max_steps=6")
    assert resumed.code == 0 and "finished after 6 steps" in resumed.stdout, resumed.output
    straight = pinnsolve(*SETTINGS, "trainer.max_steps=6", f"hydra.run.dir={tmp_path / 'new'}")
    assert straight.code == 0, straight.output
    a = torch.load(old / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "new" / "checkpoint.pt", weights_only=True)
    for key in b["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    assert [row["loss"] for row in a["metrics"]["rows"]] == [row["loss"] for row in b["metrics"]["rows"]]


def test_an_old_run_loads_and_predicts(tmp_path):
    from pinnsolve import load_run
    from pinnsolve.cli.predict import main as predict_main

    loaded = load_run(FIXTURE)
    assert loaded.step == 3 and loaded.problem.name == "poisson2d"
    x = torch.rand(5, 2, dtype=torch.float64)
    assert loaded.predict(x).shape == (5,)
    predict_main([f"run={FIXTURE}", f"out={tmp_path / 'u.csv'}", "resolution=5"])
    assert len((tmp_path / "u.csv").read_text().splitlines()) == 1 + 25


def test_an_old_problem_file_run_names_the_module_it_had_then(tmp_path, monkeypatch):
    """Before the layers, problem=from_file's target was pinnsolve.problem_file.load_problem."""
    monkeypatch.chdir(tmp_path)
    example = Path(__file__).parents[2] / "examples" / "advection_diffusion.py"
    args = ["problem=from_file", f"problem.path={example}", "+problem.n_interior=20", "+problem.n_initial=5",
            "+problem.n_boundary=5", "trainer.max_steps=2", "trainer.progress=false", "trainer.plots=false"]
    assert pinnsolve(*args, f"hydra.run.dir={tmp_path / 'run'}").code == 0
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    state["config"]["problem"]["_target_"] = "pinnsolve.problem_file.load_problem"
    torch.save(state, tmp_path / "run" / "checkpoint.pt")
    hydra_config = tmp_path / "run" / ".hydra" / "config.yaml"
    hydra_config.write_text(hydra_config.read_text().replace("pinnsolve.problem.from_file.load_problem",
                                                             "pinnsolve.problem_file.load_problem"))
    resumed = pinnsolve(f"resume={tmp_path / 'run'}", "trainer.max_steps=3", "problem=from_file", f"problem.path={example}")
    assert resumed.code == 0 and "finished after 3 steps" in resumed.stdout, resumed.output
