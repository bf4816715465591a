"""Ape-X DQN on CartPole-v1 assembled by hand from rlactors' parts, in one screen.

``rlactors train apex`` does the same with a config, progress display and checkpoints; this shows
what it is made of: worker actors (envs + a numpy policy copy, each with its own epsilon) that
push prioritized n-step transitions to replay shard actors, the policy that learns and its
learner (double-Q, target network) in this process, and the optimizer that coordinates them
and broadcasts the learner's weights. Horgan et al., "Distributed Prioritized Experience
Replay", ICLR 2018. Greedy evaluations run here, between iterations (learning pauses for them;
``rlactors train apex`` runs them on an actor of their own, beside learning). How the parts fit
together: docs/architecture.md.

Run: python examples/apex_from_parts.py
"""

from __future__ import annotations

import numpy as np
import torch

from rlactors.actors import Runtime
from rlactors.envs import EnvSpec
from rlactors.evaluators import EvaluatorConfig, make_env_batch, run_episodes
from rlactors.learners import DQNLearner, DQNLearnerConfig
from rlactors.optimizers.async_replay import AsyncReplayConfig, AsyncReplayOptimizer
from rlactors.policies import DQNPolicy, DQNPolicyConfig


def main() -> None:
    # One thread for the learner, as rlactors' algorithms do: on a small, busy machine extra
    # threads contend with the worker processes for the same cores.
    torch.set_num_threads(1)
    env = EnvSpec("CartPole-v1").resolve()  # looked up here, built the same in every actor
    eval_envs = make_env_batch(env, 20)
    network = DQNPolicyConfig(hidden_sizes=(128, 128), dueling=True)
    policy = DQNPolicy(eval_envs.observation_space, eval_envs.action_space, network, seed=0)
    # Adam, Huber loss and a target network on the policy's network.
    learning = DQNLearnerConfig(
        double_q=True, learning_rate=2e-3, target_update_period_learner_steps=200
    )
    learner = DQNLearner(policy, learning)
    workers = EvaluatorConfig(env, num_envs=4, rollout_steps=25, n_step=3, gamma=0.99,
                              seed=1, policy=network)  # fmt: skip
    apex = AsyncReplayConfig(
        num_workers=2,  # epsilons 0.4 and 0.4**8: one explores, one mostly exploits
        num_replay_shards=1,
        priority_alpha=0.6,  # prioritized replay, as in the paper
        importance_beta=0.4,
        batch_size=128,
        replay_ratio=32.0,  # learner samples per inserted transition
        weight_sync_period_learner_steps=20,  # broadcast the weights this often
    )
    # The fork server imports this script (and torch) once; worker processes fork from it.
    with Runtime("process", start_method="forkserver", preload=("__main__",)):
        optimizer = AsyncReplayOptimizer(apex, workers, learner, iteration_env_steps=500)
        print(f"workers' epsilons: {', '.join(f'{e:.4f}' for e in optimizer.epsilons)}")
        for iteration in range(1, 201):
            stats = optimizer.step()  # 500 env steps in; ~16,000 samples learned on
            if iteration % 4 == 0:
                episodes = run_episodes(eval_envs, lambda o: policy.act(o, explore=False),
                                        seed=iteration)  # fmt: skip
                greedy = float(np.mean([e.episode_return for e in episodes]))
                print(f"{stats['env_steps']:>6} env steps, {stats['learner_steps']:>5} "
                      f"learner steps: greedy return {greedy:.1f}")  # fmt: skip
                if greedy >= 475:
                    break
        optimizer.stop()


if __name__ == "__main__":  # worker processes re-import this file
    main()
