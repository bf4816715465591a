"""Everything the CLI shows: the live progress display, result lines and one-line errors.

With :mod:`rlactors.progress` (the progress display, which ``TrainingLoop.train(progress=True)``
shows too), the only module of rlactors that writes to the terminal. Consoles are made per call,
on the ``sys.stdout`` / ``sys.stderr`` of that moment, so tests that capture them see the output.
"""

from __future__ import annotations

import sys

from rich.console import Console

from rlactors.progress import TrainingProgress, format_return, progress_line, stdout_console

__all__ = ["TrainingProgress", "error", "format_return", "progress_line", "say", "stdout_console"]


def say(*lines: str) -> None:
    """Print lines to stdout."""
    console = stdout_console()
    for line in lines:
        console.print(line)


def error(message: str) -> None:
    """Print ``rlactors: error: <message>`` as one line on stderr."""
    console = Console(file=sys.stderr, markup=False, highlight=False, soft_wrap=True)
    console.print(f"rlactors: error: {message}")
