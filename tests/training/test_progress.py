"""Progress off a terminal: a line at every evaluation, and a heartbeat between logged steps once
LINE_INTERVAL seconds of wall time have passed, so slow steps still show progress."""

import re

from pinnsolve import solve
from pinnsolve.problems import poisson2d
from pinnsolve.training import progress


def _run(tmp_path, monkeypatch, capsys, interval, *overrides):
    monkeypatch.setattr(progress, "LINE_INTERVAL", interval)
    problem = poisson2d.make_problem(n_interior=30, n_boundary=10)
    capsys.readouterr()
    solve(problem, hidden=[4], run_dir=tmp_path / "run", overrides=["trainer.plots=false", *overrides])
    return capsys.readouterr().err


def test_a_slow_run_says_it_is_alive_between_logged_steps(tmp_path, monkeypatch, capsys):
    err = _run(tmp_path, monkeypatch, capsys, 0.0, "trainer.max_steps=6", "trainer.log_every=3")
    beats = [int(s) for s in re.findall(r"poisson2d step (\d+) done, running the next: [0-9.e+-]+ s/step; last logged step", err)]
    assert beats == [1, 2, 3, 4, 5], err   # with no interval, before every step but the first
    assert re.search(r"poisson2d step 3: loss \S+  l2_rms \S+", err), err


def test_every_evaluation_prints_a_line_and_quick_steps_no_heartbeat(tmp_path, monkeypatch, capsys):
    err = _run(tmp_path, monkeypatch, capsys, 1e9, "trainer.max_steps=9", "trainer.log_every=3")
    assert re.findall(r"poisson2d step (\d+): loss", err) == ["3", "6", "9"], err
    assert "running" not in err
