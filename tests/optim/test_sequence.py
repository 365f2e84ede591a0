"""Adam, then L-BFGS: the same iterates as the two torch optimizers run by hand one after the other."""

import pytest
import torch

from pinnsolve.errors import HyperParameterError
from pinnsolve.optim import adam_then_lbfgs


def _quartic(theta):  # a smooth non-quadratic loss
    return (theta - torch.arange(4.0, dtype=theta.dtype)).pow(2).sum() + 0.1 * theta.pow(4).sum()


def _closure(optimizer, theta):
    def closure():
        optimizer.zero_grad()
        loss = _quartic(theta)
        loss.backward()
        return loss
    return closure


def test_the_sequence_is_adam_then_lbfgs_from_where_adam_stopped():
    theta = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    sequence = adam_then_lbfgs([theta], lr=0.05, switch_step=3, max_iter=4)
    path = []
    for _ in range(5):
        sequence.step(_closure(sequence, theta))
        path.append(theta.detach().clone())

    by_hand = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    adam = torch.optim.Adam([by_hand], lr=0.05)
    for k in range(3):
        adam.step(_closure(adam, by_hand))
        assert torch.equal(by_hand.detach(), path[k])
    lbfgs = torch.optim.LBFGS([by_hand], lr=1.0, max_iter=4, history_size=100, line_search_fn="strong_wolfe")
    for k in range(3, 5):
        lbfgs.step(_closure(lbfgs, by_hand))
        assert torch.equal(by_hand.detach(), path[k])
    assert _quartic(path[-1]) < _quartic(path[2])


def test_a_bad_switch_step_names_its_key():
    with pytest.raises(HyperParameterError, match="switch_step"):
        adam_then_lbfgs([torch.zeros(2, requires_grad=True)], switch_step=0)
    with pytest.raises(HyperParameterError, match="lbfgs_lr"):
        adam_then_lbfgs([torch.zeros(2, requires_grad=True)], lbfgs_lr=0.0)
