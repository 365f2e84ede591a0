"""The documentation site: it builds with ``mkdocs build --strict`` (no broken link, no missing
reference), its API reference covers every public name, its tutorials show only examples the suite
runs, and the README's links to it lead somewhere."""

import importlib
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["pinnsolve", "pinnsolve.geometry", "pinnsolve.problem", "pinnsolve.models", "pinnsolve.optim",
            "pinnsolve.engine", "pinnsolve.runs", "pinnsolve.training", "pinnsolve.cli"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def _inventory(site: Path) -> set[str]:
    """The names in the site's ``objects.inv`` (Sphinx inventory v2: four header lines, then zlib)."""
    body = zlib.decompress((site / "objects.inv").read_bytes().split(b"\n", 4)[4]).decode()
    return {line.split()[0] for line in body.splitlines() if line.strip()}


def test_the_site_builds_strictly_and_has_every_page(site):
    for page in ("index.html", "getting-started/index.html", "concepts/networks/index.html",
                 "tutorials/advection-diffusion/index.html", "reference/optim/index.html", "benchmarks/results/index.html"):
        assert (site / page).is_file(), page
    tutorial = (site / "tutorials" / "kovasznay" / "index.html").read_text()
    assert "navier_stokes" in tutorial  # the example's code itself, included from examples/kovasznay.py
    results = (site / "benchmarks" / "results" / "index.html").read_text()
    targets = re.findall(r'(?:href|src)="([^"]*figures/[^"]*)"', results)
    assert targets and all(t.startswith("../../figures/") for t in targets)  # links rewritten for the site


def test_the_api_reference_covers_every_public_name(site):
    documented = {name.rsplit(".", 1)[-1] for name in _inventory(site)}
    missing = {package: [name for name in importlib.import_module(package).__all__ if name not in documented]
               for package in PACKAGES}
    assert not {k: v for k, v in missing.items() if v}, missing


def test_tutorials_show_only_examples_the_suite_runs():
    from tests.cli.test_cli import EXAMPLE, PDE_EXAMPLES

    run = {EXAMPLE.name, *(example for example, _, _ in PDE_EXAMPLES)}
    shown = {Path(m).name for page in (ROOT / "docs" / "tutorials").glob("*.md")
             for m in re.findall(r'--8<-- "([^"]+)"', page.read_text())}
    assert shown and shown <= run, shown - run


def test_the_readme_links_lead_to_pages():
    links = re.findall(r"\]\((docs/[^)#\s]+)", (ROOT / "README.md").read_text())
    assert len(links) >= 5
    assert [link for link in links if not (ROOT / link).exists()] == []
