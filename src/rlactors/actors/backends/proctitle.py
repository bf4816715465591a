"""Process titles: ``ps`` and ``top`` show which actor a process runs.

An actor process would otherwise show as its interpreter's command line, the same for every
actor (``python3 -B -c from multiprocessing.forkserver import main; ...``): nobody could tell the
replay shard from a worker, or which one to look at (issue #14). setproctitle rewrites the
command line the kernel reports (``/proc/<pid>/cmdline``, which ``ps`` shows) and, on Linux,
the 15-character name ``top`` shows by default (``/proc/<pid>/comm``).

Ray titles its worker processes itself (``ray::<ActorClass>`` when idle, ``ray::<Class>.<method>``
while a method runs) and sets the title again around every call, so a title set by an actor
does not last there: the Ray backend leaves it to Ray.
"""

from __future__ import annotations

import logging

log = logging.getLogger("rlactors.actors")


def actor_title(name: str, factory_name: str) -> str:
    """``rlactors: worker-3 (ApexWorker)``: the actor's name and its class (or factory)."""
    return f"rlactors: {name} ({factory_name})"


def set_process_title(title: str) -> None:
    """Set this process's title, as far as the platform allows (best effort: a process whose
    title cannot be set runs unchanged)."""
    try:
        import setproctitle
    except ImportError:  # a dependency, but an actor must not die of a cosmetic
        log.debug("setproctitle is not installed; process titles stay as they are")
        return
    setproctitle.setproctitle(title)
