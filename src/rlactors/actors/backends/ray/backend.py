"""The backend object: spawns rlactors actors as Ray actors, kills them, shuts down."""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayActorError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from rlactors.actors.backends.ray.connection import connect_ray, start_local_ray
from rlactors.actors.backends.ray.handle import RayHandle, _backends, _ray_name
from rlactors.actors.backends.ray.host import _host_class
from rlactors.actors.backends.ray.supervision import RaySupervision, _Root
from rlactors.actors.dispatch import LocalActor
from rlactors.actors.errors import ActorSpawnError, ActorStoppedError
from rlactors.actors.ref import ActorRef, ActorSpec, public_methods
from rlactors.actors.serialization import dumps_spec

log = logging.getLogger("rlactors.actors")

#: Seconds kill() waits for Ray to confirm that the actor it killed is dead.
_KILL_CONFIRM_S = 10.0


def _new_id() -> str:
    # Unique across processes and nodes: a root actor's id also names its Ray actors.
    return f"ray-{uuid.uuid4().hex[:16]}"


class RayBackend(RaySupervision):
    """Spawns rlactors actors as Ray actors and supervises the ones this process owns.

    If this process is already connected to Ray (``ray.init`` was called, or another
    ``Runtime("ray")`` is open), the backend uses that connection and leaves it open at
    shutdown; otherwise it connects (or starts Ray) and disconnects at shutdown.

    Args:
        address: A Ray cluster to join (``"127.0.0.1:6379"``, ``"10.0.0.5:6379"``,
            ``"auto"``); None starts a local Ray instance listening on 127.0.0.1 only.
        num_cpus: CPUs of a local instance (None: Ray's default, every core).
        actor_options: Ray actor options (``num_cpus``, ``resources``,
            ``scheduling_strategy``...) for the top-level actors whose name matches a pattern
            (``fnmatch``, e.g. ``{"worker-*": {"num_cpus": 1}}``): placement for the actors of
            code you do not edit. Patterns apply in order; ``ActorOptions.resources`` apply
            last. ``name`` and ``max_restarts`` stay rlactors' own.
        torch_threads: torch and BLAS threads per actor process (None: leave the default).
        spawn_timeout_s: Seconds a new actor may take to be placed and constructed.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        actor_options: Mapping[str, Mapping[str, Any]] | None = None,
        torch_threads: int | None = 1,
        spawn_timeout_s: float = 120.0,
        _connect: bool = True,
    ) -> None:
        #: What actor processes build their own backend with (they never start Ray).
        self.options: dict[str, Any] = {
            "spawn_timeout_s": spawn_timeout_s,
            "torch_threads": torch_threads,
        }
        self.actor_options = dict(actor_options or {})
        self.spawn_timeout_s = spawn_timeout_s
        self.started_ray = False
        if _connect and not ray.is_initialized():
            if address is None:
                start_local_ray(num_cpus)
            else:
                connect_ray(address)
            self.started_ray = True
        self.roots: dict[str, _Root] = {}
        self.lock = threading.RLock()
        self.closed = False
        self._monitor: threading.Thread | None = None
        _backends.append(self)

    def _actor_class(self, spec: ActorSpec, name: str, node: str | None) -> Any:
        opts: dict[str, Any] = {"num_cpus": 0, "num_gpus": 0}
        for pattern, options in self.actor_options.items():
            if fnmatch.fnmatchcase(spec.name, pattern):
                opts.update(options)
        resources = dict(spec.options.resources)
        for key in ("num_cpus", "num_gpus"):
            if key in resources:
                opts[key] = resources.pop(key)
        if resources:
            opts["resources"] = {**opts.get("resources", {}), **resources}
        if node is not None and "scheduling_strategy" not in opts:
            # Hard: Ray 2.60 ignored soft node affinity for actors that ask for no resources.
            # The owner lives on that node, so if the node is gone there is no owner either.
            opts["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node, soft=False)
        opts.update(
            name=name,  # refs held elsewhere find a restarted actor by it (RayHandle.refresh)
            max_restarts=0,  # rlactors supervises (see the module docstring)
        )
        return _host_class().options(**opts)

    def spawn(self, spec: ActorSpec, owner: LocalActor | None) -> ActorRef[Any]:
        return self.spawn_many([spec], owner)[0]

    def spawn_many(
        self, specs: Sequence[ActorSpec], owner: LocalActor | None
    ) -> list[ActorRef[Any]]:
        """Create a Ray actor for every spec, then wait for all of them to be ready.

        Ray places and builds them concurrently. If one fails, every Ray actor of the batch
        is killed before its ``ActorSpawnError`` is raised.
        """
        if self.closed:
            names = ", ".join(spec.name for spec in specs)
            raise ActorSpawnError(f"spawn({names}): the runtime was shut down")
        node = None if owner is None else str(ray.get_runtime_context().get_node_id())
        batch = []
        for spec in specs:
            actor_id = _new_id()
            handle = RayHandle(
                None, actor_id, actor_id, spec.name, spec.receives, public_methods(spec.cls), True
            )
            batch.append(_Root(spec, handle, dumps_spec(spec), node))
        try:
            waiting = {self._launch(root): root for root in batch}
            while waiting:
                refs = list(waiting)
                done, _ = ray.wait(refs, num_returns=1, timeout=self.spawn_timeout_s)
                if done:  # and every other one ready by now, in one call
                    done, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
                if not done:
                    # The timeout counts from the last actor that came up (as on the process
                    # backend): a large batch sharing a few cores is not cut short.
                    late = list(waiting.values())
                    others = f" (and {len(late) - 1} more of its batch)" if len(late) > 1 else ""
                    raise ActorSpawnError(
                        f"actor {late[0].spec.name}{others}: not placed and ready within "
                        f"{self.spawn_timeout_s} s (do its resources exist in the cluster?)"
                    )
                for ready_ref in done:
                    self._settle(waiting.pop(ready_ref), ready_ref)
        except BaseException:
            self._discard(batch)
            raise
        with self.lock:
            for root in batch:
                self.roots[root.handle.actor_id] = root
        self._watch()
        return [ActorRef(root.handle) for root in batch]

    def spawn_local(self, spec: ActorSpec, owner: LocalActor) -> ActorRef[Any]:
        actor = owner.host.create(spec, _new_id(), owner.host_id)
        owner.children.append(actor.actor_id)
        assert actor.ref is not None
        return actor.ref

    def _start(self, root: _Root) -> None:
        ready_ref = self._launch(root)
        try:
            self._settle(root, ready_ref)
        except GetTimeoutError as exc:
            self._discard([root])
            raise ActorSpawnError(
                f"actor {root.spec.name}: not placed and ready within {self.spawn_timeout_s} s "
                "(do its resources exist in the cluster?)"
            ) from exc

    def _launch(self, root: _Root) -> Any:
        """Create ``root``'s Ray actor of its current incarnation; the ref of its readiness."""
        h = root.handle
        h.ray_actor = None  # drop the dead one: Ray frees what it held only once unreferenced
        name = _ray_name(h.actor_id, root.incarnation)
        cls = self._actor_class(root.spec, name, root.node)
        root.starting = cls.remote(root.spec_bytes, h.actor_id, root.incarnation, self.options)
        return root.starting.ready.remote()

    def _settle(self, root: _Root, ready_ref: Any) -> None:
        """Wait for ``root``'s Ray actor to be built (``GetTimeoutError`` past the spawn
        timeout); make it the handle's, or raise why it failed."""
        actor = root.starting
        try:
            error = ray.get(ready_ref, timeout=self.spawn_timeout_s)
        except RayActorError as exc:
            root.starting = None
            raise ActorSpawnError(f"actor {root.spec.name}: its Ray actor died: {exc}") from exc
        if error is not None:
            self._discard([root])
            raise ActorSpawnError(
                f"actor {root.spec.name}: constructor {root.spec.factory_name}(...) raised "
                f"{error.summary}"
            ) from error.to_exception()
        root.starting = None
        h = root.handle
        h.ray_actor, h.incarnation = actor, root.incarnation
        root.lifeline = actor.lifeline.remote()

    def _discard(self, batch: Sequence[_Root]) -> None:
        """Kill the Ray actors of roots that will not be used (a batch that failed to spawn,
        or one that did not come up)."""
        for root in batch:
            actor, root.starting = root.starting or root.handle.ray_actor, None
            root.handle.ray_actor = None
            root.handle.error = ActorStoppedError(
                f"actor {root.handle.name} was stopped (it or another actor of its batch "
                "failed to spawn)"
            )
            if actor is not None:
                with contextlib.suppress(Exception):  # already gone
                    ray.kill(actor, no_restart=True)

    def kill(self, ref: ActorRef[Any]) -> None:
        with self.lock:
            root = self.roots.get(ref.actor_id)
        if root is not None:
            # Mid-restart the handle has no Ray actor until the new one is ready: wait for it,
            # and kill that one, as a message sent now would reach it.
            root.handle.ready.wait(self.spawn_timeout_s)
        if root is None or root.handle.ray_actor is None:
            raise ValueError(
                f"kill({ref.name}): not a live Ray actor owned here (only the owner of an "
                "actor with a Ray actor of its own can kill it)"
            )
        lifeline = root.lifeline
        ray.kill(root.handle.ray_actor, no_restart=True)
        # ray.kill only asks Ray to kill: until the actor is dead it still answers, so a message
        # sent just after kill() could reach the dying instance (the restart-limit flake, 2 of
        # 10 standalone runs: a ping it answered passed for the restarted actor's, and the
        # second kill hit the dead instance again, never the new one). Return once Ray has it
        # dead, as SIGKILL leaves the process backend's: its lifeline fails 5-15 ms after.
        if lifeline is not None and not ray.wait([lifeline], timeout=_KILL_CONFIRM_S)[0]:
            log.warning(
                "kill(%s): Ray did not confirm the death within %s s", ref.name, _KILL_CONFIRM_S
            )

    def forget(self, handle: RayHandle) -> None:
        """``handle`` was stopped on purpose: no supervision, and free its Ray actor."""
        with self.lock:
            root = self.roots.pop(handle.actor_id, None)
        if root is not None and root.handle.ray_actor is not None:
            with contextlib.suppress(Exception):  # already gone
                ray.kill(root.handle.ray_actor, no_restart=True)

    def shutdown(self) -> None:
        if self.closed:
            return
        self.closed = True
        with self.lock:
            roots = list(self.roots.values())
            self.roots.clear()
        for root in roots:
            root.handle.error = ActorStoppedError(f"actor {root.handle.name} was stopped")
            if root.handle.ray_actor is not None:
                try:
                    ray.kill(root.handle.ray_actor, no_restart=True)
                except Exception:
                    log.debug("killing %s failed", root.handle.name, exc_info=True)
        if self._monitor is not None:
            self._monitor.join(2.0)
        if self in _backends:
            _backends.remove(self)
        if self.started_ray:
            ray.shutdown()
