"""Verify a shipped preset: train ``rlactors train ALGO --env ENV`` (the preset, no other
hyperparameter flag) on N seeds and report whether each solved.

Each seed is a fresh ``python -m rlactors.cli.main train ALGO --env ENV --seed S --run-dir
DIR --overwrite --quiet`` process, run one after another (the machines are shared: run it under
``nice -n 10``). Solved is what the run itself reports: a greedy evaluation's mean return over
the preset's ``eval_episodes`` reached its ``stop_reward``, and so did the confirming
evaluation of the same policy (``final_eval_episodes``), within its ``max_env_steps``. Per seed
it prints solved, the greedy return of the last evaluation and of the last confirming one, the
env steps and the wall time from launch to exit (start-up and shutdown included); the last line
printed is one JSON object with every figure.

Usage: ``nice -n 10 python benchmarks/presets.py ppo LunarLander-v3 [--seeds 3]
[--first-seed 0] [--keep-runs DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def run_seed(algorithm: str, env_id: str, seed: int, run_dir: Path) -> dict[str, Any]:
    """Train one seed in a fresh process; its figures, read from the run's ``metrics.jsonl``."""
    command = [
        sys.executable,
        "-m",
        "rlactors.cli.main",
        "train",
        algorithm,
        "--env",
        env_id,
        "--seed",
        str(seed),
        "--run-dir",
        str(run_dir),
        "--overwrite",  # a rerun into the same --keep-runs directory replaces the last one
        "--quiet",
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall_s = time.perf_counter() - started
    first_line = (done.stdout.splitlines() or [""])[0]
    metrics = run_dir / "metrics.jsonl"
    # A run refused before it started (exit 2: a bad preset, a missing Box2D) wrote none.
    lines = metrics.read_text().splitlines() if metrics.is_file() else []
    rows = [json.loads(line) for line in lines]
    evaluated = [row for row in rows if row.get("eval_return_mean") is not None]
    confirmed = [row for row in rows if row.get("final_eval_return_mean") is not None]
    last = rows[-1] if rows else {}
    return {
        "seed": seed,
        "exit_status": done.returncode,
        "solved": done.returncode == 0 and bool(last.get("solved")),
        "greedy_return": evaluated[-1]["eval_return_mean"] if evaluated else None,
        "confirmed_return": confirmed[-1]["final_eval_return_mean"] if confirmed else None,
        "confirmed_episodes": confirmed[-1]["final_eval_episodes"] if confirmed else None,
        "env_steps": last.get("env_steps"),
        "wall_s": round(wall_s, 1),
        "first_line": first_line,
        "stderr_tail": done.stderr.strip().splitlines()[-1:] if done.returncode else [],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("algorithm")
    parser.add_argument("env_id")
    parser.add_argument("--seeds", type=int, default=3, help="how many seeds (default: 3)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--keep-runs", type=Path, default=None, help="write the runs here")
    args = parser.parse_args()
    root = args.keep_runs or Path(tempfile.mkdtemp(prefix="rlactors-presets-"))
    results = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        run_dir = root / f"{args.algorithm}-{args.env_id}-seed{seed}"
        result = run_seed(args.algorithm, args.env_id, seed, run_dir)
        results.append(result)
        if seed == args.first_seed:
            print(result["first_line"], flush=True)
        greedy, confirmed = result["greedy_return"], result["confirmed_return"]
        print(
            f"seed {seed}: {'solved' if result['solved'] else 'NOT solved'}, greedy return "
            f"{'-' if greedy is None else format(greedy, '.1f')} (confirmed: "
            f"{'-' if confirmed is None else format(confirmed, '.1f')} over "
            f"{result['confirmed_episodes'] or '-'} episodes), {result['env_steps']} env steps, "
            f"{result['wall_s']:.1f} s wall (exit {result['exit_status']})",
            flush=True,
        )
    solved = [r for r in results if r["solved"]]
    summary = {
        "algorithm": args.algorithm,
        "env": args.env_id,
        "seeds": len(results),
        "solved": len(solved),
        "median_wall_s_solved": statistics.median(r["wall_s"] for r in solved) if solved else None,
        "median_env_steps_solved": (
            statistics.median(r["env_steps"] for r in solved) if solved else None
        ),
        "cpus": os.cpu_count(),
        "runs": results,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
