"""Errors that mean "what you gave cannot work", said in one line that names the fix.

The CLI prints any :class:`UserError` as one line (no traceback) and exits with status 2; from
Python they are ordinary exceptions. Errors from inside actors keep their own types
(:mod:`rlactors.actors.errors`); errors of an env's steps are :mod:`rlactors.envs.errors`.
"""

from __future__ import annotations


class UserError(Exception):
    """A config, env or space that cannot work; the message says what was wrong and the fix."""


class EnvSpecError(UserError, ValueError):
    """An env that cannot be made: an unknown id, a factory that cannot be imported, a missing
    dependency (the message names the extra or package to install)."""


class SpaceError(UserError, TypeError):
    """An observation or action space that an algorithm or network spec cannot handle."""
