"""The multi-node test's driver: Ape-X on a two-node Ray cluster on this machine, and the second
node removed mid-run. Prints one JSON object (what the test asserts on) as its last line.

A program of its own because a process holds one Ray connection, and the test session's is
taken by the local instance the other Ray tests share.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import ray
from ray.cluster_utils import Cluster
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

TESTS = Path(__file__).parent.parent
# The cluster's processes inherit this: its actors import the test fixtures by name.
os.environ["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(TESTS / "contract"), *sys.path])
sys.path[:0] = [str(TESTS), str(TESTS / "contract")]
from actor_fixtures import Parent  # noqa: E402
from listeners import listeners  # noqa: E402

from rlactors.actors import ActorOptions, Runtime, spawn_with  # noqa: E402
from rlactors.algorithms.apex.algorithm import Apex  # noqa: E402
from rlactors.algorithms.apex.config import ApexConfig  # noqa: E402

WORKERS = 4


def node_of(ref: Any) -> str:
    """The Ray node an rlactors actor runs on."""
    return str(ray.get(ref._handle.ray_actor.node_id.remote(), timeout=60))


def main() -> dict[str, Any]:
    # Each node says its own address: 127.0.0.1, so every service listens on loopback only.
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"node_ip_address": "127.0.0.1", "num_cpus": 2, "include_dashboard": False},
    )
    second = cluster.add_node(node_ip_address="127.0.0.1", num_cpus=2, resources={"second": 1})
    report: dict[str, Any] = {}
    try:
        with Runtime("ray", address=cluster.address):
            nodes = {n["NodeID"]: n for n in ray.nodes() if n["Alive"]}
            head = next(i for i, n in nodes.items() if "second" not in n["Resources"])
            other = next(i for i, n in nodes.items() if "second" in n["Resources"])
            # An actor spawned by an actor on the second node lands beside it (colocate=False).
            on_second = {"scheduling_strategy": NodeAffinitySchedulingStrategy(other, soft=False)}
            with Runtime("ray", actor_options={"parent": on_second}):
                parent = spawn_with(ActorOptions(name="parent"), Parent, colocate=False)
                child = parent.ask("child_ref").result(60)
                report["parent_child_nodes"] = [node_of(parent) == other, node_of(child) == other]
            # Even workers on the head, odd ones on the second node; soft, so that a restart
            # goes wherever Ray finds room once their node is gone (Ray honours soft affinity
            # only for actors that ask for some resource, hence the 0.01 CPU).
            placement: dict[str, dict[str, Any]] = {
                f"worker-{i}": {
                    "num_cpus": 0.01,
                    "scheduling_strategy": NodeAffinitySchedulingStrategy(
                        head if i % 2 == 0 else other, soft=True
                    ),
                }
                for i in range(WORKERS)
            }
            # Ape-X does not restart replay shards (their memory is the run): keep them with
            # the learner.
            placement["replay-*"] = {
                "scheduling_strategy": NodeAffinitySchedulingStrategy(head, soft=False)
            }

            class ClusterApex(Apex):
                def _runtime_options(self) -> dict[str, Any]:
                    return {"actor_options": placement}

            config = ApexConfig(
                env="CartPole-v1",
                seed=0,
                backend="ray",
                num_workers=WORKERS,
                max_env_steps=6000,
                iteration_env_steps=1000,
                num_envs_per_worker=2,
                rollout_steps=25,
                learning_starts_transitions=300,
                batch_size=32,
                replay_ratio=2.0,
                hidden_sizes=(16,),
                eval_episodes=3,
                weight_sync_period_learner_steps=5,
            )
            iterations: list[dict[str, Any]] = []
            with ClusterApex(config) as apex:

                def on_iteration(metrics: dict[str, Any]) -> None:
                    iterations.append(metrics)
                    if len(iterations) == 1:
                        workers = apex._optimizer.workers.refs
                        report["nodes_before"] = [node_of(w) == other for w in workers]
                        report["replay_on_head"] = node_of(apex._optimizer.shards[0]) == head
                        report["public_listeners"] = [
                            str(s) for s in listeners(os.getpid()) if not s.loopback
                        ]
                        cluster.remove_node(second)  # its raylet and every actor on it
                        report["at_kill"] = {k: metrics[k] for k in ("env_steps", "learner_steps")}

                result = apex.train(callback=on_iteration)
                report["nodes_after"] = [node_of(w) == other for w in apex._optimizer.workers.refs]
                report["restarts"] = apex._optimizer.workers.restarts
            report["end"] = {k: result[k] for k in ("env_steps", "learner_steps")}
            report["iterations"] = len(iterations)
    finally:
        cluster.shutdown()
    return report


if __name__ == "__main__":
    print(json.dumps(main()), flush=True)
