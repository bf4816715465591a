"""Named seed streams, all derived from a run's one root seed.

A stream is a path of small integers under a seed: ``derive_seed(root, LEARNER_STREAM)`` is the
learner policy's seed, ``derive_seed(seed, index, ENV_STREAM)`` an evaluator's env seed. Paths
are NumPy ``SeedSequence`` spawn keys, so two different paths give independent streams, where
``seed + i`` makes run 0's second stream run 1's first. Every stream has its name here; the
numbers must never change, or every seeded result changes with them.

The tree, with who draws from each stream (the last integers count restores, evaluations or
indices, so that each draw is fresh)::

    config.seed                                   the run's root seed
      EVALUATORS_STREAM, env_steps                  DQN's, A2C's, PPO's, IMPALA's, A3C's evaluators
      LEARNER_STREAM                                the learner's policy
      REPLAY_STREAM, env_steps                      DQN's replay sampling
      MINIBATCH_STREAM, env_steps                   PPO's minibatch shuffling
      GREEDY_EVAL_STREAM, n                         the n-th greedy evaluation (every algorithm)
      GREEDY_EVALUATOR_STREAM                       the actor-critics' greedy evaluator actor
      APEX_WORKERS_STREAM, env_steps                Ape-X's workers
      APEX_GREEDY_EVALUATOR_STREAM, env_steps       Ape-X's greedy evaluator actor

    an evaluator config's seed (one of the above)
      index, ENV_STREAM                             evaluator ``index``'s envs (reset once)
      index, POLICY_STREAM                          its policy copy
      index, EVAL_STREAM, n                         its n-th greedy evaluation
      SHARD_STREAM, j                               Ape-X's replay shard ``j`` (workers' seed)
      SERVER_STREAM                                 the policy server the evaluators act through

    a policy's seed (``seed_sequence``, not ``derive_seed``)
      POLICY_INIT_STREAM                            its network's initial weights
      POLICY_ACT_STREAM                             its exploration or action sampling
"""

from __future__ import annotations

import numpy as np

# -- under a run's root seed: derive_seed(config.seed, STREAM, ...) ---------------------------

#: The evaluators' config seed, ``(EVALUATORS_STREAM, env_steps)``: DQN's and the actor-critics'
#: (env steps so far, so that a restored run continues with fresh envs, not the first episodes).
EVALUATORS_STREAM = 0
#: The learner's policy (its initial weights and exploration): every algorithm.
LEARNER_STREAM = 1
#: DQN's replay sampling, ``(REPLAY_STREAM, env_steps)``.
REPLAY_STREAM = 2
#: PPO's minibatch shuffling, ``(MINIBATCH_STREAM, env_steps)``. It shares 2 with
#: :data:`REPLAY_STREAM`: no algorithm has both.
MINIBATCH_STREAM = 2
#: The learner's greedy evaluations, ``(GREEDY_EVAL_STREAM, n)`` for the n-th (from 1): the
#: root seed of its episodes; the same for every algorithm, and for the benchmarks' peers.
GREEDY_EVAL_STREAM = 3
#: The actor-critics' greedy evaluator actor (its config seed; evaluate() is seeded per call).
GREEDY_EVALUATOR_STREAM = 4
#: Ape-X's workers' config seed, ``(APEX_WORKERS_STREAM, env_steps)``; each worker then draws
#: under its index, as an evaluator does.
APEX_WORKERS_STREAM = 10
#: Ape-X's greedy evaluator actor, ``(APEX_GREEDY_EVALUATOR_STREAM, env_steps)``.
APEX_GREEDY_EVALUATOR_STREAM = 11

# -- under an evaluator config's seed: derive_seed(config.seed, index, STREAM, ...) -----------

#: Evaluator ``index``'s envs, ``(index, ENV_STREAM)``: the seed of its one ``EnvBatch.reset``.
ENV_STREAM = 0
#: Evaluator ``index``'s policy copy, ``(index, POLICY_STREAM)``.
POLICY_STREAM = 1
#: Evaluator ``index``'s greedy evaluations, ``(index, EVAL_STREAM, n)`` for the n-th.
EVAL_STREAM = 2
#: Ape-X's replay shard ``j``, ``(SHARD_STREAM, j)`` under the workers' config seed: in place of
#: an evaluator index, far above any worker's.
SHARD_STREAM = 1000
#: The policy server evaluators act through with ``inference="server"``, ``(SERVER_STREAM,)``
#: under their config seed (its initial weights and the actor-critics' action sampling).
SERVER_STREAM = 2000

# -- under a policy's seed: seed_sequence(seed, STREAM) ---------------------------------------

#: A policy's initial network weights (torch's or numpy's initialisation).
POLICY_INIT_STREAM = 0
#: A policy's exploration (epsilon-greedy) or action sampling.
POLICY_ACT_STREAM = 1


def seed_sequence(root: int, *path: int) -> np.random.SeedSequence:
    """The ``SeedSequence`` of the stream named ``path`` under ``root``.

    ``seed_sequence(s, i)`` is ``SeedSequence(s).spawn(i + 1)[i]``: the same state, so
    ``np.random.default_rng(seed_sequence(s, i))`` draws what that child would.

    Args:
        root: A seed (>= 0).
        *path: Non-negative integers naming the stream, e.g. ``(POLICY_ACT_STREAM,)``.
    """
    return np.random.SeedSequence(root, spawn_key=tuple(path))


def derive_seed(root: int, *path: int) -> int:
    """A 31-bit seed for the stream named ``path`` under ``root``, independent of its siblings.

    ``derive_seed(s, i)`` equals the state of ``SeedSequence(s).spawn(i + 1)[i]``, so streams
    of different paths never overlap the way ``seed + i`` does across runs with nearby seeds.

    Args:
        root: The run's root seed (>= 0).
        *path: Non-negative integers naming the stream, e.g. ``(EVALUATORS_STREAM, env_steps)``.
    """
    sequence = seed_sequence(root, *path)
    # 31 bits: some envs reject seeds >= 2**31.
    return int(sequence.generate_state(1)[0] >> 1)
