"""The `pinnsolve` command in a subprocess, as a user runs it."""

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[1] / "examples" / "advection_diffusion.py"
QUICK = ["trainer.progress=false", "trainer.log_every=1"]


def pinnsolve(*args, cwd):
    exe = shutil.which("pinnsolve") or str(Path(sys.executable).parent / "pinnsolve")
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ, "HYDRA_FULL_ERROR": "0"})


def test_cli_writes_the_run_directory(tmp_path):
    out = tmp_path / "run"
    result = pinnsolve("trainer.max_steps=3", *QUICK, f"hydra.run.dir={out}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "finished after 3 steps" in result.stdout
    for name in [".hydra/config.yaml", "metrics.csv", "summary.json", "checkpoint.pt", "history.png", "solution_slice.png"]:
        assert (out / name).is_file(), name
    assert [r["step"] for r in csv.DictReader(open(out / "metrics.csv"))] == ["0", "1", "2", "3"]
    resumed = pinnsolve(f"resume={out}", "trainer.max_steps=5", *QUICK, f"hydra.run.dir={tmp_path / 'r'}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "finished after 5 steps" in resumed.stdout
    assert [r["step"] for r in csv.DictReader(open(out / "metrics.csv"))][-1] == "5"


def test_cli_runs_a_user_problem_file(tmp_path):
    result = pinnsolve("problem=from_file", f"problem.path={EXAMPLE}", "+problem.n_interior=50", "trainer.max_steps=2", *QUICK,
                       "trainer.plots=false", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "advection_diffusion: finished after 2 steps" in result.stdout


@pytest.mark.parametrize("args,message", [
    (["problem=poisson3"], "Could not find 'problem/poisson3'"),
    (["trainer.device=cuda"], "sees no CUDA device"),
    (["trainer.max_steps=-1"], "trainer.max_steps must be a positive integer"),
    (["problem=from_file", "problem.path=missing.py"], "problem.path=missing.py: no such file"),
])
def test_cli_errors_name_the_fix(args, message, tmp_path):
    if "cuda" in args[0]:
        import torch

        if torch.cuda.is_available():
            pytest.skip("CUDA is available here")
    result = pinnsolve(*args, *QUICK, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
