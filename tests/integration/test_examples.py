"""The scripts in examples/ run as a newcomer would run them, and print what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.timeout(180)
@pytest.mark.parametrize("example", ["ppo_from_parts.py", "apex_from_parts.py"])
def test_from_parts_example_reaches_its_greedy_return(example: str) -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / example)],
        capture_output=True,
        text=True,
        timeout=170,
        check=True,
    ).stdout
    last = out.strip().splitlines()[-1]
    assert "greedy return" in last
    assert float(last.rsplit(" ", 1)[-1]) >= 475, out


@pytest.mark.timeout(120)
def test_actors_demo_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "actors_demo.py")],
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert result.returncode == 0, result.stderr
    assert "pong" in result.stdout


@pytest.mark.timeout(180)
def test_custom_env_trains_with_ppo_and_dqn_on_processes() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "custom_env.py")],
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    for algorithm in ("ppo", "dqn"):
        line = next(line for line in lines if line.startswith(f"{algorithm}:"))
        assert "solved True, greedy return 1.0" in line, result.stdout


@pytest.mark.timeout(120)
def test_multi_agent_example_plays_both_seats_against_both_players() -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "multi_agent.py"), "--env-steps", "4096"],
        capture_output=True,
        text=True,
        timeout=110,
        check=True,
    ).stdout
    lines = out.strip().splitlines()
    assert lines[-5].startswith("trained 4096 env steps")
    assert [line.split(":")[0] for line in lines[-4:]] == [
        "player_1 vs random",
        "player_2 vs random",
        "player_1 vs minimax",
        "player_2 vs minimax",
    ]
