"""Supervision of the Ray actors this process owns: a monitor thread watches their lifelines
and rebuilds a dead one from its spec, or gives up past its restart limit."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from typing import Any

import ray
from ray.exceptions import ActorUnavailableError, RayActorError

from rlactors.actors.backends.ray.handle import RayHandle
from rlactors.actors.backends.ray.host import _STOPPED
from rlactors.actors.errors import ActorDiedError, ActorStoppedError, RestartLimitError
from rlactors.actors.ref import ActorRef, ActorSpec

log = logging.getLogger("rlactors.actors")

#: Seconds an actor may stay unreachable (``ActorUnavailableError``) before its supervisor
#: gives up on it: kills what is left of it and handles it as dead (restart or escalate).
_UNAVAILABLE_LIMIT_S = 10.0
#: Seconds without such a report that end a spell of them (see ``_Root.still_unavailable``).
_UNAVAILABLE_GAP_S = 2.0


class _Root:
    """A Ray actor this process owns, with its supervision record."""

    def __init__(
        self, spec: ActorSpec, handle: RayHandle, spec_bytes: bytes, node: str | None
    ) -> None:
        self.spec = spec
        self.handle = handle
        self.spec_bytes = spec_bytes
        self.node = node  # the owner's node, for a soft node-affinity (None: the driver's)
        self.lifeline: Any = None
        #: The Ray actor being created, until it is ready or has failed.
        self.starting: Any = None
        self.restarts: deque[float] = deque()
        self.incarnation = 0
        #: When the current spell of "unreachable" reports began, and the latest report.
        self.unavailable_since: float | None = None
        self.unavailable_last = 0.0

    def still_unavailable(self, now: float) -> bool:
        """Ray says the actor is unreachable: True while that may pass (watch it again),
        False once one spell of reports has lasted :data:`_UNAVAILABLE_LIMIT_S` (treat it as
        dead). Reports come every ~0.3 s while it lasts; a gap of more than
        :data:`_UNAVAILABLE_GAP_S` starts a new spell, so blips far apart never add up."""
        if self.unavailable_since is None or now - self.unavailable_last > _UNAVAILABLE_GAP_S:
            self.unavailable_since = now
        self.unavailable_last = now
        return now - self.unavailable_since < _UNAVAILABLE_LIMIT_S


class RaySupervision:
    """The owner's half of :class:`~rlactors.actors.backends.ray.backend.RayBackend`: one
    monitor thread watches the lifelines of the Ray actors this process owns and, when one
    ends, records the stop or applies the restart policy to the death.

    A base class of the backend, in a module of its own so that supervision reads in one
    sitting; what it uses of the backend is declared here.
    """

    roots: dict[str, _Root]
    lock: threading.RLock
    closed: bool
    _monitor: threading.Thread | None

    def _start(self, root: _Root) -> None:
        """Start ``root``'s Ray actor of its current incarnation and watch its lifeline."""
        raise NotImplementedError

    def forget(self, handle: RayHandle) -> None:
        """``handle`` was stopped on purpose: no supervision, and free its Ray actor."""
        raise NotImplementedError

    def _watch(self) -> None:
        if self._monitor is None:
            self._monitor = threading.Thread(
                target=self._monitor_loop, name="rlactors-ray-monitor", daemon=True
            )
            self._monitor.start()

    def _monitor_loop(self) -> None:
        while not self.closed:
            with self.lock:
                watched = {r.lifeline: r for r in self.roots.values() if r.lifeline is not None}
            if not watched:
                time.sleep(0.05)
                continue
            try:
                ready, _ = ray.wait(list(watched), num_returns=1, timeout=0.2)
            except Exception:
                if not self.closed:
                    log.exception("rlactors: watching Ray actors failed; supervision stops")
                return
            for ref in ready:
                root = watched[ref]
                root.lifeline = None
                try:
                    stopped = ray.get(ref, timeout=0) == _STOPPED
                except ActorUnavailableError:
                    stopped = False
                    if root.still_unavailable(time.monotonic()) and self._rewatch(root):
                        continue  # unreachable for now, not dead: Ray says when it dies
                    # Unreachable for too long, or it cannot be watched: without this, a
                    # killed actor could stay unwatched for good, never restarted.
                    with contextlib.suppress(Exception):
                        ray.kill(root.handle.ray_actor, no_restart=True)
                except RayActorError:
                    stopped = False
                try:
                    if stopped:
                        self._on_stop(root)
                    else:
                        self._on_death(root)
                except Exception:
                    log.exception("rlactors: handling the end of a Ray actor failed")

    def _rewatch(self, root: _Root) -> bool:
        """Ask ``root``'s actor for a new lifeline; False if even that fails."""
        time.sleep(0.1)
        try:
            root.lifeline = root.handle.ray_actor.lifeline.remote()
        except Exception:
            log.warning("rlactors: actor %s cannot be watched any more", root.handle.name)
            return False
        return True

    def _on_stop(self, root: _Root) -> None:
        # Stopped by whoever held a ref: free its Ray actor, and never restart it.
        h = root.handle
        if h.error is None:
            h.error = ActorStoppedError(f"actor {h.name} was stopped")
        self.forget(h)

    def _on_death(self, root: _Root) -> None:
        h = root.handle
        if self.closed or h.error is not None or h.actor_id not in self.roots:
            return
        reason = f"actor {h.name} died (its Ray actor is gone)"
        policy = root.spec.options.restart
        now = time.monotonic()
        while root.restarts and now - root.restarts[0] > policy.within_s:
            root.restarts.popleft()
        if policy.mode != "on_failure":
            h.error = ActorDiedError(reason)
            self._drop(root)
            return
        if len(root.restarts) >= policy.max_restarts:
            h.error = RestartLimitError(
                f"{reason}; it was restarted {len(root.restarts)} times within "
                f"{policy.within_s} s, the limit of its restart policy: giving up"
            )
            self._drop(root)
            return
        root.restarts.append(now)
        root.incarnation += 1
        root.unavailable_since = None
        h.ready.clear()
        try:
            self._start(root)
        except Exception as exc:
            h.error = ActorDiedError(f"{reason}; restarting it failed: {exc}")
            self._drop(root)
            return
        finally:
            h.ready.set()
        log.warning("%s; restarted it (restart %d in the window)", reason, len(root.restarts))
        if root.spec.options.on_restart is not None:
            try:
                root.spec.options.on_restart(ActorRef(h))
            except Exception:
                log.exception("on_restart hook of actor %s raised", h.name)

    def _drop(self, root: _Root) -> None:
        with self.lock:
            self.roots.pop(root.handle.actor_id, None)
