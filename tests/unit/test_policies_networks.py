"""rlactors.policies.networks: shapes and the dueling aggregation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rlactors.policies import DuelingHead, QNetwork, mlp


def test_mlp_shapes_and_layers() -> None:
    net = mlp(4, (8, 16), 3)
    assert net(torch.zeros(5, 4)).shape == (5, 3)
    # Linear, ReLU, Linear, ReLU, Linear: no activation after the output layer.
    assert [type(m) for m in net] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    torso = mlp(4, (8,))
    assert torso(torch.zeros(2, 4)).shape == (2, 8)
    assert isinstance(torso[-1], nn.ReLU)


def test_mlp_rejects_non_positive_sizes() -> None:
    with pytest.raises(ValueError, match="hidden_sizes"):
        mlp(4, (8, 0), 2)


def test_dueling_head_is_value_plus_centred_advantage() -> None:
    head = DuelingHead(3, 4)
    features = torch.randn(6, 3)
    q = head(features)
    assert q.shape == (6, 4)
    # mean_a Q = V exactly, because the advantages are centred (Wang et al., 2016, eq. 9).
    torch.testing.assert_close(q.mean(dim=1, keepdim=True), head.value(features))


@pytest.mark.parametrize("dueling", [False, True])
def test_q_network_flattens_observations(dueling: bool) -> None:
    net = QNetwork(6, 3, (16,), dueling=dueling)
    assert net(torch.zeros(5, 2, 3)).shape == (5, 3)
    linear = QNetwork(6, 3, (), dueling=dueling)
    assert linear(torch.zeros(5, 6)).shape == (5, 3)
