"""FlatAdam: torch.optim.Adam's update over one flat buffer, and its checkpoints."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

from rlactors.policies.flat_adam import FlatAdam


def make_net(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))


def loss_of(net: torch.nn.Module, step: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(step)
    x = torch.randn(8, 3, generator=generator)
    y = torch.randn(8, 2, generator=generator)
    return ((net(x) - y) ** 2).mean()


def test_steps_like_torch_adam_exactly() -> None:
    ours, theirs = make_net(), make_net()
    flat = FlatAdam(list(ours.parameters()), lr=0.01, betas=(0.8, 0.99), eps=1e-6)
    adam = torch.optim.Adam(
        theirs.parameters(), lr=0.01, betas=(0.8, 0.99), eps=1e-6, foreach=False
    )
    for step in range(10):
        flat.zero_grad()
        loss_of(ours, step).backward()
        flat.step()
        adam.zero_grad()
        loss_of(theirs, step).backward()
        adam.step()
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_parameters_and_gradients_are_views_of_the_flat_buffers() -> None:
    net = make_net()
    before = [p.detach().clone() for p in net.parameters()]
    flat = FlatAdam(list(net.parameters()), lr=0.01)
    assert flat.params.numel() == sum(p.numel() for p in before)
    for p, b in zip(net.parameters(), before, strict=True):
        torch.testing.assert_close(p.detach(), b)  # values kept
    loss_of(net, 0).backward()
    assert flat.grads.abs().sum() > 0
    torch.testing.assert_close(
        flat.grads,
        torch.cat([p.grad.flatten() for p in net.parameters()]),  # type: ignore[union-attr]
    )
    flat.zero_grad()
    assert all(p.grad is not None and not p.grad.any() for p in net.parameters())


def test_clip_grad_norm_scales_like_torch_and_returns_the_norm_before() -> None:
    ours, theirs = make_net(), make_net()
    flat = FlatAdam(list(ours.parameters()), lr=0.01)
    loss_of(ours, 0).backward()
    loss_of(theirs, 0).backward()
    norm = flat.clip_grad_norm(0.01)
    expected = torch.nn.utils.clip_grad_norm_(theirs.parameters(), 0.01)
    torch.testing.assert_close(norm, expected)
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad)
    unclipped = flat.grads.clone()
    assert flat.clip_grad_norm(None) == pytest.approx(float(torch.linalg.vector_norm(unclipped)))
    torch.testing.assert_close(flat.grads, unclipped)


def test_state_dicts_are_interchangeable_with_torch_adam() -> None:
    ours, theirs = make_net(), make_net()
    flat = FlatAdam(list(ours.parameters()), lr=0.01)
    adam = torch.optim.Adam(theirs.parameters(), lr=0.01, foreach=False)
    for step in range(3):
        adam.zero_grad()
        loss_of(theirs, step).backward()
        adam.step()
    # torch's state into ours: both continue identically.
    with torch.no_grad():
        for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
            a.copy_(b)
    flat.load_state_dict(adam.state_dict())
    assert flat.steps == 3
    for step in range(3, 6):
        for opt, net in ((flat, ours), (adam, theirs)):
            opt.zero_grad()
            loss_of(net, step).backward()
            opt.step()
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    # Ours into torch's: it loads, with the same moments.
    fresh = torch.optim.Adam(make_net().parameters(), lr=0.01)
    fresh.load_state_dict(flat.state_dict())
    for i, entry in fresh.state_dict()["state"].items():
        torch.testing.assert_close(entry["exp_avg"], adam.state_dict()["state"][i]["exp_avg"])
        assert float(entry["step"]) == 6


def test_state_dict_is_a_copy_and_a_fresh_one_loads() -> None:
    net = make_net()
    flat = FlatAdam(list(net.parameters()), lr=0.01)
    empty = flat.state_dict()
    assert empty["state"] == {}
    loss_of(net, 0).backward()
    flat.step()
    state = flat.state_dict()
    state["state"][0]["exp_avg"].add_(1.0)
    assert not torch.equal(flat.state_dict()["state"][0]["exp_avg"], state["state"][0]["exp_avg"])
    flat.load_state_dict(empty)
    assert flat.steps == 0


def test_mismatched_state_is_refused() -> None:
    flat = FlatAdam(list(make_net().parameters()), lr=0.01)
    other = torch.optim.Adam(torch.nn.Linear(3, 5).parameters())
    with pytest.raises(ValueError, match="2 parameters, this optimizer has 4"):
        flat.load_state_dict(other.state_dict())
    with pytest.raises(ValueError, match="at least one parameter"):
        FlatAdam([], lr=0.01)


@pytest.mark.parametrize("copier", ["deepcopy", "pickle"])
def test_a_copied_network_and_optimizer_learn_like_the_original(copier: str) -> None:
    """Regression: copy.deepcopy (or pickle) of a network with its FlatAdam gave parameters
    cloned out of the flat buffer and without gradient views, so the copy stepped a buffer
    its network no longer read: it never learned, silently."""
    net = make_net()
    pair = (net, FlatAdam(list(net.parameters()), lr=0.01))
    copied = copy.deepcopy(pair) if copier == "deepcopy" else pickle.loads(pickle.dumps(pair))
    for model, flat in (pair, copied):
        for step in range(3):
            flat.zero_grad()
            loss_of(model, step).backward()
            flat.step()
    for a, b in zip(pair[0].parameters(), copied[0].parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert pair[1].steps == copied[1].steps == 3
