"""The package's layers (README, "Layout"): import-linter's contracts hold, and the library loads light.

``geometry < problem < models < optim < engine < runs < training < cli``: a module imports only from
layers below its own, and ``pinnsolve.optim`` imports nothing of the engine, the runs, training, the CLI
or Hydra (pyproject.toml, ``[tool.importlinter]``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_layer_contracts_hold():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([lint, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "2 kept, 0 broken" in result.stdout


def _imported_after(statement: str) -> set[str]:
    probe = f"import json, sys; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120).stdout
    return set(json.loads(out))


def test_import_pinnsolve_loads_neither_hydra_nor_matplotlib():
    loaded = _imported_after("import pinnsolve")
    assert not {name for name in loaded if name.split(".")[0] in ("hydra", "omegaconf", "matplotlib")}
    later = _imported_after("import pinnsolve; pinnsolve.solve, pinnsolve.Trainer, pinnsolve.load_run")
    assert "hydra" in later and "pinnsolve.training.trainer" in later      # the entry points still come when asked for

