"""The split formation of K = JJᵀ over W processes (each forms its share of the lower triangle's blocks),
against the dense product in float64, simulated in one process."""

import pytest
import torch

from pinnsolve.optim.kernel import gram_lower, gram_lower_share, lower_blocks, share_of_lower_blocks


@pytest.mark.parametrize("n,world", [(700, 2), (700, 3), (1031, 4), (50, 2)])
def test_the_shares_sum_to_the_lower_triangle_with_even_work(n, world):
    torch.manual_seed(0)
    A = torch.randn(n, 37, dtype=torch.float64)
    total = sum(gram_lower_share(A, rank, world) for rank in range(world))
    dense = A @ A.T
    assert torch.allclose(total.tril(), dense.tril(), rtol=1e-13, atol=1e-13)
    shares = [share_of_lower_blocks(n, rank, world) for rank in range(world)]
    blocks = sorted(b for share in shares for b in share)
    assert blocks == lower_blocks(n, 4 * world)  # every block once
    work = [sum((end - start) * end for start, end in share) for share in shares]
    assert max(work) <= 1.15 * sum(work) / world  # no process does much more than its 1/W


def test_two_shares_are_the_one_process_blocks_bit_for_bit():
    torch.manual_seed(1)
    A = torch.randn(600, 80, dtype=torch.float64)
    assert torch.equal((gram_lower_share(A, 0, 2) + gram_lower_share(A, 1, 2)).tril(), gram_lower(A).tril())
