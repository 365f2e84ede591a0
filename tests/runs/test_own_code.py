"""A run's own code comes back only when the user names it: a network from the user's module with
``allow_modules`` / ``allow_module=``, a problem file with ``problem=<file>``; a run directory alone
never imports anything."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from pinnsolve import ConfigError, load_run
from pinnsolve.cli.predict import main as predict_main
from tests.cli_runner import QUIET, pinnsolve

NETWORK = '''
import torch
from torch import nn
from torch import load  # an attribute of the module that is not a network of it
from torch.nn import Linear  # a network class the module merely imports


class SineNet(nn.Module):
    def __init__(self, in_features, out_features=1, width=8, dtype=torch.float64):
        super().__init__()
        self.inner = nn.Linear(in_features, width, dtype=dtype)
        self.outer = nn.Linear(width, out_features, dtype=dtype)

    def forward(self, x):
        return self.outer(torch.sin(self.inner(x)))
'''
EXAMPLE = Path(__file__).parents[2] / "examples" / "advection_diffusion.py"
SMALL = ["problem.n_interior=30", "problem.n_boundary=10", *QUIET]


@pytest.fixture
def own_network_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "my_nets.py").write_text(NETWORK)
    run = tmp_path / "run"
    result = pinnsolve(*SMALL, "trainer.max_steps=3", "model._target_=my_nets.SineNet", "~model.hidden",
                       "~model.activation", "+model.width=6", f"hydra.run.dir={run}")
    assert result.code == 0, result.output
    return run


def test_a_network_of_the_user_s_module_loads_back_only_when_allowed(own_network_run, tmp_path):
    with pytest.raises(ConfigError, match=r"allow_modules=\['my_nets'\]"):
        load_run(own_network_run)
    loaded = load_run(own_network_run, allow_modules=["my_nets"])
    assert type(loaded.model).__name__ == "SineNet" and loaded.model.inner.out_features == 6
    x = torch.rand(4, 2, dtype=torch.float64)
    saved = torch.load(own_network_run / "checkpoint.pt", weights_only=True)["model"]
    assert torch.equal(loaded.model.outer.weight, saved["outer.weight"])
    assert loaded.predict(x).shape == (4,)
    with pytest.raises(ConfigError, match="my_nets"):  # another module's name does not allow this one
        load_run(own_network_run, allow_modules=["my_net"])

    refused = tmp_path / "refused.csv"
    with pytest.raises(SystemExit):
        predict_main([f"run={own_network_run}", f"out={refused}"])
    assert not refused.exists()
    predict_main([f"run={own_network_run}", f"out={tmp_path / 'u.csv'}", "allow_module=my_nets", "resolution=5"])
    assert len(list(csv.DictReader(open(tmp_path / "u.csv")))) == 25


def _tamper(run: Path, **model) -> None:
    """Rewrite the checkpoint's stored model node, as someone handing over a run directory could."""
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    state["config"]["model"] = model
    torch.save(state, run / "checkpoint.pt")


@pytest.mark.parametrize("model,message", [
    ({"_target_": "my_nets.torch.load", "f": "evil.pt", "weights_only": False}, "cannot be imported|_partial_"),
    ({"_target_": "my_nets.load", "_partial_": True}, "not a network class"),
    ({"_target_": "my_nets.Linear", "_partial_": True}, "not a network class"),
    ({"_target_": "my_nets.SineNet", "_partial_": True, "_args_": ["x"]}, "_args_"),
    ({"_target_": "my_nets.SineNet"}, "_partial_ not true"),
])
def test_an_allowed_module_admits_only_its_own_network_classes(own_network_run, model, message):
    _tamper(own_network_run, **model)
    with pytest.raises(ConfigError, match=message):
        load_run(own_network_run, allow_modules=["my_nets"])


def test_a_module_inside_the_run_directory_is_never_imported(own_network_run, tmp_path, monkeypatch):
    (own_network_run / "their_nets.py").write_text("open('imported.txt', 'w').write('ran')\n" + NETWORK)
    monkeypatch.chdir(own_network_run)
    monkeypatch.syspath_prepend(str(own_network_run))
    _tamper(own_network_run, _target_="their_nets.SineNet", _partial_=True, width=6)
    with pytest.raises(ConfigError, match="inside the run directory"):
        load_run(own_network_run, allow_modules=["their_nets"])
    assert not (own_network_run / "imported.txt").exists()
    with pytest.raises(ConfigError) as refused:  # and the refusal does not suggest allowing a library
        load_run(own_network_run)
    assert "allow_modules=['their_nets']" in str(refused.value)
    _tamper(own_network_run, _target_="torch.serialization.load", _partial_=True)
    with pytest.raises(ConfigError) as refused:
        load_run(own_network_run)
    assert "allow" not in str(refused.value)


def test_a_run_of_the_user_s_network_resumes_when_allowed(own_network_run):
    refused = pinnsolve(f"resume={own_network_run}", "trainer.max_steps=5", *QUIET)
    assert refused.code == 2 and "allow_modules=[my_nets]" in refused.stderr, refused.output
    resumed = pinnsolve(f"resume={own_network_run}", "trainer.max_steps=5", "allow_modules=my_nets", *QUIET)
    assert resumed.code == 0, resumed.output
    assert json.loads((own_network_run / "summary.json").read_text())["steps"] == 5


def test_a_problem_file_run_predicts_on_its_domain_when_the_file_is_named(tmp_path):
    run = tmp_path / "run"
    result = pinnsolve("problem=from_file", f"problem.path={EXAMPLE}", "+problem.n_interior=40", "trainer.max_steps=3",
                       *QUIET, f"hydra.run.dir={run}")
    assert result.code == 0, result.output
    with pytest.raises(SystemExit):
        predict_main([f"run={run}", f"out={tmp_path / 'no.csv'}"])
    predict_main([f"run={run}", f"out={tmp_path / 'u.vtu'}", f"problem={EXAMPLE}", "resolution=6", "residuals=true"])
    import meshio

    mesh = meshio.read(tmp_path / "u.vtu")
    assert mesh.points.shape == (36, 3) and mesh.cells_dict["quad"].shape == (25, 4)
    assert set(mesh.point_data) >= {"t", "x", "u", "residual_interior", "residual_initial", "residual_boundary"}
