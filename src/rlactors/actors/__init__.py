"""The actor runtime: spawn actors, send them messages, wait on the answers.

Two forms of actor, as in the seed design:

* a wrapped object: ``ref = spawn(Env, cfg)``; every public method is a message:
  ``ref.tell("reset")``, ``ref.ask("observe", "agent").result()``;
* a receive loop: a subclass of :class:`Actor` with ``receive(sender, message)``.

The same program runs on every backend (``Runtime("inline")``, ``"process"``, ``"ray"``).
See ``docs/concepts.md``.
"""

from rlactors.actors.dispatch import ReplyTo, current_sender
from rlactors.actors.errors import (
    ActorDiedError,
    ActorError,
    ActorSpawnError,
    ActorStoppedError,
    DeadlockError,
    RemoteTraceback,
    RestartLimitError,
    SerializationError,
    UnknownMethodError,
)
from rlactors.actors.future import Future, as_completed, gather, wait_any
from rlactors.actors.ref import Actor, ActorOptions, ActorRef, RestartPolicy, SpawnRequest
from rlactors.actors.runtime import (
    BACKENDS,
    Runtime,
    current_runtime,
    init,
    kill,
    shutdown,
    spawn,
    spawn_many,
    spawn_with,
)

__all__ = [
    "BACKENDS",
    "Actor",
    "ActorDiedError",
    "ActorError",
    "ActorOptions",
    "ActorRef",
    "ActorSpawnError",
    "ActorStoppedError",
    "DeadlockError",
    "Future",
    "RemoteTraceback",
    "ReplyTo",
    "RestartLimitError",
    "RestartPolicy",
    "Runtime",
    "SerializationError",
    "SpawnRequest",
    "UnknownMethodError",
    "as_completed",
    "current_runtime",
    "current_sender",
    "gather",
    "init",
    "kill",
    "shutdown",
    "spawn",
    "spawn_many",
    "spawn_with",
    "wait_any",
]
