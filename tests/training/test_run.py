"""Training runs: the run directory, resuming after a kill, determinism, clear errors."""

import csv
import json
import signal

import pytest
import torch

from pinnsolve import ConfigError, NonFiniteError, compose_config
from pinnsolve.cli import build, run
from pinnsolve.training.trainer import Trainer

BASE = ["problem=poisson5d", "problem.n_interior=40", "problem.n_boundary=12", "model.hidden=[8,8]",
        "trainer.progress=false", "trainer.plots=false", "trainer.log_every=5", "trainer.checkpoint_every=5"]


def final_state(run_dir):
    return torch.load(run_dir / "checkpoint.pt", weights_only=True)


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs", "spring", "sven"])
def test_killed_then_resumed_run_equals_uninterrupted(optimizer, tmp_path, monkeypatch):
    cfg = compose_config([*BASE, f"optimizer={optimizer}", "trainer.max_steps=20",
                          *(["optimizer.line_search=true"] if optimizer == "sven" else [])])
    run(cfg, tmp_path / "straight")

    original_step = Trainer._step

    def dying_step(self, batch):
        if self.step == 12:
            raise RuntimeError("killed")
        return original_step(self, batch)

    monkeypatch.setattr(Trainer, "_step", dying_step)
    with pytest.raises(RuntimeError, match="killed"):
        run(cfg, tmp_path / "killed")
    monkeypatch.setattr(Trainer, "_step", original_step)
    assert final_state(tmp_path / "killed")["step"] == 10
    cfg.resume = str(tmp_path / "killed")
    run(cfg, tmp_path / "killed")

    a, b = final_state(tmp_path / "straight"), final_state(tmp_path / "killed")
    assert a["step"] == b["step"] == 20
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    rows_a = list(csv.DictReader(open(tmp_path / "straight" / "metrics.csv")))
    rows_b = list(csv.DictReader(open(tmp_path / "killed" / "metrics.csv")))
    assert [r["step"] for r in rows_a] == [r["step"] for r in rows_b]
    assert [r["loss"] for r in rows_a] == [r["loss"] for r in rows_b]


def test_run_directory_contents_and_same_seed_same_run(tmp_path):
    cfg = compose_config([*BASE, "trainer.max_steps=10", "trainer.plots=true"])
    s1 = run(cfg, tmp_path / "a")
    s2 = run(cfg, tmp_path / "b")
    assert s1["final"] == s2["final"]
    for name in ["metrics.csv", "summary.json", "checkpoint.pt", "history.png", "solution_slice.png"]:
        assert (tmp_path / "a" / name).stat().st_size > 0, name
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["dtype"] == "float64" and summary["device"] == "cpu" and summary["steps"] == 10
    assert set(summary["final"]) == {"loss", "l2_rms", "l2_rel"}
    rows = list(csv.DictReader(open(tmp_path / "a" / "metrics.csv")))
    assert [int(r["step"]) for r in rows] == [0, 5, 10]
    assert all(float(r["l2_rms"]) > 0 for r in rows)
    state = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=True)
    assert {"model", "optimizer", "step", "rng", "sampler"} <= set(state)


def test_time_budget_stops_the_run(tmp_path):
    cfg = compose_config([*BASE, "trainer.max_steps=100000", "trainer.time_budget=0.5"])
    summary = run(cfg, tmp_path)
    assert summary["steps"] < 100000 and summary["train_time_s"] >= 0.5


def test_nan_residual_is_reported_with_the_condition(tmp_path):
    cfg = compose_config([*BASE, "trainer.max_steps=3"])
    trainer = build(cfg, tmp_path)
    condition = trainer.problem.conditions[1]
    condition.residual = lambda u, x: torch.sqrt(u.value - 1e6)
    with pytest.raises(NonFiniteError, match=r"'boundary': 12.*log/sqrt of a negative"):
        trainer.fit()


def test_resume_from_a_missing_checkpoint_is_explained(tmp_path):
    cfg = compose_config([*BASE, "trainer.max_steps=3", f"resume={tmp_path / 'nothing'}"])
    with pytest.raises(ConfigError, match="no checkpoint found"):
        run(cfg, tmp_path)


def test_cuda_requested_without_cuda(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    cfg = compose_config([*BASE, "trainer.device=cuda"])
    with pytest.raises(ConfigError, match="sees no CUDA device.*trainer.device=cpu"):
        run(cfg, tmp_path)


def test_metrics_are_written_between_checkpoints_and_trimmed_on_resume(tmp_path):
    """A long run's metrics.csv appears before its first checkpoint; resuming drops rows past the checkpoint."""
    from pinnsolve.runs.files import MetricsLog

    path = tmp_path / "metrics.csv"
    log = MetricsLog(path, min_interval_s=3600)
    for step in (10, 20, 30):
        log.append({"step": step, "time_s": f"{step / 10}", "loss": 1.0 / step})
    log.flush_if_due()
    assert not path.exists()
    log.min_interval_s = 0.0
    log.flush_if_due()
    assert [int(r["step"]) for r in csv.DictReader(open(path))] == [10, 20, 30]
    resumed = MetricsLog(path)
    resumed.load(up_to_step=20)
    assert [int(r["step"]) for r in resumed.rows] == [10, 20]


def test_interrupted_then_resumed_run_has_the_uninterrupted_rows(tmp_path, monkeypatch):
    """Ctrl-C at a step between logged steps: the resumed run's metrics.csv has exactly the straight run's rows."""
    cfg = compose_config([*BASE, "optimizer=adam", "trainer.max_steps=20", "trainer.log_every=5"])
    run(cfg, tmp_path / "straight")
    original_step = Trainer._step

    def interrupted_step(self, batch):
        if self.step == 6:
            signal.raise_signal(signal.SIGINT)  # the first Ctrl-C: stop after this step
        return original_step(self, batch)

    monkeypatch.setattr(Trainer, "_step", interrupted_step)
    summary = run(cfg, tmp_path / "stopped")
    assert summary["status"] == "interrupted" and summary["steps"] == 7
    stopped_rows = [r["step"] for r in csv.DictReader(open(tmp_path / "stopped" / "metrics.csv"))]
    assert stopped_rows == ["0", "5", "7"]    # the stop is recorded where the user looks
    monkeypatch.setattr(Trainer, "_step", original_step)
    cfg.resume = str(tmp_path / "stopped")
    run(cfg, tmp_path / "stopped")
    rows_a = list(csv.DictReader(open(tmp_path / "straight" / "metrics.csv")))
    rows_b = list(csv.DictReader(open(tmp_path / "stopped" / "metrics.csv")))
    assert [r["step"] for r in rows_a] == [r["step"] for r in rows_b]
    assert [r["loss"] for r in rows_a] == [r["loss"] for r in rows_b]
