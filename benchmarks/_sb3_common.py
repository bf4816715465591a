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
