"""The layering rule of DESIGN.md: evaluators, optimizers and algorithms use ``rlactors.actors``
and never a backend module (nor ray), so they run unchanged on every backend."""

from __future__ import annotations

import ast
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
