"""Policy server against local policy copies: sampling speed, batches, memory, and solving CartPole.

Two parts, measured in one run on this machine (issue #13's PolicyServer bar); ``--parts``
picks them:

* ``sampling`` (process backend, no learning): 8 evaluators of 4 CartPole-v1 envs each, first
  with a local numpy policy copy in each, then acting through one ``ServedPolicy`` (a supervised
  ``PolicyServer`` and a client per evaluator), for ``max_wait_ms`` 0 (the default) and 2. For
  ``DQNEvaluator.sample()`` (kind ``q``, epsilon 0.1, no priorities) and
  ``ActorCriticEvaluator.rollout()`` (kind ``actor_critic``), each with the algorithms' default
  network (Ape-X's dueling (128, 128), the actor-critics' (64, 64)) and a large one (512, 512),
  where one batched forward pass should save more. For each kind and network, every contender
  (local, and a server per wait) is spawned and warmed up (one round: every evaluator's call,
  gathered), then timed blocks of ``--rounds`` rounds alternate between them, ``--blocks``
  each, every block in its own order, so load from other processes on a shared machine falls
  on all alike. Reported per contender: env steps/s (the median of its blocks), env steps per
  CPU second of its processes (evaluators and server: the machine's cost, steadier than wall
  speed under load), the server's batches formed in the timed blocks (``rows_per_batch``,
  ``requests_per_batch``, the ``batch_rows`` histogram, ``forward_s``; ``largest_batch_rows`` is
  since the server started), each process's CPU seconds in them and its resident memory
  after them (``VmRSS`` of ``/proc/<pid>/status``: psutil is not a dependency). Evaluator
  pids come from a ``pid`` method of subclasses defined here; the server's from its process
  title (``rlactors: <name> (PolicyServer)``), with a name unique to this run.
* ``solve``: Ape-X (100,000 env steps budget) and PPO (200,000) on CartPole-v1 with
  ``inference="server"`` against ``"local"``: each algorithm's default config with 2 workers,
  ``stop_reward`` 475 over 20 greedy episodes (and the default greedy confirmation),
  ``--backend process``. Every run is a fresh ``python`` process (this script in ``--child``
  mode, launched by ``apex_cartpole.launch``), timed from launch to its solved report; seeds
  alternate which mode goes first. Reported: solved seeds, env steps, wall seconds and
  training env steps/s (the last iteration's ``env_steps_per_s``) per seed, the server's
  batch metrics of the last iteration, and the medians over seeds of each seed's
  server/local ratios of wall seconds (seeds both modes solved) and of env steps/s (the two
  modes do not learn alike step for step, so the env steps to solve differ by chance: speed
  is the steadier figure of what serving costs).

No bar: the figures say what a server costs or saves here. On 2 cores, 8 evaluators and a
server share the CPU, and every step of every evaluator becomes a round trip through a pipe
(the local copies' act is tens of microseconds): for a small MLP the server can be slower.

Usage: ``nice -n 10 python benchmarks/inference.py [--parts sampling solve] [--rounds 10]
[--blocks 3] [--seeds 0 1 2 3 4]``. The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# No torch at the top: every actor process imports the script it was started from.
from rlactors.evaluators import ActorCriticEvaluator, DQNEvaluator

ENV_ID = "CartPole-v1"
#: Prefix of a solve child's result line on its stdout.
RESULT_TAG = "INFERENCE_SOLVE_RESULT "
#: Env steps within which each algorithm must solve (its CartPole benchmark's budget).
BUDGETS = {"apex": 100_000, "ppo": 200_000}
MODES = ("local", "server")
ROUND_TIMEOUT_S = 300.0


class PidDQNEvaluator(DQNEvaluator):
    """A DQNEvaluator that tells its process id (to read its memory and CPU time)."""

    def pid(self) -> int:
        return os.getpid()


class PidActorCriticEvaluator(ActorCriticEvaluator):
    """An ActorCriticEvaluator that tells its process id."""

    def pid(self) -> int:
        return os.getpid()


# -- processes: memory and CPU time from /proc -----------------------------------------------------


def rss_mib(pid: int) -> float:
    """Resident memory of process ``pid`` (``VmRSS``), MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/status has no VmRSS line")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as f:
        # The name field (2nd) may hold spaces and parentheses: the rest follows its last ')'.
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def descendant_titled(title: str) -> int:
    """The pid of this process's descendant whose command line holds ``title``.

    Raises:
        RuntimeError: None or several do.
    """
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            if title not in cmdline:
                continue
            pid = ancestor = int(entry)
            while ancestor > 1 and ancestor != os.getpid():
                ancestor = _parent(ancestor)
        except (FileNotFoundError, ProcessLookupError):  # exited while we looked
            continue
        if ancestor == os.getpid():
            found.append(pid)
    if len(found) != 1:
        raise RuntimeError(f"expected one descendant process titled {title!r}, found {found}")
    return found[0]


# -- the figures: pure functions of what was measured ----------------------------------------------


def batch_stats_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The server's batches between two :meth:`ServedPolicy.stats` readings.

    Counters and the ``batch_rows`` histogram are differences; the means are recomputed from
    them; ``largest_batch_rows`` (not a counter) is ``after``'s, since the server started.
    """
    batches = after["batches"] - before["batches"]
    requests = after["requests"] - before["requests"]
    rows = after["rows"] - before["rows"]
    histogram = {
        bucket: count - before["batch_rows"].get(bucket, 0)
        for bucket, count in after["batch_rows"].items()
        if count - before["batch_rows"].get(bucket, 0)
    }
    return {
        "batches": batches,
        "requests": requests,
        "rows": rows,
        "rows_per_batch": rows / batches if batches else 0.0,
        "requests_per_batch": requests / batches if batches else 0.0,
        "largest_batch_rows_since_start": after["largest_batch_rows"],
        "forward_s": after["forward_s"] - before["forward_s"],
        "batch_rows": histogram,
        "restarts": after["restarts"],
    }


def process_figures(
    evaluator_rss: Sequence[float],
    evaluator_cpu: Sequence[float],
    server_rss: float | None,
    server_cpu: float | None,
) -> dict[str, Any]:
    """Memory (MiB) and CPU seconds of the evaluators and of the server (None: no server)."""
    total = sum(evaluator_rss) + (server_rss or 0.0)
    return {
        "evaluator_rss_mib": [round(r, 1) for r in evaluator_rss],
        "evaluator_rss_mib_mean": round(statistics.mean(evaluator_rss), 1),
        "server_rss_mib": None if server_rss is None else round(server_rss, 1),
        "total_rss_mib": round(total, 1),
        "evaluator_cpu_s": round(sum(evaluator_cpu), 2),
        "server_cpu_s": None if server_cpu is None else round(server_cpu, 2),
    }


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b`` to 3 decimals, None if either is missing or ``b`` is 0."""
    return round(a / b, 3) if a is not None and b else None


def sampling_ratios(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Each server row's ``env_steps_per_s`` and ``env_steps_per_cpu_s`` over its local
    row's (same kind and network), keyed ``<kind>_<network>_<inference>``."""
    rows = list(rows)
    local = {(r["kind"], r["network"]): r for r in rows if r["inference"] == "local"}
    out: dict[str, dict[str, float | None]] = {}
    for r in rows:
        if r["inference"] == "local":
            continue
        base = local.get((r["kind"], r["network"]), {})
        out[f"{r['kind']}_{r['network']}_{r['inference']}"] = {
            figure: ratio(r[figure], base.get(figure))
            for figure in ("env_steps_per_s", "env_steps_per_cpu_s")
        }
    return out


def solve_summary(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """One algorithm's runs by mode -> solved counts, medians and the server/local ratios.

    A run's ``env_steps_per_s`` is its last iteration's: env steps over seconds since
    training started (after every actor is spawned; evaluations included). The ratios are medians
    over seeds of each seed's server/local ratio: ``median_wall_ratio_server_over_local`` of
    the wall seconds (seeds both modes solved), ``median_env_steps_per_s_ratio_...`` of the
    training speeds (every seed: the two modes do not follow the same learning curve, as the
    process backend's timing and the server's sampling stream differ, so the env steps to
    solve differ by chance and speed is the steadier measure of what the server costs);
    ``median_seconds_ratio_server_over_local`` is the ratio of the modes' medians.
    """
    out: dict[str, Any] = {}
    for mode, mode_runs in runs.items():
        solved = [r for r in mode_runs if r["solved"]]
        rates = [r["env_steps_per_s"] for r in mode_runs if r.get("env_steps_per_s")]
        out[mode] = {
            "solved_seeds": len(solved),
            "seeds": len(mode_runs),
            "median_env_steps_to_solve": statistics.median(r["env_steps"] for r in solved)
            if solved
            else None,
            "median_seconds_to_solve": statistics.median(r["seconds"] for r in solved)
            if solved
            else None,
            "median_env_steps_per_s": statistics.median(rates) if rates else None,
            "per_seed": mode_runs,
        }
    local = {r["seed"]: r for r in runs.get("local", [])}
    pairs = [(s, local[s["seed"]]) for s in runs.get("server", []) if s["seed"] in local]
    wall = [s["seconds"] / b["seconds"] for s, b in pairs if s["solved"] and b["solved"]]
    speed = [
        s["env_steps_per_s"] / b["env_steps_per_s"]
        for s, b in pairs
        if s.get("env_steps_per_s") and b.get("env_steps_per_s")
    ]
    out["median_wall_ratio_server_over_local"] = round(statistics.median(wall), 3) if wall else None
    out["median_env_steps_per_s_ratio_server_over_local"] = (
        round(statistics.median(speed), 3) if speed else None
    )
    out["median_seconds_ratio_server_over_local"] = ratio(
        out.get("server", {}).get("median_seconds_to_solve"),
        out.get("local", {}).get("median_seconds_to_solve"),
    )
    return out


def format_solve_table(algo: str, summary: dict[str, Any]) -> str:
    """One algorithm's runs, a line per seed: local beside server, then the ratios."""
    lines = [
        f"{algo:5} {'seed':>4} | {'local: solved':>13} {'steps':>6} {'wall_s':>6} {'steps/s':>7} "
        f"| {'server: solved':>14} {'steps':>6} {'wall_s':>6} {'steps/s':>7} {'rows/b':>6} "
        f"{'req/b':>5} {'batches':>7}"
    ]
    servers = {r["seed"]: r for r in summary["server"]["per_seed"]}
    for b in summary["local"]["per_seed"]:
        s = servers.get(b["seed"], {})
        batches = s.get("inference") or {}

        def cols(r: dict[str, Any], width: int) -> str:
            return (
                f"{r.get('solved', '-')!s:>{width}} {r.get('env_steps') or 0:6d} "
                f"{r.get('seconds', 0.0):6.1f} {r.get('env_steps_per_s', 0.0):7.0f}"
            )

        lines.append(
            f"{algo:5} {b['seed']:4d} | {cols(b, 13)} | {cols(s, 14)} "
            f"{batches.get('rows_per_batch', 0.0):6.2f} "
            f"{batches.get('requests_per_batch', 0.0):5.2f} {batches.get('batches', 0):7d}"
        )
    lines.append(
        f"{algo}: solved local {summary['local']['solved_seeds']}/{summary['local']['seeds']}, "
        f"server {summary['server']['solved_seeds']}/{summary['server']['seeds']}; "
        "median per-seed ratios server/local: wall "
        f"{summary['median_wall_ratio_server_over_local']}, env steps/s "
        f"{summary['median_env_steps_per_s_ratio_server_over_local']}"
    )
    return "\n".join(lines)


def format_sampling_table(rows: Sequence[dict[str, Any]]) -> str:
    """The sampling part as a text table, one line per configuration."""
    head = (
        f"{'kind':12} {'network':9} {'inference':11} {'steps/s':>8} {'/cpu_s':>7} {'rows/b':>6} "
        f"{'req/b':>5} {'fwd_s':>5} {'ev_rss':>6} {'srv_rss':>7} {'tot_rss':>7} "
        f"{'ev_cpu':>6} {'srv_cpu':>7}"
    )
    lines = [head]
    for r in rows:
        batches = r.get("server") or {}
        p = r["processes"]

        def num(value: float | None, spec: str) -> str:
            return f"{'-':>{spec.split('.')[0]}}" if value is None else format(value, spec)

        lines.append(
            f"{r['kind']:12} {r['network']:9} {r['inference']:11} "
            f"{r['env_steps_per_s']:8.0f} {num(r['env_steps_per_cpu_s'], '7.0f')} "
            f"{num(batches.get('rows_per_batch'), '6.1f')} "
            f"{num(batches.get('requests_per_batch'), '5.1f')} "
            f"{num(batches.get('forward_s'), '5.2f')} {p['evaluator_rss_mib_mean']:6.1f} "
            f"{num(p['server_rss_mib'], '7.1f')} {p['total_rss_mib']:7.1f} "
            f"{p['evaluator_cpu_s']:6.2f} {num(p['server_cpu_s'], '7.2f')}"
        )
    return "\n".join(lines)


# -- part 1: sampling ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sampling:
    """What the sampling part runs (the command line's numbers)."""

    evaluators: int
    envs: int
    rollout_steps: int
    rounds: int
    blocks: int
    large: tuple[int, ...]
    waits_ms: tuple[float, ...]
    seed: int = 0


def _networks(kind: str, large: tuple[int, ...]) -> dict[str, Any]:
    """The network configs by label: the algorithms' default and a large one."""
    from rlactors.policies import ActorCriticConfig, DQNPolicyConfig

    if kind == "q":
        return {
            "default": DQNPolicyConfig(hidden_sizes=(128, 128), dueling=True),
            "large": DQNPolicyConfig(hidden_sizes=large, dueling=True),
        }
    return {"default": ActorCriticConfig(hidden_sizes=(64, 64)), "large": ActorCriticConfig(large)}


def _evaluator_setup(kind: str, s: Sampling, network: Any) -> tuple[Any, type, str, int]:
    """The evaluator config, class, the method one round calls, and its env steps."""
    from rlactors.envs import EnvSpec
    from rlactors.evaluators import EvaluatorConfig, RolloutConfig

    env = EnvSpec.of(ENV_ID).resolve()  # as the algorithms give it
    if kind == "q":
        q = EvaluatorConfig(
            env, num_envs=s.envs, rollout_steps=s.rollout_steps, epsilon=0.1,
            policy=network, seed=s.seed,
        )  # fmt: skip
        return q, PidDQNEvaluator, "sample", q.env_steps_per_sample
    ac = RolloutConfig(
        env, num_envs=s.envs, rollout_steps=s.rollout_steps, policy=network, seed=s.seed
    )
    return ac, PidActorCriticEvaluator, "rollout", ac.env_steps_per_rollout


def _weights(kind: str, network: Any) -> dict[str, Any]:
    """Weights of a policy no evaluator holds by chance (another seed), for every copy."""
    import gymnasium as gym

    from rlactors.policies import NumpyActorCriticPolicy, NumpyQPolicy

    env = gym.make(ENV_ID)
    cls = NumpyQPolicy if kind == "q" else NumpyActorCriticPolicy
    policy = cls(env.observation_space, env.action_space, network, 123)
    weights: dict[str, Any] = policy.get_weights()
    env.close()
    return weights


class Contender:
    """One way of acting in the sampling part: its evaluators (and server), spawned and warm.

    ``wait_ms`` None: local copies; else one server with that ``max_wait_ms``. Each
    :meth:`time_block` times ``rounds`` rounds and adds to the CPU seconds and env steps.
    """

    def __init__(
        self, kind: str, label: str, network: Any, wait_ms: float | None, s: Sampling
    ) -> None:
        import gymnasium as gym

        from rlactors.actors import ActorOptions, SpawnRequest, gather, spawn_many
        from rlactors.core import DEFAULT_POLICY_ID
        from rlactors.inference import ServedPolicy, ServerConfig

        self.kind, self.label, self.network = kind, label, network
        self.mode = "local" if wait_ms is None else f"server_{wait_ms:g}ms"
        config, cls, self.method, steps_per_call = _evaluator_setup(kind, s, network)
        self.round_env_steps = s.evaluators * steps_per_call
        weights = _weights(kind, network)
        self.served: Any = None
        self.server_pid: int | None = None
        if wait_ms is not None:
            env = gym.make(ENV_ID)
            name = f"inference-bench-{os.getpid()}-{kind}-{label}-{self.mode}"
            self.served = ServedPolicy(
                ServerConfig(max_wait_ms=wait_ms), kind, env.observation_space,
                env.action_space, network, seed=s.seed, weights=lambda: weights, name=name,
            )  # fmt: skip
            env.close()
            self.server_pid = descendant_titled(f"rlactors: {name} (PolicyServer)")
        epsilon = {"epsilon": 0.1} if kind == "q" else {}

        def kwargs(i: int) -> dict[str, Any]:
            if self.served is None:
                return {"index": i}
            return {"index": i, "policy": self.served.client(i, **epsilon)}

        self.refs = spawn_many(
            SpawnRequest(
                cls, (config,), kwargs(i), options=ActorOptions(name=f"{self.mode}-evaluator-{i}")
            )
            for i in range(s.evaluators)
        )
        if self.served is None:
            for ref in self.refs:
                ref.tell("set_weights", {DEFAULT_POLICY_ID: weights})
        self.pids: list[int] = gather([r.ask("pid") for r in self.refs], timeout=ROUND_TIMEOUT_S)
        self._round()  # warm-up
        self.block_env_steps_per_s: list[float] = []
        self.env_steps = 0
        self.evaluator_cpu = [0.0] * len(self.pids)
        self.server_cpu = 0.0
        self.stats_before = self.served.stats() if self.served is not None else {}

    def _round(self) -> None:
        from rlactors.actors import gather

        gather([ref.ask(self.method) for ref in self.refs], timeout=ROUND_TIMEOUT_S)

    def time_block(self, rounds: int) -> float:
        """Time ``rounds`` rounds; their env steps/s."""
        cpu_before = [cpu_s(p) for p in self.pids]
        server_before = cpu_s(self.server_pid) if self.server_pid is not None else 0.0
        start = time.perf_counter()
        for _ in range(rounds):
            self._round()
        seconds = time.perf_counter() - start
        for i, (pid, before) in enumerate(zip(self.pids, cpu_before, strict=True)):
            self.evaluator_cpu[i] += cpu_s(pid) - before
        if self.server_pid is not None:
            self.server_cpu += cpu_s(self.server_pid) - server_before
        self.env_steps += rounds * self.round_env_steps
        self.block_env_steps_per_s.append(round(rounds * self.round_env_steps / seconds, 1))
        return self.block_env_steps_per_s[-1]

    def figures(self) -> dict[str, Any]:
        """Everything measured so far, and the processes' memory now."""
        served = self.served is not None
        processes = process_figures(
            [rss_mib(p) for p in self.pids],
            self.evaluator_cpu,
            rss_mib(self.server_pid) if self.server_pid is not None else None,
            self.server_cpu if served else None,
        )
        cpu = sum(self.evaluator_cpu) + self.server_cpu
        return {
            "kind": self.kind,
            "network": self.label,
            "hidden_sizes": list(self.network.hidden_sizes),
            "inference": self.mode,
            "env_steps": self.env_steps,
            "env_steps_per_s": statistics.median(self.block_env_steps_per_s),
            "env_steps_per_s_blocks": self.block_env_steps_per_s,
            "env_steps_per_cpu_s": round(self.env_steps / cpu, 1) if cpu else None,
            "server": batch_stats_between(self.stats_before, self.served.stats())
            if served
            else None,
            "processes": processes,
        }

    def stop(self) -> None:
        for ref in self.refs:
            ref.stop(timeout=10.0)
        if self.served is not None:
            self.served.stop()


def run_sampling(s: Sampling) -> dict[str, Any]:
    """Every configuration of the sampling part, printed as it lands and as a table.

    For each kind and network, every contender is spawned and warmed up first; then timed
    blocks alternate between them (each block its own order), so load from other processes
    on a shared machine falls on all alike. A contender's env steps/s is its blocks' median.
    """
    from rlactors.actors import Runtime

    rows = []
    with Runtime("process"):
        for kind in ("q", "actor_critic"):
            for label, network in _networks(kind, s.large).items():
                contenders: list[Contender] = []
                try:
                    for wait_ms in (None, *s.waits_ms):
                        contenders.append(Contender(kind, label, network, wait_ms, s))
                    for block in range(s.blocks):
                        shift = block % len(contenders)
                        for contender in contenders[shift:] + contenders[:shift]:
                            contender.time_block(s.rounds)
                    for contender in contenders:
                        rows.append(contender.figures())
                        print(json.dumps(rows[-1]), flush=True)
                finally:
                    for contender in contenders:
                        contender.stop()
    print(format_sampling_table(rows))
    ratios = sampling_ratios(rows)
    for key, value in ratios.items():
        print(f"{key} over local: {value}")
    return {
        "evaluators": s.evaluators,
        "envs_per_evaluator": s.envs,
        "rollout_steps": s.rollout_steps,
        "rounds_per_block": s.rounds,
        "blocks": s.blocks,
        "rows": rows,
        "ratios_server_over_local": ratios,
    }


# -- part 2: solving CartPole ----------------------------------------------------------------------


def child(system: str, seed: int, backend: str, launched_at: float) -> None:
    """One solve run (``system`` is ``<algo>-<mode>``) in this fresh process; prints its line."""
    from apex_cartpole import reporter

    report = reporter(launched_at, RESULT_TAG)
    algo, mode = system.split("-")
    import dataclasses

    from _cartpole_common import rlactors_config

    from rlactors.algorithms import get_algorithm

    algorithm_class = get_algorithm(algo).algorithm_class()  # imports torch and the parts
    imported = time.time()
    start = time.perf_counter()
    config = dataclasses.replace(
        rlactors_config(algo, seed, backend, BUDGETS[algo]), inference=mode
    )
    last: dict[str, Any] = {}

    def on_iteration(metrics: dict[str, Any]) -> None:
        last.clear()
        last.update(metrics)

    with algorithm_class(config) as algorithm:
        result = algorithm.train(callback=on_iteration)
        report(
            imported,
            {
                "seed": seed,
                "solved": result["solved"],
                "env_steps": result["env_steps"],
                "seconds": round(time.perf_counter() - start, 2),
                "eval_return_mean": result["eval_return_mean"],
                "final_eval_return_mean": last.get("final_eval_return_mean"),
                "iterations": last.get("iteration"),
                "env_steps_per_s": round(last.get("env_steps_per_s", 0.0), 1),
                "inference": last.get("inference"),
            },
        )


def run_solve(algos: Sequence[str], seeds: Sequence[int]) -> dict[str, Any]:
    """Every (algorithm, seed) in both modes, alternating which goes first."""
    from apex_cartpole import launch

    script = os.path.abspath(__file__)
    out: dict[str, Any] = {}
    for algo in algos:
        runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
        for i, seed in enumerate(seeds):
            for mode in MODES if i % 2 == 0 else MODES[::-1]:
                run = launch(f"{algo}-{mode}", seed, "process", script=script, tag=RESULT_TAG)
                runs[mode].append(run)
                print(f"{algo} {mode:6} seed {seed}: {json.dumps(run)}", flush=True)
        out[algo] = {"budget_env_steps": BUDGETS[algo], **solve_summary(runs)}
    for algo in algos:
        print(format_solve_table(algo, out[algo]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", nargs="+", choices=["sampling", "solve"],
                        default=["sampling", "solve"])  # fmt: skip
    parser.add_argument("--evaluators", type=int, default=8)
    parser.add_argument("--envs", type=int, default=4, help="envs per evaluator")
    parser.add_argument("--rollout-steps", type=int, default=64, help="steps per call")
    parser.add_argument("--rounds", type=int, default=10, help="rounds per timed block")
    parser.add_argument("--blocks", type=int, default=3, help="timed blocks per contender")
    parser.add_argument("--large", type=int, nargs="+", default=[512, 512],
                        help="the large network's hidden sizes")  # fmt: skip
    parser.add_argument("--waits-ms", type=float, nargs="+", default=[0.0, 2.0],
                        help="the servers' max_wait_ms")  # fmt: skip
    parser.add_argument("--algos", nargs="+", choices=sorted(BUDGETS), default=["apex", "ppo"])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(5)))
    parser.add_argument("--backend", default="process", help=argparse.SUPPRESS)  # for launch
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--launched-at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.seeds[0], args.backend, args.launched_at)
        return
    result: dict[str, Any] = {
        "benchmark": "inference",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "env": ENV_ID,
        "sampling": None,
        "solve": None,
    }
    if "sampling" in args.parts:
        result["sampling"] = run_sampling(
            Sampling(
                args.evaluators,
                args.envs,
                args.rollout_steps,
                args.rounds,
                args.blocks,
                tuple(args.large),
                tuple(args.waits_ms),
            )
        )
    if "solve" in args.parts:
        result["solve"] = run_solve(args.algos, args.seeds)
    print(json.dumps(result))


if __name__ == "__main__":  # the process backend's actors re-import this file
    main()
