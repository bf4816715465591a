"""Actor-critic losses (GAE, A2C, PPO, V-trace) and normalization, against values worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rlactors.losses import (
    a2c_loss,
    generalized_advantage_estimation,
    normalize_advantages,
    ppo_loss,
    vtrace,
)
from rlactors.policies import RunningMeanStd


def t(values: list[float] | list[list[float]], requires_grad: bool = False) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64, requires_grad=requires_grad)


# -- generalized advantage estimation --------------------------------------------------------

# T=3, B=2 (time-major: row t, column b).
#   column 0: a plain rollout, gamma 0.9, cut before s_3 whose value is 2.0
#   column 1: the episode terminates after step 0 (discount 0), a new one starts at t=1
GAE_REWARDS = [[1.0, 1.0], [2.0, 0.0], [3.0, -1.0]]
GAE_VALUES = [[0.5, 2.0], [1.0, 1.0], [1.5, 0.0]]
GAE_BOOTSTRAP = [2.0, 4.0]
GAE_DISCOUNTS = [[0.9, 0.0], [0.9, 0.9], [0.9, 0.9]]


def _gae(lambda_: float) -> tuple[torch.Tensor, torch.Tensor]:
    out = generalized_advantage_estimation(
        t(GAE_REWARDS), t(GAE_VALUES), t(GAE_BOOTSTRAP), t(GAE_DISCOUNTS), lambda_
    )
    return out.advantages, out.returns


def test_gae_by_hand() -> None:
    advantages, returns = _gae(0.5)
    # column 0: next values [1.0, 1.5, 2.0]
    #   delta_0 = 1 + 0.9 * 1.0 - 0.5 = 1.4
    #   delta_1 = 2 + 0.9 * 1.5 - 1.0 = 2.35
    #   delta_2 = 3 + 0.9 * 2.0 - 1.5 = 3.3
    #   A_2 = 3.3; A_1 = 2.35 + 0.9 * 0.5 * 3.3 = 3.835; A_0 = 1.4 + 0.45 * 3.835 = 3.12575
    # column 1: next values [1.0, 0.0, 4.0]
    #   delta_0 = 1 + 0 * 1.0 - 2 = -1 (terminal: V(s_1) ignored)
    #   delta_1 = 0 + 0.9 * 0 - 1 = -1
    #   delta_2 = -1 + 0.9 * 4 - 0 = 2.6
    #   A_2 = 2.6; A_1 = -1 + 0.45 * 2.6 = 0.17; A_0 = -1 + 0 * ... = -1 (the trace is cut)
    expected = t([[3.12575, -1.0], [3.835, 0.17], [3.3, 2.6]])
    torch.testing.assert_close(advantages, expected)
    # returns = A + V
    torch.testing.assert_close(returns, expected + t(GAE_VALUES))


def test_gae_lambda_zero_is_the_td_error_and_lambda_one_the_discounted_return() -> None:
    advantages, _ = _gae(0.0)
    torch.testing.assert_close(advantages, t([[1.4, -1.0], [2.35, -1.0], [3.3, 2.6]]))
    _, returns = _gae(1.0)
    # column 0: R_2 = 3 + 0.9 * 2 = 4.8; R_1 = 2 + 0.9 * 4.8 = 6.32; R_0 = 1 + 0.9 * 6.32 = 6.688
    # column 1: R_2 = -1 + 0.9 * 4 = 2.6; R_1 = 0 + 0.9 * 2.6 = 2.34; R_0 = 1 (terminal)
    torch.testing.assert_close(returns, t([[6.688, 1.0], [6.32, 2.34], [4.8, 2.6]]))


def test_gae_truncation_recipe_bootstraps_from_the_final_observation() -> None:
    # Step 0 is truncated by a time limit: its final observation is worth 5.0, gamma = 0.9.
    # The documented recipe: reward 1 + 0.9 * 5.0 = 5.5 and discount 0. Step 1 belongs to the
    # next episode and must not leak into step 0's advantage.
    out = generalized_advantage_estimation(
        rewards=t([[5.5], [7.0]]),
        values=t([[2.0], [3.0]]),
        bootstrap_value=t([1.0]),
        discounts=t([[0.0], [0.9]]),
        lambda_=0.95,
    )
    # Same as a one-step rollout bootstrapped at 5.0: 1 + 0.9 * 5 - 2 = 3.5
    alone = generalized_advantage_estimation(t([[1.0]]), t([[2.0]]), t([5.0]), t([[0.9]]), 0.95)
    torch.testing.assert_close(out.advantages[0], alone.advantages[0])
    torch.testing.assert_close(out.advantages[0], t([3.5]))


def test_gae_has_no_gradient() -> None:
    values = t(GAE_VALUES, requires_grad=True)
    out = generalized_advantage_estimation(
        t(GAE_REWARDS), values, t(GAE_BOOTSTRAP), t(GAE_DISCOUNTS), 0.9
    )
    assert not out.advantages.requires_grad and not out.returns.requires_grad


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rewards": torch.zeros(3)}, "rewards must be"),
        ({"values": torch.zeros(3, 3)}, "values must be"),
        ({"bootstrap_value": torch.zeros(3)}, "bootstrap_value must be"),
        ({"discounts": torch.zeros(2, 2)}, "discounts must be"),
        ({"lambda_": 1.5}, "lambda_"),
    ],
)
def test_gae_shape_and_lambda_errors(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {
        "rewards": torch.zeros(3, 2),
        "values": torch.zeros(3, 2),
        "bootstrap_value": torch.zeros(2),
        "discounts": torch.zeros(3, 2),
        "lambda_": 0.9,
        **kwargs,
    }
    with pytest.raises(ValueError, match=match):
        generalized_advantage_estimation(**args)  # type: ignore[arg-type]


def test_normalize_advantages() -> None:
    # mean 2.5; population variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25
    out = normalize_advantages(t([1.0, 2.0, 3.0, 4.0]), epsilon=0.0)
    s = math.sqrt(1.25)
    torch.testing.assert_close(out, t([-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]))
    # Constant advantages: (x - mean) is 0, epsilon keeps it from being 0/0.
    torch.testing.assert_close(normalize_advantages(t([3.0, 3.0])), t([0.0, 0.0]))
    with pytest.raises(ValueError, match="empty"):
        normalize_advantages(torch.zeros(0))


# -- A2C -------------------------------------------------------------------------------------


def test_a2c_loss_by_hand_and_its_gradients() -> None:
    log_probs = t([-0.5, -1.0], requires_grad=True)
    advantages = t([2.0, -1.0], requires_grad=True)
    values = t([1.0, 0.0], requires_grad=True)
    returns = t([3.0, 0.5], requires_grad=True)
    entropy = t([0.7, 0.2])
    out = a2c_loss(log_probs, advantages, values, returns, entropy, 0.5, 0.1)
    # policy: -(-0.5 * 2) = 1.0; -(-1.0 * -1) = -1.0
    torch.testing.assert_close(out.policy_loss, t([1.0, -1.0]))
    # value: 0.5 * (3 - 1)^2 = 2.0; 0.5 * (0.5 - 0)^2 = 0.125
    torch.testing.assert_close(out.value_loss, t([2.0, 0.125]))
    # loss: 1 + 0.5 * 2 - 0.1 * 0.7 = 1.93; -1 + 0.5 * 0.125 - 0.1 * 0.2 = -0.9575
    torch.testing.assert_close(out.loss, t([1.93, -0.9575]))
    torch.testing.assert_close(out.entropy, entropy)
    out.loss.sum().backward()
    # d/dlog_probs = -advantages; d/dvalues = 0.5 * (values - returns) = [-1, -0.25]
    assert log_probs.grad is not None and values.grad is not None
    torch.testing.assert_close(log_probs.grad, t([-2.0, 1.0]))
    torch.testing.assert_close(values.grad, t([-1.0, -0.25]))
    # Targets are constants.
    assert advantages.grad is None and returns.grad is None


def test_a2c_loss_errors() -> None:
    z = torch.zeros(3)
    with pytest.raises(ValueError, match="values must have the shape"):
        a2c_loss(z, z, torch.zeros(2), z, z)
    with pytest.raises(ValueError, match="entropy_coef"):
        a2c_loss(z, z, z, z, z, entropy_coef=-0.1)


# -- PPO -------------------------------------------------------------------------------------

# B=4, clip_epsilon 0.2; ratios r = exp(log_probs - old_log_probs):
#   0: r=1.5, A=+1 -> min(1.5, 1.2) = 1.2 (clipped branch, no gradient)
#   1: r=1.5, A=-1 -> min(-1.5, -1.2) = -1.5 (pessimistic: the unclipped branch)
#   2: r=0.5, A=+2 -> min(1.0, 1.6) = 1.0
#   3: r=1.1, A=+2 -> min(2.2, 2.2) = 2.2 (inside the clip range)
RATIOS = [1.5, 1.5, 0.5, 1.1]
PPO_ADVANTAGES = [1.0, -1.0, 2.0, 2.0]
PPO_VALUES = [1.0, 2.0, 0.0, 0.5]
PPO_OLD_VALUES = [0.5, 2.5, 0.0, 0.5]
PPO_RETURNS = [2.0, 1.0, 1.0, 0.5]


def _ppo_inputs() -> dict[str, torch.Tensor]:
    old = [-1.0] * 4
    return {
        "log_probs": t([o + math.log(r) for o, r in zip(old, RATIOS, strict=True)], True),
        "old_log_probs": t(old),
        "advantages": t(PPO_ADVANTAGES),
        "values": t(PPO_VALUES, True),
        "old_values": t(PPO_OLD_VALUES),
        "returns": t(PPO_RETURNS),
        "entropy": t([0.5] * 4),
    }


def test_ppo_policy_loss_and_diagnostics_by_hand() -> None:
    inputs = _ppo_inputs()
    out = ppo_loss(**inputs, clip_epsilon=0.2, value_clip_epsilon=None)
    torch.testing.assert_close(out.policy_loss, t([-1.2, 1.5, -1.0, -2.2]))
    # value: 0.5 * (v - R)^2 = [0.5, 0.5, 0.5, 0.0]
    torch.testing.assert_close(out.value_loss, t([0.5, 0.5, 0.5, 0.0]))
    # approx_kl = (r - 1) - log r: 1.5 -> 0.5 - 0.405465; 0.5 -> -0.5 + 0.693147; 1.1 -> 0.1 -
    # 0.0953102
    kl = [0.5 - math.log(1.5), 0.5 - math.log(1.5), -0.5 - math.log(0.5), 0.1 - math.log(1.1)]
    torch.testing.assert_close(out.approx_kl, t(kl))
    # |r - 1| > 0.2 for the first three
    torch.testing.assert_close(out.clip_fraction, t([1.0, 1.0, 1.0, 0.0]))
    assert not out.approx_kl.requires_grad and not out.clip_fraction.requires_grad

    out.policy_loss.sum().backward()
    # d(-r A)/dlog_prob = -r A where the unclipped branch is taken, 0 where clipped:
    #   0: clipped -> 0; 1: -1.5 * -1 = 1.5; 2: -0.5 * 2 = -1.0; 3: -1.1 * 2 = -2.2
    grad = inputs["log_probs"].grad
    assert grad is not None
    torch.testing.assert_close(grad, t([0.0, 1.5, -1.0, -2.2]))


def test_ppo_value_clipping_and_total_loss_by_hand() -> None:
    inputs = _ppo_inputs()
    out = ppo_loss(
        **inputs, clip_epsilon=0.2, value_clip_epsilon=0.2, value_coef=0.5, entropy_coef=0.01
    )
    # v_clipped = old + clip(v - old, -0.2, 0.2):
    #   0: 0.5 + 0.2 = 0.7 -> 0.5 * (0.7 - 2)^2 = 0.845 > 0.5 -> 0.845
    #   1: 2.5 - 0.2 = 2.3 -> 0.5 * (2.3 - 1)^2 = 0.845 > 0.5 -> 0.845
    #   2: 0.0 + 0.0 = 0.0 -> 0.5 * (0 - 1)^2 = 0.5 (tie)     -> 0.5
    #   3: 0.5 + 0.0 = 0.5 -> 0                               -> 0.0
    torch.testing.assert_close(out.value_loss, t([0.845, 0.845, 0.5, 0.0]))
    # loss = policy + 0.5 * value - 0.01 * 0.5
    #   0: -1.2 + 0.4225 - 0.005 = -0.7825;  1: 1.5 + 0.4225 - 0.005 = 1.9175
    #   2: -1.0 + 0.25 - 0.005 = -0.755;     3: -2.2 + 0 - 0.005 = -2.205
    torch.testing.assert_close(out.loss, t([-0.7825, 1.9175, -0.755, -2.205]))
    out.value_loss.sum().backward()
    # Rows 0 and 1 take the clipped branch, whose clamp passes no gradient; row 2: v - R = -1.
    grad = inputs["values"].grad
    assert grad is not None
    torch.testing.assert_close(grad, t([0.0, 0.0, -1.0, 0.0]))


def test_ppo_equals_a2c_direction_at_ratio_one() -> None:
    # With log_probs == old_log_probs the surrogate's gradient is the policy gradient A * grad
    # log pi (Schulman et al., 2017, section 3), so it matches A2C's.
    log_probs = t([-0.3, -2.0], requires_grad=True)
    z = t([0.0, 0.0])
    advantages = t([1.5, -0.5])
    ppo_loss(log_probs, log_probs.detach(), advantages, z, z, z, z).policy_loss.sum().backward()
    assert log_probs.grad is not None
    torch.testing.assert_close(log_probs.grad, -advantages)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"clip_epsilon": 0.0}, "clip_epsilon"),
        ({"value_clip_epsilon": -1.0}, "value_clip_epsilon"),
        ({"value_coef": float("nan")}, "value_coef"),
        ({"old_values": torch.zeros(4, 1)}, "old_values must have the shape"),
    ],
)
def test_ppo_errors(kwargs: dict[str, object], match: str) -> None:
    z = torch.zeros(4)
    args: dict[str, object] = {
        "log_probs": z,
        "old_log_probs": z,
        "advantages": z,
        "values": z,
        "old_values": z,
        "returns": z,
        "entropy": z,
        **kwargs,
    }
    with pytest.raises(ValueError, match=match):
        ppo_loss(**args)  # type: ignore[arg-type]


# -- V-trace ---------------------------------------------------------------------------------


def vtrace_by_definition(
    mu: np.ndarray,
    pi: np.ndarray,
    r: np.ndarray,
    v: np.ndarray,
    bootstrap: np.ndarray,
    d: np.ndarray,
    rho_bar: float,
    c_bar: float,
    pg_rho_bar: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Espeholt et al. (2018), equation 1, term by term, with per-step discounts d_t for gamma:
    v_s = V(x_s) + sum_{t=s}^{T-1} (prod_{i=s}^{t-1} d_i c_i) delta_t V,
    delta_t V = rho_t (r_t + d_t V(x_{t+1}) - V(x_t)), rho_t = min(rho_bar, pi/mu),
    c_i = min(c_bar, pi/mu)."""
    n_steps, batch = r.shape
    ratio = np.exp(pi - mu)
    v_ext = np.concatenate([v, bootstrap[None]], axis=0)
    vs = np.zeros_like(r)
    pg = np.zeros_like(r)
    for b in range(batch):
        for s in range(n_steps):
            total = v[s, b]
            for step in range(s, n_steps):
                weight = 1.0
                for i in range(s, step):
                    weight *= d[i, b] * min(c_bar, ratio[i, b])
                rho = min(rho_bar, ratio[step, b])
                total += weight * rho * (r[step, b] + d[step, b] * v_ext[step + 1, b] - v[step, b])
            vs[s, b] = total
    vs_ext = np.concatenate([vs, bootstrap[None]], axis=0)
    for b in range(batch):
        for s in range(n_steps):
            q = r[s, b] + d[s, b] * vs_ext[s + 1, b]
            pg[s, b] = min(pg_rho_bar, ratio[s, b]) * (q - v[s, b])
    return vs, pg


def test_vtrace_by_hand() -> None:
    # T=2, B=1; pi/mu = [2.0, 0.5], rho_bar = c_bar = 1 -> rho = c = [1, 0.5]
    # delta_0 = 1 * (1 + 0.9 * 1 - 0) = 1.9;  delta_1 = 0.5 * (2 + 0.9 * 3 - 1) = 1.85
    # v_1 = 1 + 1.85 = 2.85;  v_0 = 0 + 1.9 + 0.9 * c_0 (=1) * 1.85 = 3.565
    # pg_0 = min(1, 2) * (1 + 0.9 * v_1 - 0) = 3.565;  pg_1 = 0.5 * (2 + 0.9 * 3 - 1) = 1.85
    out = vtrace(
        behaviour_log_probs=t([[math.log(0.25)], [math.log(0.8)]]),
        target_log_probs=t([[math.log(0.5)], [math.log(0.4)]]),
        rewards=t([[1.0], [2.0]]),
        values=t([[0.0], [1.0]]),
        bootstrap_value=t([3.0]),
        discounts=t([[0.9], [0.9]]),
    )
    torch.testing.assert_close(out.vs, t([[3.565], [2.85]]))
    torch.testing.assert_close(out.pg_advantages, t([[3.565], [1.85]]))


@pytest.mark.parametrize(
    ("rho_bar", "c_bar", "pg_rho_bar"),
    [(1.0, 1.0, 1.0), (2.0, 0.5, 1.5), (math.inf, math.inf, math.inf), (0.7, 0.7, 0.3)],
)
def test_vtrace_matches_the_definition(rho_bar: float, c_bar: float, pg_rho_bar: float) -> None:
    rng = np.random.default_rng(0)
    n_steps, batch = 6, 3
    mu = np.log(rng.uniform(0.05, 1.0, (n_steps, batch)))
    pi = np.log(rng.uniform(0.05, 1.0, (n_steps, batch)))  # ratios from 0.05 to 20: clipping
    r = rng.normal(size=(n_steps, batch))
    v = rng.normal(size=(n_steps, batch))
    bootstrap = rng.normal(size=batch)
    d = np.full((n_steps, batch), 0.95)
    d[2, 0] = 0.0  # episode ends
    d[4, 1] = 0.0
    d[0, 2] = 0.0
    expected_vs, expected_pg = vtrace_by_definition(
        mu, pi, r, v, bootstrap, d, rho_bar, c_bar, pg_rho_bar
    )
    out = vtrace(
        *map(torch.from_numpy, (mu, pi, r, v, bootstrap, d)),
        rho_bar=rho_bar,
        c_bar=c_bar,
        pg_rho_bar=pg_rho_bar,
    )
    np.testing.assert_allclose(out.vs.numpy(), expected_vs, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out.pg_advantages.numpy(), expected_pg, rtol=1e-10, atol=1e-10)


def test_vtrace_on_policy_is_the_n_step_return() -> None:
    rng = np.random.default_rng(1)
    logp = torch.from_numpy(np.log(rng.uniform(0.1, 1.0, (5, 2))))
    r = t([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0], [0.0, 0.0], [1.0, -1.0]])
    v = torch.from_numpy(rng.normal(size=(5, 2)))
    bootstrap = t([10.0, 20.0])
    d = t([[0.9, 0.9], [0.9, 0.0], [0.9, 0.9], [0.9, 0.9], [0.9, 0.9]])
    out = vtrace(logp, logp.clone(), r, v, bootstrap, d)
    # Column 0, by hand: R_4 = 1 + 0.9 * 10 = 10; R_3 = 0.9 * 10 = 9; R_2 = 2 + 0.9 * 9 = 10.1;
    # R_1 = 0.9 * 10.1 = 9.09; R_0 = 1 + 0.9 * 9.09 = 9.181
    torch.testing.assert_close(out.vs[:, 0], t([9.181, 9.09, 10.1, 9.0, 10.0]))
    # Column 1 terminates after step 1: R_1 = 1, R_0 = 0 + 0.9 * 1 = 0.9;
    # R_4 = -1 + 0.9 * 20 = 17; R_3 = 0.9 * 17 = 15.3; R_2 = 0.9 * 15.3 = 13.77
    torch.testing.assert_close(out.vs[:, 1], t([0.9, 1.0, 13.77, 15.3, 17.0]))
    # ...which is GAE's lambda = 1 return, and the pg advantages are its advantages.
    gae = generalized_advantage_estimation(r, v, bootstrap, d, lambda_=1.0)
    torch.testing.assert_close(out.vs, gae.returns)
    torch.testing.assert_close(out.pg_advantages, gae.advantages)


def test_vtrace_has_no_gradient_and_checks_inputs() -> None:
    v = torch.zeros(3, 2, requires_grad=True)
    z = torch.zeros(3, 2)
    out = vtrace(z, z, z, v, torch.zeros(2), z)
    assert not out.vs.requires_grad and not out.pg_advantages.requires_grad
    with pytest.raises(ValueError, match="target_log_probs must be"):
        vtrace(z, torch.zeros(3), z, z, torch.zeros(2), z)
    with pytest.raises(ValueError, match="bootstrap_value must be"):
        vtrace(z, z, z, z, torch.zeros(3), z)
    with pytest.raises(ValueError, match="c_bar"):
        vtrace(z, z, z, z, torch.zeros(2), z, c_bar=0.0)


# -- observation normalization ---------------------------------------------------------------


def test_running_mean_std_matches_numpy_over_all_batches() -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(3.0, 2.0, size=(100, 2, 3))
    stats = RunningMeanStd(shape=(2, 3))
    for chunk in np.array_split(data, [1, 7, 7, 40]):  # includes a single row and an empty chunk
        stats.update(chunk)
    assert stats.count == 100
    np.testing.assert_allclose(stats.mean, data.mean(axis=0))
    np.testing.assert_allclose(stats.var, data.var(axis=0))


def test_running_mean_std_by_hand_and_merge() -> None:
    a, b = RunningMeanStd(), RunningMeanStd()
    a.update(np.array([1.0, 3.0]))  # mean 2, var 1, count 2
    b.update(np.array([5.0, 7.0, 9.0]))  # mean 7, var 8/3, count 3
    a.merge(b)
    # all of [1, 3, 5, 7, 9]: mean 5, var (16 + 4 + 0 + 4 + 16) / 5 = 8
    assert (a.count, float(a.mean), float(a.var)) == pytest.approx((5.0, 5.0, 8.0))
    a.merge(RunningMeanStd())  # merging nothing changes nothing
    assert (a.count, float(a.mean), float(a.var)) == pytest.approx((5.0, 5.0, 8.0))


def test_running_mean_std_normalize_and_state_round_trip() -> None:
    stats = RunningMeanStd(shape=(2,))
    # Before any update, normalizing is the identity (mean 0, var 1).
    np.testing.assert_allclose(stats.normalize(np.array([[0.5, -2.0]])), [[0.5, -2.0]], rtol=1e-6)
    stats.update(np.array([[0.0, 10.0], [2.0, 10.0]]))  # mean [1, 10], var [1, 0]
    out = stats.normalize(np.array([[3.0, 10.0], [1.0, 11.0]]), clip=5.0, epsilon=1e-8)
    # (3 - 1) / 1 = 2; (10 - 10) / 1e-4 = 0; (1 - 1) = 0; (11 - 10) / 1e-4 = 1e4 -> clipped to 5
    np.testing.assert_allclose(out, [[2.0, 0.0], [0.0, 5.0]], rtol=1e-6)
    assert out.dtype == np.float32

    state = stats.get_state()
    assert set(state) == {"mean", "var", "count"}
    assert all(isinstance(v, np.ndarray) for v in state.values())
    restored = RunningMeanStd.from_state(state)
    state["mean"][0] = 99.0  # get_state returned copies
    np.testing.assert_array_equal(restored.mean, [1.0, 10.0])
    assert restored.count == 2.0


def test_running_mean_std_rejects_bad_input() -> None:
    stats = RunningMeanStd(shape=(2,))
    with pytest.raises(ValueError, match=r"batch must be \[B, \*\(2,\)\]"):
        stats.update(np.zeros(2))
    good = stats.get_state()
    with pytest.raises(ValueError, match=r"missing keys \['count'\]"):
        stats.set_state({"mean": good["mean"], "var": good["var"]})
    with pytest.raises(ValueError, match="'var' has shape"):
        stats.set_state({**good, "var": np.ones(3)})
    with pytest.raises(ValueError, match="count"):
        stats.set_state({**good, "count": np.asarray(-1.0)})
    with pytest.raises(ValueError, match="shape"):
        stats.merge(RunningMeanStd(shape=(3,)))
