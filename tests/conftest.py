"""Shared fixtures: float64 everywhere, small problems, a tiny run configuration.

The tests mirror the package (``geometry/``, ``problem/``, ``optim/``, ``engine/``, ``runs/``, ``training/``,
``cli/``); their shared helpers stay here, in ``tests/``, which is put on ``sys.path`` for every folder
(``cli_runner``, ``doubles``, ``optimizer_table``, ``sizes``, ``dist_workers``).
"""

import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

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
