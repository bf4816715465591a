"""A2C on CartPole-v1: env steps and seconds to solve from a fresh process, with SB3 A2C beside.

Solved means a greedy evaluation's mean return over 20 episodes reaches 475 within a budget of
500,000 env steps, checked every 4,096 env steps after the learning round that ends there, once
the training mean of the latest 20 episodes reaches 237.5 (rlactors' evaluation gate, applied
to SB3 too); see ``_cartpole_common.py`` for the method (fresh process per run, launch to
solved report, interleaved seeds, one torch thread).

- rlactors: ``A2CConfig`` defaults (after RL-Zoo's CartPole-v1 A2C: 8 envs, here 2 evaluators
  of 4, learning rate 7e-4, no entropy bonus; but 8-step rollouts instead of 5 and Adam instead
  of RMSprop), ``--backend`` (``process`` by default). Its rounds are 2 x 4 x 8 = 64 env steps.
- Stable-Baselines3 (when installed, a reference only: no bar): ``A2C("MlpPolicy")`` on 8 envs
  in a ``DummyVecEnv`` with RL-Zoo's CartPole-v1 hyperparameters (ent_coef 0.0, the rest SB3's
  defaults: n_steps 5, learning rate 7e-4 with RMSprop, gamma 0.99, gae_lambda 1.0). Its
  rounds are 40 env steps, so its checks land up to 39 env steps after ours.

Bar: A2C solves on >= 4 of 5 seeds.

Usage: ``python benchmarks/a2c_cartpole.py [--seeds 0 1 2 3 4] [--backend process]
[--no-sb3]``. The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import os
import time
from typing import Any

from _cartpole_common import Peer, Report, main, run_sb3
from dqn_cartpole import ENV_ID

BUDGET_ENV_STEPS = 500_000
SB3_ENVS = 8
#: RL-Zoo's ``hyperparams/a2c.yml`` CartPole-v1 entry.
SB3_ZOO: dict[str, Any] = {"n_envs": SB3_ENVS, "ent_coef": 0.0}


def run_sb3_a2c(seed: int, report: Report) -> None:
    """SB3 A2C with RL-Zoo's hyperparameters, in the child."""
    from stable_baselines3 import A2C as SB3A2C
    from stable_baselines3.common.env_util import make_vec_env

    imported = time.time()

    def build() -> Any:
        return SB3A2C(
            "MlpPolicy",
            make_vec_env(ENV_ID, n_envs=SB3_ENVS, seed=seed),
            ent_coef=SB3_ZOO["ent_coef"],
            seed=seed,
            device="cpu",
            verbose=0,
        )

    run_sb3(seed, BUDGET_ENV_STEPS, build, imported, report)


if __name__ == "__main__":
    main(
        "a2c",
        __doc__,
        os.path.abspath(__file__),
        BUDGET_ENV_STEPS,
        peer=Peer(run_sb3_a2c, "A2C", SB3_ZOO),
    )
