"""A griffe extension for the API reference: Sphinx roles in the docstrings read as code.

rlactors' docstrings are Google style (the sections griffe parses) but name other objects with
Sphinx roles, ``:class:`~rlactors.core.Env```, which Markdown would show as they are written.
This turns each into an inline code span of the name Sphinx would show (``Env`` for a ``~``
target, the whole target otherwise), and an rST ``Usage::`` before an indented block into
``Usage:``. Not links: a role's target is often relative to its module, and a cross-reference
autorefs cannot resolve fails the ``--strict`` build. Loaded by mkdocs.yml; nothing in
``src/`` imports it.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):`(~?)([^`]+)`")
_LITERAL_BLOCK = re.compile(r"(\S)::$", re.MULTILINE)


def _shown(match: re.Match[str]) -> str:
    short, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


def rewrite(text: str) -> str:
    """``:class:`~a.b.C``` -> ```C```; ``text::`` at a line's end -> ``text:``."""
    return _LITERAL_BLOCK.sub(r"\1:", _ROLE.sub(_shown, text))


class SphinxRoles(griffe.Extension):
    """Rewrites every docstring as it is read (see the module docstring)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
