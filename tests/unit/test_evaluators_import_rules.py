"""The layering rule of DESIGN.md: evaluators, optimizers and algorithms use ``rlactors.actors``
and never a backend module (nor ray), so they run unchanged on every backend."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import rlactors

PACKAGE = Path(rlactors.__file__).parent
LAYERS = ["evaluators", "optimizers", "algorithms"]
FORBIDDEN = ("rlactors.actors.backends", "ray", "multiprocessing")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_no_backend(layer: str) -> None:
    offenders = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for name in imported_modules(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    }
    assert not offenders


def test_actor_processes_and_algorithm_modules_need_no_torch() -> None:
    # Ape-X's and DQN's evaluators, workers and replay shards act with NumpyQPolicy, and A2C's,
    # PPO's and IMPALA's evaluators with NumpyActorCriticPolicy: importing what their processes
    # run must not import torch (~1.2 s and ~200 MB per process; the fork server imports these
    # modules before the first actor starts). A user's script that imports an algorithm at its
    # top is imported by the fork server too, so the algorithms' modules import torch only
    # when an algorithm is built.
    algorithms = ", ".join(
        f"rlactors.algorithms.{name}.algorithm"
        for name in ("dqn", "apex", "a2c", "a3c", "ppo", "impala")
    )
    code = (
        "import sys, rlactors.optimizers.async_replay, rlactors.evaluators, rlactors.policies, "
        f"rlactors.losses, rlactors.evaluators.actor_critic, {algorithms}; "
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
