"""Every algorithm's defaults, as the user sees them, pinned to their values before the configs
were composed from RunConfig, QLearningConfig and ActorCriticRunConfig (the benchmarks were
tuned with these); and config.json files of every algorithm written before still load."""

from __future__ import annotations

from typing import Any

import pytest

from rlactors.algorithms import (
    algorithm_names,
    config_fields,
    config_from_dict,
    config_to_dict,
    get_algorithm,
)
from rlactors.algorithms.apex import ApexConfig
from rlactors.algorithms.run_config import RunConfig

_RUN: dict[str, Any] = {
    "env": "CartPole-v1",
    "env_kwargs": {},
    "env_wrappers": [],
    "seed": 0,
    "backend": "process",
    "env_actors": "none",  # added with env actors (issue #13)
    "env_step_timeout_s": 60.0,
    "env_stepping": "lockstep",  # added with acting on ready env actors (issue #13)
    "inference": "local",  # added with the policy server (issue #13)
    "inference_max_batch_rows": 1024,
    "inference_max_wait_ms": 0.0,
    "max_env_steps": 100_000,
    "stop_reward": None,
    "eval_episodes": 20,
    "final_eval_episodes": 100,  # added with the confirming evaluation (issue #15)
    "eval_interval_env_steps": 2048,
    "eval_trigger_fraction": 0.0,
    "return_window_episodes": 20,
    "learner_torch_threads": 1,
    "max_env_crashes": 5,
    "env_crash_window_s": 60.0,
}
_Q_NETWORK = {
    "n_step": 3,
    "gamma": 0.99,
    "buffer_capacity_transitions": 100_000,
    "store_frames_once": True,  # added with frugal replay (issue #12)
    "dueling": True,
    "encoder": "auto",
    "action_mask_key": "action_mask",
    "double_q": True,
    "huber_delta": 1.0,
    "max_grad_norm": 10.0,
}
_ACTOR_CRITIC: dict[str, Any] = {
    **_RUN,
    "max_env_steps": 500_000,
    "eval_interval_env_steps": 4096,
    "eval_trigger_fraction": 0.5,
    "num_workers": 2,
    "num_envs_per_worker": 4,
    "rollout_steps": 32,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "scale_rewards": False,
    "normalize_observations": False,
    "max_worker_restarts": 3,
    "hidden_sizes": [64, 64],
    "shared_torso": False,
    "activation": "tanh",
    "encoder": "auto",
    "action_mask_key": "action_mask",
    "learning_rate": 7e-4,
    "learning_rate_schedule": "constant",
    "value_coef": 0.5,
    "entropy_coef": 0.0,
    "max_grad_norm": 0.5,
    "normalize_advantages": False,
}

#: The multi-agent fields every algorithm added (issue #11); their defaults change
#: nothing for a single-role env.
_MULTI_AGENT: dict[str, Any] = {
    "policy_mapping": "shared",
    "policies": [],
    "policies_to_train": [],
    "role_input": False,
    "centralized_critic": False,
    "opponents": {},
    "self_play": False,
    "self_play_latest_prob": 0.5,
    "league_sampling": "pfsp",
    "league_join_win_rate": 0.6,
    "league_join_min_games": 200,
    "league_max_size": 20,
    "eval_opponent": None,
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "dqn": {
        **_RUN,
        **_Q_NETWORK,
        **_MULTI_AGENT,
        "backend": "inline",
        "num_evaluators": 1,
        "num_envs_per_evaluator": 1,
        "rollout_steps": 256,
        "exploration_initial_epsilon": 1.0,
        "exploration_final_epsilon": 0.04,
        "exploration_fraction": 0.1,
        "learning_starts_env_steps": 1000,
        "batch_size": 64,
        "train_steps_per_sample": 128,
        "prioritized_replay": False,
        "prioritized_replay_alpha": 0.6,
        "prioritized_replay_beta": 0.4,
        "hidden_sizes": [256, 256],
        "learning_rate": 2.3e-3,
        "target_update_period_learner_steps": 128,
    },
    "apex": {
        **_RUN,
        **_Q_NETWORK,
        **_MULTI_AGENT,
        "iteration_env_steps": 500,
        "num_workers": 2,
        "num_envs_per_worker": 4,
        "rollout_steps": 25,
        "max_worker_restarts": 3,
        "num_replay_shards": 1,
        "max_replay_restarts": 3,
        "priority_alpha": 0.6,
        "importance_beta": 0.4,
        "learning_starts_transitions": 1000,
        "replay_ratio": 32.0,
        "batch_size": 128,
        "hidden_sizes": [128, 128],
        "learning_rate": 2e-3,
        "target_update_period_learner_steps": 200,
        "weight_sync_period_learner_steps": 20,
    },
    "a2c": {**_ACTOR_CRITIC, **_MULTI_AGENT, "rollout_steps": 8, "gae_lambda": 1.0},
    "a3c": {
        **_ACTOR_CRITIC,
        **_MULTI_AGENT,
        "rollout_steps": 8,
        "gae_lambda": 1.0,
        "iteration_env_steps": 2048,
    },
    "ppo": {
        **_ACTOR_CRITIC,
        **_MULTI_AGENT,
        "max_env_steps": 200_000,
        "gamma": 0.98,
        "gae_lambda": 0.8,
        "learning_rate": 1e-3,
        "learning_rate_schedule": "linear",
        "value_coef": 1.0,
        "normalize_advantages": True,
        "num_epochs": 20,
        "minibatch_size": 256,
        "clip_epsilon": 0.2,
        "clip_schedule": "linear",
        "value_clip_epsilon": None,
    },
    "impala": {
        **_ACTOR_CRITIC,
        **_MULTI_AGENT,
        "entropy_coef": 0.01,
        "rho_bar": 1.0,
        "c_bar": 1.0,
        "rollouts_per_batch": 2,
        "max_inflight_per_worker": 2,
        "max_queued_rollouts": 8,
        "weight_sync_period_learner_steps": 1,
        "iteration_env_steps": 2048,
    },
}


def test_every_algorithm_is_pinned() -> None:
    assert sorted(DEFAULTS) == algorithm_names()


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_defaults_are_unchanged(name: str) -> None:
    assert config_to_dict(get_algorithm(name).config_class()()) == DEFAULTS[name]


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_a_config_json_with_every_field_of_before_loads(name: str) -> None:
    cls = get_algorithm(name).config_class()
    assert config_from_dict(cls, DEFAULTS[name]) == cls()


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_every_config_has_the_run_fields_with_a_docstring(name: str) -> None:
    fields = {f.name: f for f in config_fields(get_algorithm(name).config_class())}
    for run_field in config_fields(RunConfig):
        assert fields[run_field.name].doc, run_field.name


def test_apex_has_none_of_dqns_own_fields() -> None:
    names = {f.name for f in config_fields(ApexConfig)}
    own_to_dqn = set(DEFAULTS["dqn"]) - set(DEFAULTS["apex"])
    assert "num_evaluators" in own_to_dqn
    assert names.isdisjoint(own_to_dqn)
