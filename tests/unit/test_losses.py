"""rlactors.losses against values worked out by hand."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from rlactors.losses import LossOutput, double_q_learning, huber_loss, q_learning

# One shared tiny batch, B=2, A=2.
#   row 0: a=1, r=1.5, discount=0.5 (mid-episode)
#   row 1: a=0, r=-1.0, discount=0.0 (terminal: q_t must be ignored, even its 10.0)
Q_TM1 = [[1.0, 2.0], [3.0, 4.0]]
A_TM1 = [1, 0]
R_T = [1.5, -1.0]
DISCOUNT_T = [0.5, 0.0]
Q_T_VALUE = [[2.0, 5.0], [10.0, 0.0]]  # target network at s_t
Q_T_SELECTOR = [[3.0, 1.0], [0.0, 7.0]]  # online network at s_t: argmax 0 in row 0, 1 in row 1


def _inputs(requires_grad: bool = False) -> dict[str, torch.Tensor]:
    def leaf(values: list[float] | list[list[float]]) -> torch.Tensor:
        return torch.tensor(values, requires_grad=requires_grad)

    return {
        "q_tm1": leaf(Q_TM1),
        "a_tm1": torch.tensor(A_TM1, dtype=torch.int64),
        "r_t": leaf(R_T),
        "discount_t": leaf(DISCOUNT_T),
        "q_t_value": leaf(Q_T_VALUE),
        "q_t_selector": leaf(Q_T_SELECTOR),
    }


def _double(inputs: dict[str, torch.Tensor], huber_delta: float | None = 1.0) -> LossOutput:
    return double_q_learning(**inputs, huber_delta=huber_delta)


def _plain(inputs: dict[str, torch.Tensor], huber_delta: float | None = 1.0) -> LossOutput:
    return q_learning(
        inputs["q_tm1"],
        inputs["a_tm1"],
        inputs["r_t"],
        inputs["discount_t"],
        inputs["q_t_value"],
        huber_delta=huber_delta,
    )


def test_huber_loss_quadratic_and_linear_regimes() -> None:
    x = torch.tensor([-3.0, -1.0, -0.5, 0.0, 0.5, 2.0], requires_grad=True)
    loss = huber_loss(x, delta=1.0)
    # |x| <= 1: 0.5 x^2      -> -1: 0.5, -0.5: 0.125, 0: 0, 0.5: 0.125
    # |x| >  1: |x| - 0.5    -> -3: 2.5, 2: 1.5
    torch.testing.assert_close(loss, torch.tensor([2.5, 0.5, 0.125, 0.0, 0.125, 1.5]))
    loss.sum().backward()
    # Gradient is x clipped to [-1, 1].
    assert x.grad is not None
    torch.testing.assert_close(x.grad, torch.tensor([-1.0, -1.0, -0.5, 0.0, 0.5, 1.0]))


def test_huber_loss_other_delta() -> None:
    # delta=2: x=3 -> 2 * (3 - 1) = 4; x=1 -> 0.5 * 1 = 0.5; x=-2 (boundary) -> 0.5 * 4 = 2
    loss = huber_loss(torch.tensor([3.0, 1.0, -2.0]), delta=2.0)
    torch.testing.assert_close(loss, torch.tensor([4.0, 0.5, 2.0]))


@pytest.mark.parametrize("delta", [0.0, -1.0, float("inf"), float("nan")])
def test_huber_loss_rejects_bad_delta(delta: float) -> None:
    with pytest.raises(ValueError, match="delta"):
        huber_loss(torch.zeros(2), delta)


def test_q_learning_by_hand() -> None:
    out = _plain(_inputs())
    # row 0: target = 1.5 + 0.5 * max(2, 5) = 4.0; td = 4.0 - q_tm1[0, 1]=2 -> 2.0;
    #        huber(2, 1) = 2 - 0.5 = 1.5
    # row 1: target = -1 + 0 * max(10, 0) = -1 (terminal); td = -1 - q_tm1[1, 0]=3 -> -4;
    #        huber(-4, 1) = 4 - 0.5 = 3.5
    torch.testing.assert_close(out.target, torch.tensor([4.0, -1.0]))
    torch.testing.assert_close(out.td_error, torch.tensor([2.0, -4.0]))
    torch.testing.assert_close(out.loss, torch.tensor([1.5, 3.5]))


def test_double_q_learning_by_hand() -> None:
    out = _double(_inputs())
    # row 0: selector argmax = 0 -> q_t_value[0, 0] = 2; target = 1.5 + 0.5 * 2 = 2.5;
    #        td = 2.5 - 2 = 0.5 (quadratic regime): 0.5 * 0.25 = 0.125
    # row 1: selector argmax = 1 -> q_t_value[1, 1] = 0, but discount 0: target = -1;
    #        td = -1 - 3 = -4 (linear regime): 4 - 0.5 = 3.5
    torch.testing.assert_close(out.target, torch.tensor([2.5, -1.0]))
    torch.testing.assert_close(out.td_error, torch.tensor([0.5, -4.0]))
    torch.testing.assert_close(out.loss, torch.tensor([0.125, 3.5]))


def test_squared_loss_without_huber() -> None:
    # 0.5 * td^2: double (0.5, -4) -> (0.125, 8.0); plain (2, -4) -> (2.0, 8.0)
    torch.testing.assert_close(_double(_inputs(), None).loss, torch.tensor([0.125, 8.0]))
    torch.testing.assert_close(_plain(_inputs(), None).loss, torch.tensor([2.0, 8.0]))


def test_double_q_with_the_same_network_is_q_learning() -> None:
    inputs = _inputs()
    inputs["q_t_selector"] = inputs["q_t_value"]
    torch.testing.assert_close(_double(inputs).loss, _plain(inputs).loss)


def test_argmax_ties_pick_the_lowest_action() -> None:
    inputs = _inputs()
    inputs["q_t_selector"] = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    # row 0 bootstraps from q_t_value[0, 0] = 2: target = 1.5 + 0.5 * 2 = 2.5
    assert _double(inputs).target[0].item() == pytest.approx(2.5)


@pytest.mark.parametrize("loss_fn", [_double, _plain])
def test_gradient_flows_only_through_q_tm1(
    loss_fn: Callable[[dict[str, torch.Tensor]], LossOutput],
) -> None:
    inputs = _inputs(requires_grad=True)
    out = loss_fn(inputs)
    out.loss.sum().backward()
    for name in ("r_t", "discount_t", "q_t_value", "q_t_selector"):
        assert inputs[name].grad is None, name
    assert out.target.grad_fn is None
    # d loss / d q_tm1[i, a_i] = -clip(td_i, -1, 1); zero for actions not taken.
    td = out.td_error.detach()
    expected = torch.zeros(2, 2)
    expected[0, 1] = -td[0].clamp(-1, 1)
    expected[1, 0] = -td[1].clamp(-1, 1)
    torch.testing.assert_close(inputs["q_tm1"].grad, expected)


def test_double_q_gradient_by_hand() -> None:
    inputs = _inputs(requires_grad=True)
    _double(inputs).loss.sum().backward()
    # row 0: td 0.5 -> d/dq = -0.5 at action 1; row 1: td -4 clipped to -1 -> +1 at action 0
    torch.testing.assert_close(inputs["q_tm1"].grad, torch.tensor([[0.0, -0.5], [1.0, 0.0]]))


def test_shape_errors_are_clear() -> None:
    inputs = _inputs()
    with pytest.raises(ValueError, match="r_t"):
        _double({**inputs, "r_t": torch.zeros(3)})
    with pytest.raises(ValueError, match="q_t_selector"):
        _double({**inputs, "q_t_selector": torch.zeros(2, 3)})
    with pytest.raises(ValueError, match="q_tm1"):
        _double({**inputs, "q_tm1": torch.zeros(2)})
    with pytest.raises(ValueError, match="integer"):
        _double({**inputs, "a_tm1": torch.zeros(2)})
