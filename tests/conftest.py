"""Shared fixtures: float64 everywhere, small problems, a tiny run configuration."""

import os

import pytest
import torch

# trainer.threads=auto follows the load average; tests that compare two runs bit for bit need one
# thread count for the whole session, so pin auto to what torch uses now (OMP_NUM_THREADS wins).
os.environ.setdefault("OMP_NUM_THREADS", str(torch.get_num_threads()))


@pytest.fixture(autouse=True)
def _float64_and_seed():
    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def pytest_collection_modifyitems(config, items):
    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs CUDA")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)
