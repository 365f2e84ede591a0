"""One row per bad input: run it through the real command line (or the API) and expect one clear line.

Every row must end with a non-zero status and a message that names the problem and the fix —
never a traceback. ``{tmp}`` in an argument is the test's temporary directory.
"""

from __future__ import annotations

import shutil
import textwrap

import pytest
import torch

from cli_runner import QUIET, pinnsolve

SMALL = ["problem.n_interior=30", "problem.n_boundary=10", "trainer.max_steps=2", *QUIET]  # poisson2d, shrunk

BATCH_RESIDUAL = '''
from pinnsolve import Box, BoxBoundary, Condition, Problem

def make_problem():
    box = Box(0.0, 1.0, dim=2)
    return Problem("batchwise", [
        Condition("interior", lambda u, x: -u.laplacian() - 1.0, box, 20),
        Condition("boundary", lambda u, x: u.value - x[:, 0], BoxBoundary(box), 8),   # written for a batch
    ])
'''

NO_NETWORK = '''
from pinnsolve import Box, Condition, Problem

def make_problem():
    box = Box(0.0, 1.0, dim=2)
    return Problem("constant", [Condition("interior", lambda u, x: x[0] - 0.5, box, 20)])
'''

TRACED = """
import math, torch
from pinnsolve import Box, BoxBoundary, Condition, Problem

def make_problem():
    box = Box(0.0, 1.0, dim=2)
    def interior(u, x):
        f = 2 * math.pi**2 * torch.sin(math.pi * x[0]) * torch.sin(math.pi * x[1])
        return -u.laplacian() - {interior}
    exact = lambda x: {exact}
    return Problem("traced", [Condition("interior", interior, box, 20),
                              Condition("boundary", lambda u, x: u.value, BoxBoundary(box), 8)], exact=exact)
"""
GOOD_EXACT = "torch.sin(math.pi * x[0]) * torch.sin(math.pi * x[1])"
TRACED_FILES = {  # name: (interior residual's source term, exact solution)
    "numpy_residual": ("torch.as_tensor(__import__('numpy').sin(x.numpy()[0]))", GOOD_EXACT),
    "item_residual": ("f * x[0].item()", GOOD_EXACT),
    "if_residual": ("(f if x[0] > 0.5 else 2 * f)", GOOD_EXACT),
    "exact_for_a_batch": ("f", "torch.sin(math.pi * x[:, 0])"),
    "exact_wrong_shape": ("f", "torch.stack([x[0], x[1]])"),
    "exact_nan": ("f", "x[0] * float('nan')"),
}
TRACED_HINT = "must stay in torch (no numpy, no .item() or float() of a tensor) and must not branch on a tensor's value"

CASES = [  # (id, arguments, expected fragment of the message)
    ("negative damping", ["optimizer.damping=-1"], "optimizer.damping=-1: Invalid damping value: -1 (must be > 0)"),
    ("zero damping", ["optimizer.damping=0"], "optimizer.damping=0: Invalid damping value: 0 (λ = 0 leaves K + λI singular"),
    ("zero damping spring", ["optimizer=spring", "optimizer.damping=0"], "or optimizer=engd (λ = 0 allowed"),
    ("zero lr", ["optimizer.lr=0"], "optimizer.lr=0: the step size must be > 0 and finite (with 0 the parameters never move"),
    ("negative lr", ["optimizer.lr=-1"], "optimizer.lr=-1: the step size must be > 0"),
    ("zero lr adam", ["optimizer=adam", "optimizer.lr=0"], "optimizer.lr=0: the step size must be > 0"),
    ("adam bad beta", ["optimizer=adam", "+optimizer.betas=[2.0,0.9]"], "cannot build the optimizer torch.optim.Adam"),
    ("zero k", ["optimizer=sven", "optimizer.k=0"], "optimizer.k=0: Invalid k value: 0 (must be an integer >= 1 or null)"),
    ("zero sketch", ["optimizer=nystrom", "optimizer.sketch_size=0"], "optimizer.sketch_size=0: Invalid sketch_size value"),
    ("momentum above 1", ["optimizer=spring", "optimizer.momentum=1.5"], "optimizer.momentum=1.5: Invalid momentum value: 1.5 (must be in [0.0, 1.0))"),
    ("unknown svd mode", ["optimizer=sven", "optimizer.svd_mode=nope"], "optimizer.svd_mode=nope: Invalid svd_mode value: nope (choose one of"),
    ("unknown space", ["optimizer.space=kernel"], "optimizer.space=kernel: Invalid space value: kernel (choose one of ('auto', 'sample', 'parameter'))"),
    ("unknown activation", ["model.activation=nope"], "cannot build the model: unknown activation 'nope'; choose one of"),
    ("zero width", ["model.hidden=[0]"], "cannot build the model: MLP widths must be positive"),
    ("unknown jacobian", ["trainer.jacobian=nope"], "trainer.jacobian=nope is not one of ('auto', 'fast', 'generic')"),
    ("zero chunk", ["trainer.chunk_size=0"], "trainer.chunk_size=0: give a positive number of points per chunk"),
    ("negative steps", ["trainer.max_steps=-1"], "trainer.max_steps must be a positive integer, got -1"),
    ("bad divergence factor", ["trainer.divergence_factor=0.5"], "trainer.divergence_factor=0.5: give a factor > 1"),
    ("unknown dtype", ["trainer.dtype=float16"], "unknown trainer.dtype 'float16'"),
    ("zero threads", ["trainer.threads=0"], "trainer.threads=0: give a positive number of CPU threads, or auto"),
    ("seed not a number", ["seed=abc"], "seed=abc: the seed must be an integer"),
    ("unknown problem", ["problem=poisson3"], "Could not find 'problem/poisson3'"),
    ("unknown optimizer", ["optimizer=adamw2"], "Could not find 'optimizer/adamw2'"),
    ("unknown logger", ["logger=nope"], "Could not find 'logger/nope'"),
    ("unknown sampling", ["trainer.sampling=random"], "trainer.sampling=random: sampling='random' is not one of"),
    ("from_file without path", ["problem=from_file"], "problem.path must be given (the Python file that defines make_problem())"),
    ("from_file missing file", ["problem=from_file", "problem.path=missing.py"], "problem.path=missing.py: no such file"),
    ("residual written for a batch", ["problem=from_file", "problem.path={tmp}/batchwise.py"],
     "residual of condition 'boundary' failed for one point (IndexError"),
    ("residual without the network", ["problem=from_file", "problem.path={tmp}/constant.py"],
     "residual of condition 'interior' does not read the network (u)"),
    ("residual with numpy", ["problem=from_file", "problem.path={tmp}/numpy_residual.py"], TRACED_HINT),
    ("residual with item", ["problem=from_file", "problem.path={tmp}/item_residual.py"], TRACED_HINT),
    ("residual with a python if", ["problem=from_file", "problem.path={tmp}/if_residual.py"], "torch.where(condition, a, b)"),
    ("exact solution for a batch", ["problem=from_file", "problem.path={tmp}/exact_for_a_batch.py"],
     "exact(x) is called for ONE point: x has shape [2] (write x[0] for its first coordinate, not x[:, 0])"),
    ("exact solution of the wrong shape", ["problem=from_file", "problem.path={tmp}/exact_wrong_shape.py"],
     "the exact solution gives 2 value(s) per point, but the problem has 1 output(s)"),
    ("exact solution NaN", ["problem=from_file", "problem.path={tmp}/exact_nan.py"],
     "the exact solution is NaN or infinite at 200 of 200 evaluation points"),
    ("infinite damping", ["optimizer.damping=inf"], "optimizer.damping=inf: Invalid damping value: inf (must be > 0 and finite)"),
    ("absurd damping", ["optimizer.damping=1e300"], "above 1e+15 every step is Jᵀr/λ ≈ 0 and the parameters cannot move"),
    ("infinite lr", ["optimizer=adam", "optimizer.lr=inf"], "optimizer.lr=inf: the step size must be > 0 and finite"),
    ("line search maybe", ["optimizer.line_search=maybe"], "optimizer.line_search=maybe: give true or false"),
    ("resample maybe", ["trainer.resample=maybe"], "trainer.resample=maybe: give true or false"),
    ("typo in a trainer key", ["+trainer.max_step=3"], "trainer.max_step is not a setting of pinnsolve.training.Trainer: did you mean trainer.max_steps?"),
    ("typo in an optimizer key", ["+optimizer.dampng=1e-3"], "optimizer.dampng is not a setting of pinnsolve.optim.ENGDW: did you mean optimizer.damping?"),
    ("run directory under a file", ["hydra.run.dir={tmp}/afile/run"], "cannot write the run directory"),
    ("sweep directory under a file", ["-m", "seed=0,1", "hydra.sweep.dir={tmp}/afile/sweep"], "cannot write the sweep directory"),
    ("resume and sweep", ["-m", "seed=0,1", "resume={tmp}/run"], "cannot be combined with -m"),
    ("resume missing", ["resume={tmp}/nothing"], "no checkpoint found"),
    ("cuda without cuda", ["trainer.device=cuda"], "sees no CUDA device"),
]


def _arguments(args: list[str], tmp) -> list[str]:
    return [a.replace("{tmp}", str(tmp)) for a in args]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "batchwise.py").write_text(textwrap.dedent(BATCH_RESIDUAL))
    (tmp_path / "constant.py").write_text(textwrap.dedent(NO_NETWORK))
    (tmp_path / "afile").write_text("not a directory")
    for name, (interior, exact) in TRACED_FILES.items():
        (tmp_path / f"{name}.py").write_text(TRACED.format(interior=interior, exact=exact))
    return tmp_path


@pytest.mark.parametrize("args,fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gets_one_clear_line(args, fragment, workdir):
    if "trainer.device=cuda" in args and torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    base = ["trainer.max_steps=2", *QUIET] if any(a.startswith("problem=") for a in args) else SMALL
    if not any(a.startswith(("hydra.run.dir", "-m")) for a in args):
        base = [*base, f"hydra.run.dir={workdir / 'run'}"]
    flags = [a for a in args if a.startswith("-")]
    result = pinnsolve(*flags, *base, *_arguments([a for a in args if a not in flags], workdir))  # the case's last: they win
    assert result.code != 0, result.output
    assert fragment in result.output, result.output
    assert "Traceback" not in result.output


def _trained_run(workdir, *extra) -> str:
    run = workdir / "trained"
    result = pinnsolve(*SMALL, "trainer.checkpoint_every=1", f"hydra.run.dir={run}", *extra)
    assert result.code == 0, result.output
    return str(run)


def test_resume_refuses_code_named_by_the_run_directory(workdir):
    """A crafted checkpoint naming another _target_ must not run; nor may a nested one."""
    run = _trained_run(workdir)
    for where, target in [("optimizer", "os.system"), ("problem.dim", "builtins.exec")]:
        state = torch.load(f"{run}/checkpoint.pt", weights_only=True)
        node = state["config"]
        *parents, last = where.split(".")
        for key in parents:
            node = node[key]
        if last in node and isinstance(node[last], dict):
            node[last]["_target_"] = target
        else:
            node[last] = {"_target_": target, "_args_": ["echo pwned"]}
        crafted = workdir / f"crafted_{last}"
        shutil.copytree(run, crafted)
        torch.save(state, crafted / "checkpoint.pt")
        result = pinnsolve(f"resume={crafted}", "trainer.max_steps=4")
        assert result.code == 2 and f"names _target_ '{target}'" in result.stderr, result.output
        assert "it cannot name code to run" in result.stderr


def test_resume_refuses_a_pickle_that_runs_code(workdir, capsys):
    run = _trained_run(workdir)

    class Payload:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"model": Payload(), "step": 1}, f"{run}/checkpoint.pt")
    result = pinnsolve(f"resume={run}", "trainer.max_steps=4")
    assert result.code == 2 and "refused for safety" in result.stderr and "pwned" not in result.output
    assert "weights_only" not in result.stderr  # torch's advice to switch the check off is not repeated
    assert "safe_globals" not in result.stderr  # nor its advice to allow the refused global
    from pinnsolve.cli.predict import main as predict_main

    with pytest.raises(SystemExit):
        predict_main([f"run={run}", f"out={workdir / 'u.csv'}"])
    predicted = capsys.readouterr().err
    assert "refused for safety" in predicted and "weights_only" not in predicted and "safe_globals" not in predicted


def test_resume_refuses_a_checkpoint_of_another_optimizer(workdir):
    run = _trained_run(workdir)
    other = workdir / "other"
    assert pinnsolve(*SMALL, "optimizer=adam", "trainer.checkpoint_every=1", f"hydra.run.dir={other}").code == 0
    shutil.copy(other / "checkpoint.pt", f"{run}/checkpoint.pt")
    result = pinnsolve(f"resume={run}", "trainer.max_steps=4")
    assert result.code == 2 and "was written by a run of optimizer 'torch.optim.Adam'" in result.stderr, result.output
    assert "does not belong to this run directory" in result.stderr


def test_resuming_a_problem_file_needs_its_path_again(workdir):
    from pathlib import Path

    example = Path(__file__).parents[2] / "examples" / "advection_diffusion.py"
    args = ["problem=from_file", f"problem.path={example}", "+problem.n_interior=20", "+problem.n_initial=5",
            "+problem.n_boundary=5", "trainer.max_steps=2", *QUIET]
    assert pinnsolve(*args, f"hydra.run.dir={workdir / 'pde'}").code == 0
    refused = pinnsolve(f"resume={workdir / 'pde'}", "trainer.max_steps=3")
    assert refused.code == 2 and f"problem=from_file problem.path={example}" in refused.stderr
    assert "confirm you trust it" in refused.stderr
    accepted = pinnsolve(f"resume={workdir / 'pde'}", "trainer.max_steps=3", "problem=from_file", f"problem.path={example}")
    assert accepted.code == 0 and "finished after 3 steps" in accepted.stdout, accepted.output


def test_solve_refuses_to_overwrite_a_run(tmp_path):
    from pinnsolve import RunDirectoryError, solve
    from pinnsolve.problems import poisson2d

    problem = poisson2d.make_problem(n_interior=20, n_boundary=8)
    args = dict(optimizer="adam", hidden=[4], run_dir=tmp_path / "run", overrides=["trainer.max_steps=2", *QUIET])
    solve(problem, **args)
    assert (tmp_path / "run" / ".hydra" / "config.yaml").is_file()
    with pytest.raises(RunDirectoryError, match="already holds a run; pass resume=.* overwrite=True"):
        solve(problem, **args)
    _, summary = solve(problem, **args, overwrite=True)
    assert summary["steps"] == 2
    with pytest.raises(RunDirectoryError, match="cannot create the run directory"):
        (tmp_path / "file").write_text("x")
        solve(problem, **dict(args, run_dir=tmp_path / "file" / "run"))


def test_a_full_disk_before_the_run_starts_is_one_line(workdir, monkeypatch):
    import errno
    import tempfile

    from pinnsolve.cli import hydra_callbacks

    class FullDisk:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(hydra_callbacks.tempfile, "TemporaryFile", FullDisk)
    result = pinnsolve(*SMALL, f"hydra.run.dir={workdir / 'run'}")
    monkeypatch.setattr(hydra_callbacks.tempfile, "TemporaryFile", tempfile.TemporaryFile)
    assert result.code == 2 and "(No space left on device); free some space" in result.stderr, result.output
    assert "Traceback" not in result.output and not (workdir / "run" / ".hydra").exists()


def test_a_new_run_does_not_replace_an_existing_one(workdir):
    run = _trained_run(workdir)
    before = (workdir / "trained" / "checkpoint.pt").read_bytes()
    refused = pinnsolve(*SMALL, f"hydra.run.dir={run}")
    assert refused.code == 2 and f"already holds a run; continue it with resume={run}" in refused.stderr, refused.output
    assert "overwrite=true" in refused.stderr
    assert (workdir / "trained" / "checkpoint.pt").read_bytes() == before
    replaced = pinnsolve(*SMALL, "trainer.max_steps=3", f"hydra.run.dir={run}", "overwrite=true")
    assert replaced.code == 0 and "finished after 3 steps" in replaced.stdout, replaced.output
    assert torch.load(workdir / "trained" / "checkpoint.pt", weights_only=True)["step"] == 3


def test_a_sweep_with_an_unknown_option_starts_no_job(workdir):
    result = pinnsolve("-m", *SMALL, "optimizer=adam,nope", f"hydra.sweep.dir={workdir / 'sweep'}")
    assert result.code == 2 and "optimizer=adam,nope: no optimizer named nope; the optimizer options are" in result.stderr
    assert "Traceback" not in result.output and not any((workdir / "sweep").glob("*/checkpoint.pt"))
    first = pinnsolve("-m", *SMALL, "seed=0,1", f"hydra.sweep.dir={workdir / 'sweep'}")
    assert first.code == 0, first.output
    again = pinnsolve("-m", *SMALL, "seed=0,1", f"hydra.sweep.dir={workdir / 'sweep'}")
    assert again.code == 2 and "already holds runs" in again.stderr and "overwrite=true" in again.stderr


def test_solve_with_a_problem_name_says_how_to_make_the_problem(tmp_path):
    from pinnsolve import ConfigError, solve

    with pytest.raises(ConfigError, match=r"solve\(\) takes a pinnsolve.Problem object, not str 'poisson2d': pass "
                                          r"pinnsolve.problems.poisson2d.make_problem\(\)"):
        solve("poisson2d", run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_full_disk_at_checkpoint_time_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    import errno

    from pinnsolve import RunDirectoryError, compose_config
    from pinnsolve.runs import checkpoint as ckpt
    from pinnsolve.cli import run

    cfg = compose_config([*SMALL, "trainer.max_steps=4", "trainer.checkpoint_every=2", "optimizer=adam"])
    run(cfg, tmp_path)
    before = (tmp_path / "checkpoint.pt").read_bytes()

    def full_disk(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ckpt, "atomic_write_bytes", full_disk)
    cfg.trainer.max_steps = 6
    cfg.resume = str(tmp_path)
    with pytest.raises(RunDirectoryError, match="No space left on device.*previous checkpoint, if any, is intact"):
        run(cfg, tmp_path)
    assert (tmp_path / "checkpoint.pt").read_bytes() == before
