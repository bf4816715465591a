"""How a policy server batches: :class:`ServerConfig` (no torch, no actors: the CLI reads it)."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Where evaluators get their actions: ``local`` (a numpy policy copy in each evaluator, the
#: default) or ``server`` (one :class:`~rlactors.inference.PolicyServer` per policy id).
INFERENCE_MODES = ("local", "server")


@dataclass(frozen=True)
class ServerConfig:
    """When a :class:`~rlactors.inference.PolicyServer` answers the requests it holds.

    It answers every request it holds, in one forward pass per kind of request, as soon as
    any of these holds: they add up to ``max_batch_rows`` rows; every evaluator of its last
    batch is waiting again; its mailbox is empty and the oldest has waited ``max_wait_ms``
    (at once where nothing else can arrive: the inline backend).
    """

    max_batch_rows: int = 1024
    """Observations (rows, summed over requests) that make a batch full, >= 1."""

    max_wait_ms: float = 0.0
    """Milliseconds the oldest request may wait for the rest of the last batch's evaluators
    to join it, >= 0 (0, the default: answer whenever the mailbox is empty). Waiting forms
    larger batches, but on 2 cores it was slower at every setting measured
    (``benchmarks/inference.py``, docs/inference.md)."""

    def __post_init__(self) -> None:
        """Checks the fields.

        Raises:
            ValueError: A field is out of range; the message names it.
        """
        rows = self.max_batch_rows
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
            raise ValueError(f"ServerConfig.max_batch_rows must be an int >= 1, got {rows!r}")
        wait = self.max_wait_ms
        if not (isinstance(wait, (int, float)) and math.isfinite(wait) and wait >= 0):
            raise ValueError(f"ServerConfig.max_wait_ms must be a number >= 0, got {wait!r}")
