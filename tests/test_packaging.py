"""pinnsolve as users install it: the wheel holds the library, its configs and problems, and runs on its own.

The wheel is built from a copy of the sources and installed into a fresh virtual environment, which
sees this environment's third-party packages (torch, hydra, ...) through a ``.pth`` line but not
pinnsolve's editable install. The main job then runs from a directory outside the source tree, and
the test checks that every pinnsolve module it imported came from the wheel.
"""

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pinnsolve", "configs", "problems", "pyproject.toml", "README.md")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    build = tmp_path_factory.mktemp("build")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, build / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(source, build / name)
    out = build / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(build)], check=True, capture_output=True, text=True)
    (found,) = out.glob("pinnsolve-*.whl")
    return found


def test_the_wheel_holds_the_package_its_configs_and_problems(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "pinnsolve/py.typed" in names
    assert "pinnsolve/configs/config.yaml" in names
    assert "pinnsolve/configs/problem/poisson5d.yaml" in names
    assert "pinnsolve/configs/optimizer/sven.yaml" in names
    assert "pinnsolve/problems/poisson5d.py" in names
    assert not any(n.startswith("problems/") for n in names), "no generic top-level 'problems' package"
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = [line for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
                if line.startswith("Requires-Dist: pandas")]
    assert requires and all("extra ==" in line for line in requires), "pandas only in an extra"


def test_the_installed_wheel_runs_the_main_job_outside_the_source_tree(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
                    str(wheel)], check=True, capture_output=True, text=True)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # torch, hydra, ... from this environment; its .pth files (pinnsolve's editable finder) are not read
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")

    work = tmp_path / "elsewhere"
    work.mkdir()
    run = subprocess.run(
        [str(env_dir / "bin" / "pinnsolve"), "problem=poisson2d", "optimizer=engd_w", "trainer.max_steps=3",
         "trainer.plots=false", "problem.n_interior=40", "problem.n_boundary=12", "model.hidden=[8]",
         "hydra.run.dir=run"],
        cwd=work, capture_output=True, text=True, timeout=300,
        env={"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)},
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert (work / "run" / "metrics.csv").is_file()
    assert (work / "run" / "checkpoint.pt").is_file()

    probe = ("import json, sys, pinnsolve, pinnsolve.problems.poisson2d, pinnsolve.configs; "
             "print(json.dumps([m.__file__ for n, m in sys.modules.items() if n.startswith('pinnsolve')]))")
    files = json.loads(subprocess.run([str(python), "-c", probe], cwd=work, check=True, capture_output=True,
                                      text=True, env={"OMP_NUM_THREADS": "1"}).stdout)
    assert files and all(Path(f).resolve().is_relative_to(Path(site).resolve()) for f in files), files
    assert not any(str(ROOT) in f for f in files)
