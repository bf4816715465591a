"""Errors raised by the actor runtime. Every one says which actor and what went wrong."""

from __future__ import annotations


class ActorError(Exception):
    """Base class of the runtime's own errors."""


class ActorDiedError(ActorError):
    """The actor stopped or died before it answered; the call's outcome is unknown."""


class ActorStoppedError(ActorDiedError):
    """The actor was stopped on purpose (``stop()``), and calls to it are refused."""


class RestartLimitError(ActorDiedError):
    """The actor died more often than its restart policy allows; its owner must handle it."""


class ActorSpawnError(ActorError):
    """The actor could not be created (its constructor raised, or its process failed to start)."""


class UnknownMethodError(ActorError, AttributeError):
    """A message named a method the actor does not have (or a private one)."""


class SerializationError(ActorError, TypeError):
    """An argument or a result could not be serialized to cross a process boundary."""


class DeadlockError(ActorError, TimeoutError):
    """Waiting could never finish (inline backend: nothing left to run); a TimeoutError too."""


class RemoteTraceback(Exception):
    """Carries the formatted traceback of an exception raised inside an actor.

    It is attached as ``__cause__`` of the re-raised exception, as ``concurrent.futures`` does for
    process pools, so the caller's traceback shows where the actor failed.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text
