"""RLlib's env runners stepping N slow envs: the RLlib peer of ``benchmarks/fleet.py``.

Runs in an environment of its own (``ray[rllib]`` 2.60 pins gymnasium 1.2.2, older than
rlactors'), which ``fleet.py --rllib`` sets up: so it imports nothing of rlactors and defines
its own copy of ``SlowEnv``'s gymnasium form (a ``step_ms`` sleep per step, ``[16]`` float32
observations, 2 actions, truncated after 200 steps).

N env runners (Ray actors) of one env each, random actions (``sample(random_actions=True)``:
no policy in the loop, as the other systems of the benchmark), all sampling at once
(``foreach_env_runner``), for about ``seconds``; Ray on loopback only. Prints one JSON object:
``{"env_steps_per_s": .., "startup_s": ..}``.

    .venv-rllib/bin/python benchmarks/_rllib_fleet_child.py N STEP_MS SECONDS
"""

from __future__ import annotations

import ipaddress
import json
import sys
import time
from typing import Any

import gymnasium as gym
import numpy as np

#: Env steps each runner takes per sample() call.
STEPS_PER_CALL = 100


class SlowGymEnv(gym.Env):  # type: ignore[type-arg]
    """``rlactors.envs.toy.SlowEnv``'s gymnasium form, written out (see the module docstring)."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.step_ms = float((config or {}).get("step_ms", 2.0))
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(16,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self._rng = np.random.default_rng(0)
        self._steps = 0

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[Any, dict[str, Any]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._steps = 0
        return self._rng.random(16, dtype=np.float32), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        time.sleep(self.step_ms / 1000.0)
        self._steps += 1
        return self._rng.random(16, dtype=np.float32), 0.5, False, self._steps >= 200, {}


def start_ray_on_loopback(num_cpus: int) -> None:
    """``ray.init`` with every service on 127.0.0.1 (as rlactors' Ray backend does: on Linux
    Ray binds the routable address unless its non-cluster mode is on)."""
    import ray
    from ray._private import ray_constants

    saved = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved
    if not ipaddress.ip_address(ray.util.get_node_ip_address()).is_loopback:
        ray.shutdown()
        raise SystemExit("Ray came up off loopback: refusing to run it")


def main() -> None:
    n, step_ms, seconds = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    start = time.perf_counter()
    start_ray_on_loopback(num_cpus=n + 1)
    from ray.rllib.algorithms.ppo import PPOConfig

    config = (
        PPOConfig()
        .environment(SlowGymEnv, env_config={"step_ms": step_ms})
        .env_runners(num_env_runners=n, num_envs_per_env_runner=1, num_cpus_per_env_runner=1)
        .learners(num_learners=0)
    )
    algo = config.build_algo()
    group = algo.env_runner_group

    def sample_all() -> int:
        episodes = group.foreach_env_runner(
            lambda runner: runner.sample(num_timesteps=STEPS_PER_CALL, random_actions=True),
            local_env_runner=False,
        )
        return sum(len(e) for runner_episodes in episodes for e in runner_episodes)

    sample_all()  # warm-up: every env's first steps
    startup_s = time.perf_counter() - start
    steps, timed = 0, time.perf_counter()
    while time.perf_counter() - timed < seconds:
        steps += sample_all()
    rate = steps / (time.perf_counter() - timed)
    algo.stop()
    print(json.dumps({"env_steps_per_s": rate, "startup_s": startup_s}))


if __name__ == "__main__":
    main()
