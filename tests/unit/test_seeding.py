"""Named seed streams: the same integers as before they were named, and distinct where they
must be."""

from __future__ import annotations

import numpy as np

from rlactors import seeding
from rlactors.seeding import derive_seed, seed_sequence


def test_derive_seed_is_deterministic_31_bit_and_distinct_per_path() -> None:
    seeds = {derive_seed(0, i, j) for i in range(10) for j in range(3)}
    assert len(seeds) == 30
    assert derive_seed(5, 1) == derive_seed(5, 1)
    assert derive_seed(5, 1) != derive_seed(6, 1)
    assert all(0 <= s < 2**31 for s in seeds)
    expected = int(np.random.SeedSequence(7).spawn(3)[2].generate_state(1)[0] >> 1)
    assert derive_seed(7, 2) == expected


def test_the_streams_keep_their_numbers() -> None:
    # Every seeded result depends on these: changing one changes every run's draws.
    assert (
        seeding.EVALUATORS_STREAM,
        seeding.LEARNER_STREAM,
        seeding.REPLAY_STREAM,
        seeding.MINIBATCH_STREAM,
        seeding.GREEDY_EVAL_STREAM,
        seeding.GREEDY_EVALUATOR_STREAM,
        seeding.APEX_WORKERS_STREAM,
        seeding.APEX_GREEDY_EVALUATOR_STREAM,
    ) == (0, 1, 2, 2, 3, 4, 10, 11)
    assert (seeding.ENV_STREAM, seeding.POLICY_STREAM, seeding.EVAL_STREAM) == (0, 1, 2)
    assert seeding.SHARD_STREAM == 1000
    assert (seeding.POLICY_INIT_STREAM, seeding.POLICY_ACT_STREAM) == (0, 1)
    # Values recorded before the streams moved here (evaluators/episodes.py's derive_seed).
    assert [derive_seed(0), derive_seed(0, 1), derive_seed(7, 3, 5), derive_seed(1, 1000, 3)] == [
        1484405855,
        336614359,
        828348001,
        2043867899,
    ]


def test_each_algorithms_root_streams_are_distinct() -> None:
    # REPLAY_STREAM (DQN, Ape-X) and MINIBATCH_STREAM (the actor-critics) may share a number;
    # no algorithm draws from two streams of one number.
    common = [seeding.EVALUATORS_STREAM, seeding.LEARNER_STREAM, seeding.GREEDY_EVAL_STREAM]
    dqn = [*common, seeding.REPLAY_STREAM]
    apex = [*dqn, seeding.APEX_WORKERS_STREAM, seeding.APEX_GREEDY_EVALUATOR_STREAM]
    actor_critic = [*common, seeding.MINIBATCH_STREAM, seeding.GREEDY_EVALUATOR_STREAM]
    for streams in (dqn, apex, actor_critic):
        assert len(set(streams)) == len(streams)


def test_a_policys_streams_are_the_children_it_used_to_spawn() -> None:
    # The policies split their seed with SeedSequence(seed).spawn(2) before: same draws now.
    init, act = np.random.SeedSequence(42).spawn(2)
    for old, stream in ((init, seeding.POLICY_INIT_STREAM), (act, seeding.POLICY_ACT_STREAM)):
        new = seed_sequence(42, stream)
        assert (new.generate_state(4) == old.generate_state(4)).all()
        assert np.random.default_rng(new).random(3).tolist() == (
            np.random.default_rng(old).random(3).tolist()
        )
