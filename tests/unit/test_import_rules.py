"""The import rules of DESIGN.md, as one table checked against every module under src/rlactors.

The check is static (each module's source parsed with ``ast``, imports inside functions and
``TYPE_CHECKING`` blocks included), so it needs none of the optional dependencies, and a package
is covered the moment its directory appears: the rules name packages, not files (``networks``,
``learners`` and ``inference`` are in the table before they exist).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import rlactors

PACKAGE = Path(rlactors.__file__).parent


@dataclass(frozen=True)
class Rule:
    """Modules in the packages ``scope`` (of ``rlactors``; ``""`` is every module) import no
    module in ``forbidden``, except the modules in the packages ``exempt``."""

    scope: tuple[str, ...]
    forbidden: tuple[str, ...]
    why: str
    exempt: tuple[str, ...] = ()


RULES = (
    Rule(
        ("algorithms", "optimizers", "evaluators", "inference"),
        ("rlactors.actors.backends",),
        "they use rlactors.actors and run unchanged on every backend",
    ),
    Rule(
        ("envs", "networks", "policies", "learners", "losses"),
        ("rlactors.actors",),
        "they know nothing of actors: the layers above put them in actors",
    ),
    Rule(
        ("policies",),
        ("rlactors.learners",),
        "a policy only acts: an evaluator holds no loss, optimizer or target network",
    ),
    Rule(("",), ("ray",), "only the ray backend imports ray", exempt=("actors.backends.ray",)),
    Rule(
        ("",),
        ("multiprocessing",),
        "only the backends touch multiprocessing",
        exempt=("actors.backends",),
    ),
)


def _in(module: str, packages: Iterable[str]) -> bool:
    """``module`` is one of ``packages`` (of rlactors, ``""`` for all of it) or inside one."""
    for package in packages:
        full = f"rlactors.{package}" if package else "rlactors"
        if module == full or module.startswith(full + "."):
            return True
    return False


def _names(forbidden: str, name: str) -> bool:
    return name == forbidden or name.startswith(forbidden + ".")


def imported_modules(module: str, source: str, is_package: bool = False) -> set[str]:
    """Every module ``source`` (the module ``module``) imports, as absolute names.

    ``from a import b`` counts as importing ``a`` and ``a.b`` (``b`` may be a module);
    relative imports are resolved; ``importlib.import_module("x")`` with a literal counts too.
    """
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - (node.level - 1)])
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id == "__import__")
            )
        ):
            names.add(node.args[0].value)
    return names


def violations(
    modules: Iterable[tuple[str, str, bool]], rules: Iterable[Rule] = RULES
) -> list[str]:
    """``"module imports name: why"`` for each import that breaks a rule.

    Args:
        modules: ``(module name, source, is_package)`` triples.
        rules: The rules to check.
    """
    rules = list(rules)
    found = []
    for module, source, is_package in modules:
        imported = imported_modules(module, source, is_package)
        for rule in rules:
            if not _in(module, rule.scope) or _in(module, rule.exempt):
                continue
            found.extend(
                f"{module} imports {name}: {rule.why}"
                for name in sorted(imported)
                if any(_names(f, name) for f in rule.forbidden)
            )
    return found


def package_modules() -> Iterator[tuple[str, str, bool]]:
    """Every module of the installed rlactors: ``(name, source, is_package)``."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        yield name, path.read_text(encoding="utf-8"), is_package


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.why)
def test_every_module_keeps_the_import_rule(rule: Rule) -> None:
    assert violations(package_modules(), [rule]) == []


def test_the_walk_sees_every_layer() -> None:
    # Guards the rules against passing vacuously (a wrong root, a renamed package).
    names = {name for name, _, _ in package_modules()}
    for module in (
        "rlactors.algorithms.dqn.algorithm",
        "rlactors.optimizers.async_replay",
        "rlactors.evaluators",
        "rlactors.envs.gymnasium",
        "rlactors.policies.dqn",
        "rlactors.losses.q_losses",
        "rlactors.actors.backends.ray.backend",
    ):
        assert module in names


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("rlactors.policies.fake", "def act():\n    from rlactors.actors import spawn\n"),
        ("rlactors.envs.fake", "from rlactors import actors\n"),
        ("rlactors.learners.fake", "import rlactors.actors.ref\n"),  # before learners exist
        ("rlactors.networks.fake", "if TYPE_CHECKING:\n    from rlactors.actors import ActorRef\n"),
        ("rlactors.algorithms.fake", "from ..actors.backends import process\n"),
        ("rlactors.inference.fake", "from rlactors.actors.backends.ray import RayBackend\n"),
        ("rlactors.policies.fake", "from rlactors.learners.dqn import DQNLearner\n"),
        ("rlactors.replay.fake", "import ray\n"),
        ("rlactors.actors.runtime", "def make():\n    import ray.util\n"),
        ("rlactors.evaluators.fake", "import importlib\nimportlib.import_module('ray')\n"),
        ("rlactors.optimizers.fake", "from multiprocessing import Pipe\n"),
    ],
)
def test_the_checker_reports_a_module_that_breaks_a_rule(module: str, source: str) -> None:
    assert violations([(module, source, False)])


@pytest.mark.parametrize(
    ("module", "source", "is_package"),
    [
        ("rlactors.algorithms.fake", "from rlactors.actors import spawn\n", False),
        ("rlactors.actors.backends.ray.fake", "import ray\n", False),
        ("rlactors.actors.backends.process", "import multiprocessing as mp\n", False),
        ("rlactors.policies", "from . import dqn\nfrom .dqn import DQNPolicy\n", True),
        ("rlactors.learners.fake", "from rlactors.policies import dqn\n", False),
        ("rlactors.core", "import rlactors.envs\n", False),
    ],
)
def test_the_checker_passes_a_module_that_keeps_the_rules(
    module: str, source: str, is_package: bool
) -> None:
    assert violations([(module, source, is_package)]) == []


def test_relative_imports_resolve_to_absolute_names() -> None:
    found = imported_modules(
        "rlactors.algorithms.dqn.algorithm", "from ...actors import spawn\nfrom . import config\n"
    )
    assert found == {
        "rlactors.actors",
        "rlactors.actors.spawn",
        "rlactors.algorithms.dqn",
        "rlactors.algorithms.dqn.config",
    }


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
