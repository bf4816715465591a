"""PolicyServer: evaluators acting through one server, the same assertions on every backend."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rlactors.actors import Runtime, gather, spawn
from rlactors.core import DEFAULT_POLICY_ID
from rlactors.evaluators import (
    ActorCriticEvaluator,
    DQNEvaluator,
    EvaluatorConfig,
    QActing,
    RolloutConfig,
)
from rlactors.inference import (
    ActorCriticServerClient,
    PolicyServer,
    QServerClient,
    ServedPolicy,
    ServerConfig,
)
from rlactors.policies import (
    ActorCriticConfig,
    DQNPolicyConfig,
    NumpyActorCriticPolicy,
    NumpyQPolicy,
)

TIMEOUT = 60.0
NET = DQNPolicyConfig(hidden_sizes=(16,))
CARTPOLE_OBS = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)
CARTPOLE_ACTIONS = gym.spaces.Discrete(2)
# Long enough that a batch closes only when every evaluator of the last one waits again: the
# batches below do not depend on the machine's speed.
PATIENT = ServerConfig(max_wait_ms=2_000.0)


def _weights() -> dict[str, np.ndarray]:
    # Weights no evaluator could have by chance: a policy of another seed.
    return NumpyQPolicy(CARTPOLE_OBS, CARTPOLE_ACTIONS, NET, seed=123).get_weights()


def _dqn_config() -> EvaluatorConfig:
    return EvaluatorConfig(
        "CartPole-v1", num_envs=2, rollout_steps=20, n_step=3, epsilon=0.3, policy=NET, seed=7,
        compute_priorities=True,
    )  # fmt: skip


def test_dqn_evaluators_act_through_a_server_as_through_their_own_copies(
    runtime: Runtime,
) -> None:
    # The same weights, the same exploration streams: the same transitions and priorities
    # as with a local copy in each evaluator.
    config = _dqn_config()
    served = ServedPolicy(
        PATIENT, "q", CARTPOLE_OBS, CARTPOLE_ACTIONS, NET, seed=config.seed, weights=_weights
    )
    through_server = [
        spawn(DQNEvaluator, config, index=i, policy=served.client(i, config.epsilon))
        for i in range(2)
    ]
    local = [spawn(DQNEvaluator, config, index=i) for i in range(2)]
    for ref in local:
        ref.tell("set_weights", {DEFAULT_POLICY_ID: _weights()})
    for _ in range(2):
        served_samples = gather([r.ask("sample") for r in through_server], timeout=TIMEOUT)
        local_samples = gather([r.ask("sample") for r in local], timeout=TIMEOUT)
        for (got, _), (want, _) in zip(served_samples, local_samples, strict=True):
            assert set(got) == set(want)
            for column in ("obs", "actions", "rewards", "next_obs", "discounts"):
                np.testing.assert_array_equal(got[column], want[column], err_msg=column)
            np.testing.assert_allclose(got["priorities"], want["priorities"], rtol=1e-5)
    stats = served.stats()
    assert stats["clients"] == 2 and stats["requests"] == 2 * 2 * 20
    if runtime.backend_name != "inline":  # inline runs one evaluator inside the other's wait
        # Both evaluators wait at each step, so (after the first) a batch holds both.
        assert stats["largest_batch_rows"] == 2 * config.num_envs
        assert stats["rows_per_batch"] > config.num_envs
    served.stop()


def test_actor_critic_evaluators_roll_out_through_a_server(runtime: Runtime) -> None:
    policy = ActorCriticConfig(hidden_sizes=(16,))
    config = RolloutConfig("CartPole-v1", num_envs=2, rollout_steps=16, policy=policy, seed=3)
    weights = NumpyActorCriticPolicy(CARTPOLE_OBS, CARTPOLE_ACTIONS, policy, 9).get_weights()
    served = ServedPolicy(
        PATIENT, "actor_critic", CARTPOLE_OBS, CARTPOLE_ACTIONS, policy, seed=3,
        weights=lambda: weights,
    )  # fmt: skip
    refs = [spawn(ActorCriticEvaluator, config, index=i, policy=served.client(i)) for i in range(2)]
    rollouts = [
        *gather([r.ask("rollout") for r in refs], timeout=TIMEOUT),
        *gather([r.ask("rollout") for r in refs], timeout=TIMEOUT),
    ]
    for rollout in rollouts:
        batch = rollout.batch
        assert len(batch) == 32 and set(np.unique(batch["actions"])) <= {0, 1}
        assert np.all(batch["log_probs"] <= 0) and np.isfinite(batch["values"]).all()
    episodes = refs[0].ask("evaluate", 2, 0).result(TIMEOUT)  # greedy acting, through it too
    assert len(episodes) == 2
    stats = served.stats()
    assert stats["clients"] == 2
    # Both evaluators' requests in one batch; inline runs the first steps one evaluator
    # at a time (each waits nested in the other's), so there it need not happen.
    assert stats["largest_batch_rows"] >= 4 or runtime.backend_name == "inline"
    served_weights = served.get_weights()
    np.testing.assert_array_equal(served_weights["value_head.bias"], weights["value_head.bias"])
    served.stop()


def test_a_server_refuses_bad_requests_by_name(runtime: Runtime) -> None:
    server = spawn(PolicyServer, ServerConfig(), "q", CARTPOLE_OBS, CARTPOLE_ACTIONS, NET, 0)
    obs = np.zeros((2, 4), np.float32)
    with pytest.raises(KeyError, match=r"serves policy 'default' only.*'other'"):
        server.ask(("q_values", "other", 0, obs)).result(TIMEOUT)
    with pytest.raises(ValueError, match=r"client 0 sent observations of shape \(2, 3\)"):
        server.ask(("q_values", DEFAULT_POLICY_ID, 0, np.zeros((2, 3)))).result(TIMEOUT)
    with pytest.raises(ValueError, match="holds a q policy and cannot answer 'act_with_info'"):
        server.ask(("act_with_info", DEFAULT_POLICY_ID, 0, obs, True)).result(TIMEOUT)
    with pytest.raises(ValueError, match="unknown request 'nope'"):
        server.ask(("nope", DEFAULT_POLICY_ID)).result(TIMEOUT)
    # A bad request fails alone: the next good one is answered.
    q = server.ask(("q_values", DEFAULT_POLICY_ID, 0, obs)).result(TIMEOUT)
    assert q.shape == (2, 2)
    server.stop()


def test_clients_satisfy_the_acting_protocols() -> None:
    from rlactors.evaluators import ActorCriticActing

    with Runtime("inline"):
        served = ServedPolicy(
            ServerConfig(), "q", CARTPOLE_OBS, CARTPOLE_ACTIONS, NET, seed=0, weights=_weights
        )
        client = served.client(0)
        assert isinstance(client, QServerClient) and isinstance(client, QActing)
        ac = ActorCriticServerClient(served.ref, client_id=0)
        assert isinstance(ac, ActorCriticActing)
        with pytest.raises(ValueError, match="epsilon"):
            client.set_epsilon(1.5)


def test_server_config_is_checked() -> None:
    with pytest.raises(ValueError, match=r"ServerConfig\.max_batch_rows must be an int >= 1"):
        ServerConfig(max_batch_rows=0)
    with pytest.raises(ValueError, match=r"ServerConfig\.max_wait_ms must be a number >= 0"):
        ServerConfig(max_wait_ms=-1.0)


class _CountingServer:
    """A ServedPolicy stand-in that counts the weights it is sent."""

    policy_id = DEFAULT_POLICY_ID

    def __init__(self) -> None:
        self.sent = 0
        self.stopped = False

    def client(self, index: int) -> str:
        return f"client-{index}"

    def set_weights(self, weights: object) -> None:
        self.sent += 1

    def stop(self) -> None:
        self.stopped = True


class _Worker:
    def __init__(self, index: int = 0, policy: str | None = None) -> None:
        self.policy = policy

    def set_weights(self, weights: object) -> None:
        raise AssertionError("with a server, no worker is sent weights")

    def which(self) -> str | None:
        return self.policy


def test_a_group_with_a_server_sends_each_broadcast_once_to_the_server() -> None:
    # Regression: every broadcast sent the weights to the server once per worker.
    from rlactors.optimizers.worker_group import WorkerGroup

    server = _CountingServer()
    with Runtime("inline"):
        group = WorkerGroup(
            _Worker, lambda i: (), 5, weights=lambda: {DEFAULT_POLICY_ID: {}},
            server=server,  # type: ignore[arg-type]
        )  # fmt: skip
        assert server.sent == 1
        group.broadcast()
        group.broadcast()
        assert server.sent == 3
        assert group.refs[3].ask("which").result(TIMEOUT) == "client-3"
        group.stop()
    assert server.stopped


def test_a_request_without_observations_is_refused(runtime: Runtime) -> None:
    server = spawn(PolicyServer, ServerConfig(), "q", CARTPOLE_OBS, CARTPOLE_ACTIONS, NET, 0)
    with pytest.raises(ValueError, match="client 0 sent no observations"):
        server.ask(("q_values", DEFAULT_POLICY_ID, 0, np.zeros((0, 4), np.float32))).result(TIMEOUT)
    server.stop()
