"""A run directory received from someone else: resuming it takes data, never destinations or secrets.

Each test crafts a run directory as an attacker would and resumes it through the real command line
(or the API). What must hold: nothing is written outside the run directory and nothing is sent
anywhere the user did not ask for on this command line; no ``${…}`` interpolation from the file is
resolved; no file of the run directory is followed through a symbolic link out of it.
"""

from __future__ import annotations

import http.server
import shutil
import threading

import pytest
import torch

from cli_runner import QUIET, pinnsolve

SMALL = ["problem.n_interior=30", "problem.n_boundary=10", "trainer.max_steps=2", *QUIET]
SECRET = "s3cr3t-t0ken-4711"


@pytest.fixture
def trained(tmp_path, monkeypatch):
    """A finished two-step poisson2d run in ``tmp_path/run``; ``SECRET_TOKEN`` set in the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SECRET_TOKEN", SECRET)
    run = tmp_path / "run"
    result = pinnsolve(*SMALL, "trainer.checkpoint_every=1", f"hydra.run.dir={run}")
    assert result.code == 0, result.output
    return run


def _tamper(run, edit) -> None:
    """Apply ``edit(config)`` to the configuration stored in the run's checkpoint."""
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    edit(state["config"])
    torch.save(state, run / "checkpoint.pt")


def _everything_under(path) -> list[str]:
    return sorted(str(p) for p in path.rglob("*"))


def test_a_logger_named_by_the_run_directory_is_not_used(trained, tmp_path):
    """Hole 1: the file's TensorBoard logger with a log_dir outside the run must write nothing there."""
    outside = tmp_path / "elsewhere" / "events"
    _tamper(trained, lambda c: c.update(logger={"_target_": "pinnsolve.training.loggers.TensorBoardLogger", "_partial_": True,
                                                "log_dir": str(outside)}))
    result = pinnsolve(f"resume={trained}", "trainer.max_steps=4")
    assert result.code == 0 and "finished after 4 steps" in result.stdout, result.output
    assert not (tmp_path / "elsewhere").exists()
    assert "logger=tensorboard" in result.output  # the user is told how to log there again, on their own terms
    assert not (trained / "tensorboard").exists()


def test_a_logger_asked_for_on_the_command_line_writes_inside_the_run(trained, tmp_path):
    outside = tmp_path / "elsewhere"
    _tamper(trained, lambda c: c.update(logger={"_target_": "pinnsolve.training.loggers.TensorBoardLogger", "_partial_": True,
                                                "log_dir": str(outside)}))
    result = pinnsolve(f"resume={trained}", "trainer.max_steps=4", "logger=tensorboard")
    assert result.code == 0, result.output
    assert not outside.exists()
    assert any(p.name.startswith("events.out.tfevents") for p in (trained / "tensorboard").iterdir())


@pytest.mark.parametrize("where", ["logger", "trainer", "problem", "yaml"])
def test_an_interpolation_in_the_run_directory_is_refused_not_resolved(trained, tmp_path, where):
    """Hole 2: ``${oc.env:…}`` from the file is never resolved against this user's environment."""
    leak = f"{tmp_path}/leak_${{oc.env:SECRET_TOKEN}}"
    if where == "logger":
        _tamper(trained, lambda c: c.update(logger={"_target_": "pinnsolve.training.loggers.TensorBoardLogger",
                                                    "_partial_": True, "log_dir": leak}))
    elif where == "trainer":
        _tamper(trained, lambda c: c["trainer"].update(device="${oc.env:SECRET_TOKEN}"))
    elif where == "problem":
        _tamper(trained, lambda c: c["problem"].update(n_interior="${oc.env:SECRET_TOKEN}"))
    else:  # a checkpoint without its config: the run directory's .hydra/config.yaml is read instead
        state = torch.load(trained / "checkpoint.pt", weights_only=True)
        del state["config"]
        torch.save(state, trained / "checkpoint.pt")
        config = (trained / ".hydra" / "config.yaml").read_text()
        (trained / ".hydra" / "config.yaml").write_text(config.replace("device: auto", "device: ${oc.env:SECRET_TOKEN}"))
    result = pinnsolve(f"resume={trained}", "trainer.max_steps=4")
    assert result.code == 2, result.output
    assert "interpolation" in result.stderr and "${oc.env:SECRET_TOKEN}" in result.stderr
    assert "Traceback" not in result.output
    assert SECRET not in result.output
    assert not any(SECRET in p for p in _everything_under(tmp_path))


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def _answer(self):
        type(self).requests.append(f"{self.command} {self.path}")
        self.send_response(404)
        self.end_headers()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_server():
    """An HTTP server on the loopback address that records every request it gets."""
    _Recorder.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.requests
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("interpolated", [True, False])
def test_an_mlflow_server_named_by_the_run_directory_gets_nothing(trained, fake_server, interpolated):
    """Hole 3: the file's MLflow tracking URI (with or without secrets in it) is never contacted."""
    pytest.importorskip("mlflow")
    url, requests = fake_server
    suffix = "/leak_${oc.env:SECRET_TOKEN}" if interpolated else "/leak"
    _tamper(trained, lambda c: c.update(logger={
        "_target_": "pinnsolve.training.loggers.MLflowLogger", "_partial_": True, "tracking_uri": url + suffix,
        "experiment": "pinnsolve", "run_name": "home=${oc.env:HOME}" if interpolated else "home"}))
    result = pinnsolve(f"resume={trained}", "trainer.max_steps=4")
    assert result.code == (2 if interpolated else 0), result.output
    assert requests == []
    assert SECRET not in result.output


def test_a_symlinked_hydra_directory_is_refused_and_left_alone(trained, tmp_path):
    """Hole 4: resume must not rewrite config.yaml or resumes.yaml through a link out of the run."""
    elsewhere = tmp_path / "elsewhere"
    shutil.move(trained / ".hydra", elsewhere)
    (elsewhere / "resumes.yaml").write_text("precious\n")
    (trained / ".hydra").symlink_to(elsewhere, target_is_directory=True)
    before = {p.name: p.read_bytes() for p in elsewhere.iterdir()}
    result = pinnsolve(f"resume={trained}", "trainer.max_steps=4")
    assert result.code == 2, result.output
    assert ".hydra" in result.stderr and "symbolic link" in result.stderr
    assert "Traceback" not in result.output
    assert {p.name: p.read_bytes() for p in elsewhere.iterdir()} == before


@pytest.mark.parametrize("name", ["pinnsolve.log", "metrics.csv", "checkpoint.pt"])
def test_any_file_linked_out_of_the_run_is_refused(trained, tmp_path, name):
    """The job log (which Hydra appends to), the metrics and the checkpoint itself: none is followed out."""
    target = tmp_path / f"victim_{name}"
    shutil.move(trained / name, target)
    (trained / name).symlink_to(target)
    before = target.read_bytes()
    result = pinnsolve(f"resume={trained}", "trainer.max_steps=4")
    assert result.code == 2 and name in result.stderr and "symbolic link" in result.stderr, result.output
    assert target.read_bytes() == before


def test_links_inside_the_run_are_fine(trained):
    """A link that stays inside the run directory (wandb's ``latest-run``, say) is not an escape."""
    (trained / "plots").mkdir(exist_ok=True)
    (trained / "latest").symlink_to("plots", target_is_directory=True)
    result = pinnsolve(f"resume={trained}", "trainer.max_steps=4")
    assert result.code == 0, result.output


def test_the_python_api_refuses_links_out_of_the_run_too(trained, tmp_path):
    from pinnsolve import RunDirectoryError, load_run, solve
    from pinnsolve.problems import poisson2d

    target = tmp_path / "victim.log"
    target.write_text("precious\n")
    (trained / "pinnsolve.log").unlink()
    (trained / "pinnsolve.log").symlink_to(target)
    with pytest.raises(RunDirectoryError, match="symbolic link"):
        load_run(trained)
    with pytest.raises(RunDirectoryError, match="symbolic link"):
        solve(poisson2d.make_problem(n_interior=30, n_boundary=10), optimizer="engd_w", run_dir=trained,
              resume=trained, overrides=["trainer.max_steps=4", *QUIET])
    assert target.read_text() == "precious\n"


def _set(path: str, value):
    def edit(state):
        *keys, last = path.split(".")
        node = state
        for key in keys:
            node = node[key]
        node[last] = value(node[last]) if callable(value) else value
    return edit


TAMPERED = [  # (id, edit of the checkpoint's state, fragment of the one-line error; also for pinnsolve-predict?)
    ("list target", _set("config.optimizer._target_", ["os", "system"]), "names _target_ '['os', 'system']' at 'optimizer'", True),
    ("unknown trainer key", _set("config.trainer.bogus", 3), "trainer.bogus is not a setting of pinnsolve.training.Trainer", False),
    ("weights of another size", _set("model", lambda m: {k: torch.zeros(v.shape[0] + 1, *v.shape[1:]) for k, v in m.items()}),
     "holds the weights of another network ('0.weight' is [65, 2] there but [64, 2] here", True),
    ("a weight missing", _set("model", lambda m: dict(list(m.items())[1:])), "holds the weights of another network (missing ['0.weight'])", True),
    ("NaN weights", _set("model", lambda m: {k: v * float("nan") for k, v in m.items()}), "holds NaN or infinite weights (0.weight", True),
    ("non-numeric metrics step", _set("metrics.rows", lambda rows: [dict(rows[0], step="abc"), *rows[1:]]),
     "metrics row 'abc' holds step='abc', not a number", False),
    ("non-numeric metrics loss", _set("metrics.rows", lambda rows: [*rows[:-1], dict(rows[-1], loss="abc")]),
     "holds loss='abc', not a number", False),
    ("non-numeric step", _set("step", "abc"), "its step is 'abc', not a count of steps", True),
    ("negative step", _set("step", -5), "its step is -5, not a count of steps", True),
]


@pytest.mark.parametrize("edit,fragment,predict_too", [c[1:] for c in TAMPERED], ids=[c[0] for c in TAMPERED])
def test_a_tampered_checkpoint_is_one_clear_line(trained, tmp_path, capsys, edit, fragment, predict_too):
    from pinnsolve.cli.predict import main as predict_main

    state = torch.load(trained / "checkpoint.pt", weights_only=True)
    edit(state)
    torch.save(state, trained / "checkpoint.pt")
    result = pinnsolve(f"resume={trained}", "trainer.max_steps=4")
    assert result.code == 2 and fragment in result.stderr, result.output
    assert "Traceback" not in result.output
    if predict_too:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            predict_main([f"run={trained}", f"out={tmp_path / 'u.csv'}"])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and fragment.replace("resume: ", "") in err, err


def test_a_resume_that_diverges_at_once_keeps_the_checkpoint(trained):
    """The first logged step after a resume may diverge: the run stops with its checkpoint (no TypeError)."""
    state = torch.load(trained / "checkpoint.pt", weights_only=True)
    state["health"]["initial_loss"] = 1e-12   # every later loss is then a divergence
    torch.save(state, trained / "checkpoint.pt")
    result = pinnsolve(f"resume={trained}", "trainer.max_steps=4", "trainer.log_every=1")
    assert result.code == 3 and "the run diverged" in result.stderr, result.output
    assert "Traceback" not in result.output
    assert torch.load(trained / "checkpoint.pt", weights_only=True)["step"] == state["step"]


def test_an_mlflow_file_store_named_on_the_command_line_works(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    store = tmp_path / "store"
    result = pinnsolve(*SMALL, "logger=mlflow", f"logger.tracking_uri={store.as_uri()}", f"hydra.run.dir={tmp_path / 'run'}")
    assert result.code == 0, result.output
    assert any(store.rglob("meta.yaml"))
    refused = pinnsolve(*SMALL, "logger=mlflow", "logger.tracking_uri=nope://x", f"hydra.run.dir={tmp_path / 'run2'}")
    assert refused.code == 2 and "cannot start the logger" in refused.stderr and "logger=csv" in refused.stderr, refused.output


def test_callbacks_named_by_the_run_directory_are_not_used(trained, tmp_path):
    """Callbacks run code and write files: like loggers, a resume takes them from its command line only."""
    _tamper(trained, lambda c: c.update(callbacks={"best": {"_target_": "pinnsolve.training.callbacks.BestModel",
                                                            "monitor": "loss", "filename": "stolen.pt"},
                                                   "evil": {"_target_": "os.system", "_args_": ["touch pwned"]}}))
    result = pinnsolve(f"resume={trained}", "trainer.max_steps=4")
    assert result.code == 0 and "finished after 4 steps" in result.stdout, result.output
    assert not (trained / "stolen.pt").exists() and not (tmp_path / "pwned").exists()
    again = pinnsolve(f"resume={trained}", "trainer.max_steps=6", "callbacks=[best_model]", "callbacks.best_model.monitor=loss")
    assert again.code == 0 and (trained / "best.pt").is_file(), again.output
