"""The Ray backend: actors as Ray actors, on one machine or a Ray cluster.

The only package that imports ``ray``. Each top-level rlactors actor is one Ray actor (a
threaded actor class, :class:`~rlactors.actors.backends.ray.host._RayHost`) holding a
:class:`~rlactors.actors.dispatch.Host`, exactly as one process-backend worker does: actors
spawned inside it are colocated there and called directly, and messages to any of them travel
as Ray actor tasks. A small message goes as one pickle (bytes, which Ray passes through
untouched); one with numpy arrays goes through Ray's serializer, so large arrays travel through
its object store (zero-copy on the same node). A future is resolved by whoever waits on it,
through ``ray.get`` / ``ray.wait``.

Where it maps onto Ray, and where it does not (docs/cluster.md says the same for users):

* Ordering: the host's default concurrency group has one thread, and Ray then runs the tasks
  of each caller in the order they were sent (it would not for an async actor).
* Supervision is rlactors' own, not Ray's ``max_restarts``: Ray restarts an actor without
  telling its owner, and the contract needs the owner's ``on_restart`` hook (to re-send
  weights). Each host runs a ``lifeline`` task that returns when its actor is stopped and
  fails when it dies; the owner's monitor thread watches them and rebuilds a dead actor from
  its spec. A restarted actor keeps its Ray name (its actor id), so refs held by other actors
  find it again (:meth:`RayHandle.refresh`).
* Colocation across hosts: an actor spawned with ``colocate=False`` from inside another is
  placed on the same node (a soft node-affinity), since its owner talks to it most.
* Resources: ``ActorOptions.resources`` go to Ray's scheduler (``num_cpus``, ``num_gpus``,
  anything else as custom resources); ``RayBackend(actor_options=...)`` places the actors of
  code you do not edit (an algorithm's workers) by name.

The modules, in the order a message meets them (names with a leading underscore are private
to this package):

* :mod:`.backend`: :class:`RayBackend`, which spawns, kills and shuts down Ray actors.
* :mod:`.supervision`: the owner's monitor thread: lifelines, restarts, the restart limit.
* :mod:`.handle`: :class:`RayHandle`, the caller's side of a ref, and how futures resolve.
* :mod:`.packing`: a message as one pickle, or as it is for Ray's serializer.
* :mod:`.host`: the Ray actor class that hosts an actor and its colocated children.
* :mod:`.connection`: ``ray.init`` on loopback only, or joining a cluster.
"""

from rlactors.actors.backends.ray.backend import RayBackend
from rlactors.actors.backends.ray.connection import (
    connect_ray,
    is_loopback_address,
    start_local_ray,
)
from rlactors.actors.backends.ray.handle import RayHandle

__all__ = ["RayBackend", "RayHandle", "connect_ray", "is_loopback_address", "start_local_ray"]
