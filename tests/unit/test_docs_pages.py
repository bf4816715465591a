"""The docs' algorithm pages (docs/algorithms/*.md) stay true to the code: a page for every
registered algorithm, in the site's nav, and every field its "Key config fields" table names is a
field of that algorithm's config, with the default the table gives.

``make docs`` (``mkdocs build --strict``) checks links, anchors and docstrings; it cannot know
that a table cell says ``100,000`` where the config now says 50,000.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from rlactors.algorithms import algorithm_names, get_algorithm
from rlactors.algorithms.multi_agent_config import MultiAgentFields

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "docs" / "algorithms"
SECTIONS = ("## Key config fields", "## Example", "## Benchmark figures")


def config_class(page: str) -> type[Any]:
    """The config a page documents: a registered algorithm's, or the multi-agent fields."""
    if page == "multi-agent":
        return MultiAgentFields
    return get_algorithm(page).config_class()


def key_field_rows(text: str) -> list[tuple[list[str], list[str]]]:
    """The (field names, default cells) of each row of the page's "Key config fields" table."""
    section = text.split("## Key config fields", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or cells[0] in ("field", "") or set(cells[0]) <= {"-", " "}:
            continue
        # `--workers` beside `num_workers` is the flag's alias, not a field.
        names = [n for n in re.findall(r"`([^`]+)`", cells[0]) if not n.startswith("-")]
        rows.append((names, split_values(cells[1])))
    return rows


def split_values(cell: str) -> list[str]:
    """``(256, 256), 2e-3, 200`` -> three values: split at ", " outside brackets (a thousands
    separator has no space after it)."""
    values, depth, current = [], 0, ""
    for i, ch in enumerate(cell):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0 and cell[i + 1 : i + 2] == " ":
            values.append(current.strip())
            current = ""
        else:
            current += ch
    values.append(current.strip())
    return values


def parse_value(text: str) -> Any:
    """A default as the tables write it: ``inline`` in backticks, 100,000, 2.3e-3, None, (), {}."""
    if text.startswith("`") and text.endswith("`"):
        return text.strip("`")
    if re.fullmatch(r"[\d,]+", text):
        return int(text.replace(",", ""))
    return ast.literal_eval(text)


def same(documented: Any, actual: Any) -> bool:
    if isinstance(actual, Mapping):
        return dict(actual) == documented
    if isinstance(actual, float) or isinstance(documented, float):
        return isinstance(documented, int | float) and float(documented) == float(actual)
    return bool(documented == actual) and type(documented) is type(actual)


def test_every_algorithm_has_a_page_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in [*algorithm_names(), "multi-agent"]:
        assert (PAGES / f"{page}.md").is_file(), f"docs/algorithms/{page}.md is missing"
        assert f"algorithms/{page}.md" in nav, f"mkdocs.yml's nav leaves out {page}.md"


@pytest.mark.parametrize("page", [*algorithm_names(), "multi-agent"])
def test_key_config_fields_are_the_configs(page: str) -> None:
    text = (PAGES / f"{page}.md").read_text()
    for section in SECTIONS:
        assert section in text, f"{page}.md has no {section!r} section"
    cls = config_class(page)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    rows = key_field_rows(text)
    assert rows, f"{page}.md: no rows in its Key config fields table"
    for names, values in rows:
        assert len(names) == len(values), f"{page}.md: {names} has {len(values)} defaults"
        for name, value in zip(names, values, strict=True):
            assert name in fields, f"{page}.md names {name!r}, not a field of {cls.__name__}"
            field = fields[name]
            actual = (
                field.default_factory()
                if field.default is dataclasses.MISSING
                and field.default_factory is not dataclasses.MISSING
                else field.default
            )
            documented = parse_value(value)
            assert same(documented, actual), (
                f"{page}.md: {name} = {value}, but {cls.__name__}.{name} defaults to {actual!r}"
            )


def test_a_wrong_default_is_caught() -> None:
    # The checks above must be able to fail: a table row with a stale default does not pass.
    (names, values) = key_field_rows(
        "## Key config fields\n\n| field | default | what |\n| --- | --- | --- |\n"
        "| `max_env_steps`, `hidden_sizes` | 50,000, (256, 256) | x |\n"
    )[0]
    assert names == ["max_env_steps", "hidden_sizes"]
    assert [parse_value(v) for v in values] == [50_000, (256, 256)]
    assert not same(parse_value(values[0]), 100_000)
    assert not same(parse_value("`inline`"), "process")
    assert not same(parse_value("1"), True)


def test_sphinx_roles_render_as_code() -> None:
    pytest.importorskip("griffe")  # the docs extra
    spec = importlib.util.spec_from_file_location("roles", ROOT / "docs" / "griffe_sphinx_roles.py")
    assert spec is not None and spec.loader is not None
    roles = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(roles)
    assert roles.rewrite(":class:`~rlactors.core.Env` and :meth:`EnvSpec.make`") == (
        "`Env` and `EnvSpec.make`"
    )
    assert roles.rewrite("Usage::\n\n    x = 1\n") == "Usage:\n\n    x = 1\n"
    assert roles.rewrite("a ``literal``, and ``a::b``") == "a ``literal``, and ``a::b``"
