"""PPO on CartPole-v1 assembled by hand from rlactors' parts, in one screen.

``rlactors train ppo`` does the same with a config, progress display and checkpoints; this shows
what it is made of: evaluator actors (envs + a policy copy), the policy that learns and its
learner (Adam; PPO's epochs of the clipped loss), and the optimizer that coordinates them.

Run: python examples/ppo_from_parts.py
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from rlactors.actors import Runtime
from rlactors.envs import EnvSpec
from rlactors.evaluators import ActorCriticEvaluator, RolloutConfig, make_env_batch, run_episodes
from rlactors.learners import ActorCriticLearner, ActorCriticLearnerConfig
from rlactors.learners.ppo import PPOLearner, PPOLearnerConfig
from rlactors.optimizers.sync_samples import SyncSamplesOptimizer
from rlactors.optimizers.worker_group import evaluator_group
from rlactors.policies import ActorCriticConfig, ActorCriticPolicy


def main() -> None:
    # One thread for the learner, as rlactors' algorithms do: on a small, busy machine extra
    # threads contend with the evaluator processes for the same cores.
    torch.set_num_threads(1)
    env = gym.make("CartPole-v1")
    policy = ActorCriticPolicy(env.observation_space, env.action_space, ActorCriticConfig(), seed=0)
    rollouts = RolloutConfig(EnvSpec("CartPole-v1"), num_envs=4, rollout_steps=32, gamma=0.98,
                             gae_lambda=0.8, policy=policy.config)  # fmt: skip
    # Adam on the policy's network (PPO's loss weights are PPOLearnerConfig's).
    learner = ActorCriticLearner(policy, ActorCriticLearnerConfig(learning_rate=1e-3))
    ppo = PPOLearner(learner, PPOLearnerConfig(num_epochs=20, minibatch_size=256), seed=0)
    eval_envs = make_env_batch("CartPole-v1", 20)
    with Runtime("process"):  # or "inline": the same program in one process
        evaluators = evaluator_group(ActorCriticEvaluator, rollouts, learner, num_workers=2)
        optimizer = SyncSamplesOptimizer(evaluators, learner, ppo)
        for round_ in range(1, 200):
            stats = optimizer.step()  # 2 workers x 4 envs x 32 steps, then 20 epochs
            if round_ % 16 == 0:
                episodes = run_episodes(eval_envs, lambda o: policy.act(o, explore=False), round_)
                greedy = float(np.mean([e.episode_return for e in episodes]))
                print(f"{stats['env_steps']:>6} env steps: greedy return {greedy:.1f}")
                if greedy >= 475:
                    break
        optimizer.stop()


if __name__ == "__main__":  # evaluator processes re-import this file
    main()
