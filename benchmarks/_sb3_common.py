"""What the benchmarks with a Stable-Baselines3 peer share: the solve check and RL Zoo's schedules.

``dqn_cartpole.py``, the actor-critic CartPole benchmarks (``_cartpole_common.py``) and
``presets.py`` hold SB3 to rlactors' solved criterion through :func:`solve_check`, a callback
that runs rlactors' own batched greedy-episode runner on the evaluation seeds rlactors uses.

No torch or SB3 at the top: every actor process imports the script it was started from, and
the scripts import this module (see ``_cartpole_common.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rlactors.evaluators import make_env_batch, run_episodes
from rlactors.seeding import GREEDY_EVAL_STREAM, derive_seed


def linear(initial: float) -> Callable[[float], float]:
    """RL Zoo's ``lin_<initial>``: SB3 calls it with the fraction of the budget remaining."""
    return lambda progress_remaining: progress_remaining * initial


def solve_check(
    seed: int,
    interval_env_steps: int,
    *,
    env_id: str,
    eval_episodes: int,
    stop_reward: float,
    gate: tuple[int, float] | None = None,
    final_eval_episodes: int = 0,
) -> Any:
    """An SB3 callback: a greedy check of ``eval_episodes`` episodes of ``env_id`` every
    ``interval_env_steps``, after the learning round (at the start of the next rollout), that
    stops training once solved.

    Args:
        seed: The run's root seed; the n-th evaluation's episodes (confirming ones counted)
            derive from ``derive_seed(seed, GREEDY_EVAL_STREAM, n)``, as rlactors' do.
        interval_env_steps: A check at the first round boundary at or after each multiple.
        env_id: The Gymnasium id the checks run on (fresh envs, apart from training's).
        eval_episodes: Greedy episodes per check; their mean is held to ``stop_reward``.
        stop_reward: Solved when the mean return reaches it.
        gate: ``(episodes, mean return)``: check only once the mean training return of the
            latest ``episodes`` episodes (Monitor's records) reaches it, as rlactors'
            ``eval_trigger_fraction`` gate does; None for no gate.
        final_eval_episodes: A check that meets ``stop_reward`` solves only if a confirming
            evaluation of this many episodes of the same policy meets it too (rlactors'
            ``final_eval_episodes``); 0 for no confirmation.

    With a ``VecNormalize`` training env, the checks run on unnormalized envs and the policy
    sees observations normalized with the training statistics as they stand (``normalize_obs``
    reads them without updating them), as SB3's ``EvalCallback`` syncs them to its eval env.

    After ``model.learn``, ``solved_at`` holds the env steps of the solving check (None if
    none solved), ``last_eval`` the latest check's mean return, ``evaluations`` every check as
    ``(env_steps, mean return)``, ``last_confirmed`` the latest confirming mean (None if none
    ran) and ``confirmations`` every confirming one as ``(env_steps, mean return)``.
    """
    from stable_baselines3.common.callbacks import BaseCallback

    class SolveCheck(BaseCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.eval_envs = make_env_batch(env_id, eval_episodes)
            self.final_eval_envs: Any = None  # built at the first confirmation
            self.next_eval = interval_env_steps
            self.evaluations_run = 0  # rlactors' counter: checks and confirmations
            self.evaluations: list[tuple[int, float]] = []
            self.confirmations: list[tuple[int, float]] = []
            self.solved_at: int | None = None
            self.last_eval: float | None = None
            self.last_confirmed: float | None = None

        def _greedy_mean(self, envs: Any) -> float:
            model = self.model
            normalizer = model.get_vec_normalize_env()

            def act(obs: np.ndarray) -> np.ndarray:
                if normalizer is not None:
                    obs = normalizer.normalize_obs(obs)
                actions, _ = model.predict(obs, deterministic=True)
                return np.asarray(actions)

            self.evaluations_run += 1
            eval_seed = derive_seed(seed, GREEDY_EVAL_STREAM, self.evaluations_run)
            return float(np.mean([s.episode_return for s in run_episodes(envs, act, eval_seed)]))

        def _on_rollout_start(self) -> None:
            # Rollouts start after train(): the policy has learned on the round just sampled.
            if self.num_timesteps < self.next_eval or self.solved_at is not None:
                return
            while self.next_eval <= self.num_timesteps:
                self.next_eval += interval_env_steps
            if gate is not None:
                window, mean_return = gate
                recent = [episode["r"] for episode in list(self.model.ep_info_buffer)[-window:]]
                if not recent or np.mean(recent) < mean_return:
                    return
            self.last_eval = self._greedy_mean(self.eval_envs)
            self.evaluations.append((self.num_timesteps, round(self.last_eval, 1)))
            if self.last_eval < stop_reward:
                return
            if final_eval_episodes > 0:
                if self.final_eval_envs is None:
                    self.final_eval_envs = make_env_batch(env_id, final_eval_episodes)
                self.last_confirmed = self._greedy_mean(self.final_eval_envs)
                self.confirmations.append((self.num_timesteps, round(self.last_confirmed, 1)))
                if self.last_confirmed < stop_reward:
                    return  # not confirmed: training goes on, as rlactors' does
            self.solved_at = self.num_timesteps

        def _on_step(self) -> bool:
            return self.solved_at is None

    return SolveCheck()


#: RL Zoo's tuned hyperparameters (DLR-RM/rl-baselines3-zoo, ``hyperparams/dqn.yml``,
#: ``a2c.yml`` and ``ppo.yml``) for the envs rlactors ships presets for, in RL Zoo's spelling:
#: ``n_timesteps`` (its run's length), ``n_envs``, ``normalize`` (VecNormalize), ``lin_X``
#: (linear from X to 0). ``policy_kwargs`` is the dict RL Zoo's string evaluates to. RL Zoo keys
#: the discrete lander ``LunarLander-v2``; v3 has the same dynamics.
RL_ZOO: dict[tuple[str, str], dict[str, Any]] = {
    ("DQN", "CartPole-v1"): {
        "n_timesteps": 50_000,
        "learning_rate": 2.3e-3,
        "batch_size": 64,
        "buffer_size": 100_000,
        "learning_starts": 1000,
        "gamma": 0.99,
        "target_update_interval": 10,
        "train_freq": 256,
        "gradient_steps": 128,
        "exploration_fraction": 0.16,
        "exploration_final_eps": 0.04,
        "policy_kwargs": {"net_arch": [256, 256]},
    },
    ("DQN", "Acrobot-v1"): {
        "n_timesteps": 100_000,
        "learning_rate": 6.3e-4,
        "batch_size": 128,
        "buffer_size": 50_000,
        "learning_starts": 0,
        "gamma": 0.99,
        "target_update_interval": 250,
        "train_freq": 4,
        "gradient_steps": -1,
        "exploration_fraction": 0.12,
        "exploration_final_eps": 0.1,
        "policy_kwargs": {"net_arch": [256, 256]},
    },
    ("A2C", "CartPole-v1"): {"n_timesteps": 500_000, "n_envs": 8, "ent_coef": 0.0},
    ("A2C", "Acrobot-v1"): {
        "n_timesteps": 500_000,
        "normalize": True,
        "n_envs": 16,
        "ent_coef": 0.0,
    },
    ("A2C", "LunarLander-v3"): {  # RL Zoo's LunarLander-v2
        "n_timesteps": 200_000,
        "n_envs": 8,
        "gamma": 0.995,
        "n_steps": 5,
        "learning_rate": "lin_0.00083",
        "ent_coef": 0.00001,
    },
    ("PPO", "CartPole-v1"): {
        "n_timesteps": 100_000,
        "n_envs": 8,
        "n_steps": 32,
        "batch_size": 256,
        "gae_lambda": 0.8,
        "gamma": 0.98,
        "n_epochs": 20,
        "ent_coef": 0.0,
        "learning_rate": "lin_0.001",
        "clip_range": "lin_0.2",
    },
    ("PPO", "Acrobot-v1"): {
        "n_timesteps": 1_000_000,
        "normalize": True,
        "n_envs": 16,
        "n_steps": 256,
        "gae_lambda": 0.94,
        "gamma": 0.99,
        "n_epochs": 4,
        "ent_coef": 0.0,
    },
    ("PPO", "LunarLander-v3"): {  # RL Zoo's LunarLander-v2
        "n_timesteps": 1_000_000,
        "n_envs": 16,
        "n_steps": 1024,
        "batch_size": 64,
        "gae_lambda": 0.98,
        "gamma": 0.999,
        "n_epochs": 4,
        "ent_coef": 0.01,
    },
    ("PPO", "Pendulum-v1"): {
        "n_timesteps": 100_000,
        "n_envs": 4,
        "n_steps": 1024,
        "gae_lambda": 0.95,
        "gamma": 0.9,
        "n_epochs": 10,
        "ent_coef": 0.0,
        "learning_rate": 1e-3,
        "clip_range": 0.2,
        "use_sde": True,
        "sde_sample_freq": 4,
    },
}
# RL Zoo's DQN entry for LunarLander-v2 is the same as its Acrobot-v1 one.
RL_ZOO[("DQN", "LunarLander-v3")] = RL_ZOO[("DQN", "Acrobot-v1")]
# Its PPO entry for LunarLanderContinuous-v2 is the same as its LunarLander-v2 one.
RL_ZOO[("PPO", "LunarLanderContinuous-v3")] = RL_ZOO[("PPO", "LunarLander-v3")]
