"""Hydra configs of pinnsolve, installed as the package ``pinnsolve.configs`` (see pyproject.toml)."""
