"""The `pinnsolve` command in a subprocess, as a user runs it."""

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[2] / "examples" / "advection_diffusion.py"
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


PDE_EXAMPLES = [  # with EXAMPLE above: every example a tutorial page of the docs shows (tests/test_docs.py)
    ("kovasznay.py", ["+problem.n_interior=40", "+problem.n_boundary=20", "model.hidden=[8]"], ["l2_rel_u", "l2_rel_p"]),
    ("inverse_heat.py", ["+problem.n_interior=40", "+problem.n_initial=10", "+problem.n_boundary=10"], ["kappa"]),
    ("robin_annulus.py", ["+problem.n_interior=40", "+problem.n_boundary=20"], ["l2_rel"]),
]


@pytest.mark.parametrize("example,sizes,names", PDE_EXAMPLES)
def test_every_pde_example_runs_from_the_command_line(example, sizes, names, tmp_path):
    path = EXAMPLE.parent / example
    result = pinnsolve("problem=from_file", f"problem.path={path}", *sizes, "trainer.max_steps=2", *QUICK,
                       f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "finished after 2 steps" in result.stdout
    assert set(names) <= set(next(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))), names
    assert (tmp_path / "run" / "solution_slice.png").is_file()


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


def test_help_names_the_program_and_its_groups(tmp_path):
    from cli_runner import pinnsolve as in_process

    result = in_process("--help")
    assert "pinnsolve — physics-informed neural networks" in result.stdout and "powered by Hydra" not in result.stdout
    assert "optimizer: adam, adam_lbfgs, engd, engd_w" in result.stdout and "optimizer.damping=auto" in result.stdout


def test_the_job_log_is_filled_and_lines_are_whole_without_a_terminal(tmp_path, monkeypatch):
    import io

    from rich.console import Console

    from cli_runner import pinnsolve as in_process
    from pinnsolve.training import progress

    monkeypatch.chdir(tmp_path)
    result = in_process("trainer.max_steps=2", "trainer.progress=false", "trainer.plots=false", f"hydra.run.dir={tmp_path / 'r'}")
    assert result.code == 0 and "finished after 2 steps" in result.stdout
    assert "[pinnsolve][INFO] poisson2d: finished after 2 steps" in (tmp_path / "r" / "pinnsolve.log").read_text()
    display = progress.ProgressDisplay("slow", 100, True)
    display.console = Console(file=io.StringIO(), width=40)      # not a terminal, narrow
    monkeypatch.setattr(progress, "LINE_INTERVAL", 0.0)            # a slow run: every logged step is a line
    display.update(5, 1.234567e-3, 2.5e-4, 60.0, 3600.0)
    display.update(6, 1.1e-3, 2.4e-4, 60.0, 3540.0)
    lines = display.console.file.getvalue().splitlines()
    assert lines == ["slow step 5: loss 1.235e-03  l2_rms 2.500e-04  60000.0 ms/step  left 1:00:00",
                     "slow step 6: loss 1.100e-03  l2_rms 2.400e-04  60000.0 ms/step  left 0:59:00"]


def test_help_explains_each_setting_from_the_config_files(tmp_path):
    result = pinnsolve("optimizer=spring", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = {line.split(":")[0].strip(): line for line in result.stdout.splitlines() if ":" in line}
    assert "# points per Jacobian chunk and per line-search pass" in lines["chunk_size"]
    assert "# adaptive damping with points drawn afresh each step" in lines["loss_floor"]
    assert "# μ of SPRING" in lines["momentum"]   # the chosen optimizer's own comment
    assert "# PDE points" in lines["n_interior"]   # the problem's (a _global_ package file)
    bad = pinnsolve("problem=nope", "--help", cwd=tmp_path)
    assert bad.returncode == 2 and "pinnsolve: error: In 'config': Could not find 'problem/nope'" in bad.stderr
    assert "Traceback" not in bad.stderr
