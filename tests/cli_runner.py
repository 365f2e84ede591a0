"""Run the real ``pinnsolve`` command line in this process (Hydra, callbacks, error handling and all).

A subprocess costs a second of imports per call; the table of bad inputs has dozens of rows, so the
tests call :func:`pinnsolve.cli.main` with ``sys.argv`` set, exactly what the console script does.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
from dataclasses import dataclass

from hydra.core.global_hydra import GlobalHydra

QUIET = ["trainer.progress=false", "trainer.plots=false"]


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def pinnsolve(*args: str) -> Result:
    """``pinnsolve *args`` in-process; returns the exit status and what it printed."""
    GlobalHydra.instance().clear()
    argv, out, err, code = sys.argv, io.StringIO(), io.StringIO(), 0
    sys.argv = ["pinnsolve", *args]
    root = logging.getLogger()
    handlers = list(root.handlers)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            from pinnsolve import cli

            cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = argv
        GlobalHydra.instance().clear()
        for handler in list(root.handlers):  # Hydra's job logging: close its file handlers
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
    return Result(code, out.getvalue(), err.getvalue())
