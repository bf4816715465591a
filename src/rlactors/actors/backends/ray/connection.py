"""``ray.init`` for the backend: a new local instance on loopback only, or joining a cluster."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import sys
from collections.abc import Iterator

import ray


@contextlib.contextmanager
def _non_cluster_mode() -> Iterator[None]:
    """Ray's "non-cluster mode" (its default on macOS and Windows) for one ``ray.init``.

    On Linux, Ray replaces a loopback node or cluster address by the machine's routable one
    (``resolve_ip_for_localhost``), so ``ray.init(_node_ip_address="127.0.0.1")`` still starts
    services on every interface, and ``ray.init(address="127.0.0.1:port")`` knocks on the
    public address of a cluster that listens on loopback only. Only non-cluster mode keeps
    127.0.0.1 as it is. Its switch, ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, is read once when
    ray is imported, so we flip the constant it sets, for this call only: afterwards every
    lookup uses the node's recorded address.
    """
    from ray._private import ray_constants

    if not hasattr(ray_constants, "ENABLE_RAY_CLUSTER"):
        yield  # a Ray without the switch: the address check after ray.init has the last word
        return
    saved = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved


def is_loopback_address(address: str) -> bool:
    """True for ``"127.0.0.1:6379"``, ``"localhost:6379"``, ``"[::1]:6379"``."""
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_loopback() -> None:
    node_ip = ray.util.get_node_ip_address()  # type: ignore[no-untyped-call]  # Ray: untyped
    if not ipaddress.ip_address(node_ip).is_loopback:
        ray.shutdown()
        raise RuntimeError(
            f"the local Ray instance came up on {node_ip}, not on loopback: refusing to run "
            "it (Ray has no authentication by default). Start a cluster yourself and pass "
            "its address (see docs/cluster.md)."
        )


def start_local_ray(num_cpus: int | None = None) -> None:
    """``ray.init`` a new single-node Ray instance whose every service listens on loopback.

    Args:
        num_cpus: CPUs of the instance (None: Ray's default, every core).

    Raises:
        RuntimeError: Ray came up on a non-loopback address anyway (it is shut down again):
            a Ray release that ignores the switch :func:`_non_cluster_mode` flips.
    """
    # Like multiprocessing's spawn, actors import what the driver could import.
    path = os.pathsep.join(p for p in sys.path if p)
    with _non_cluster_mode():
        ray.init(
            address="local",  # a new instance, never one somebody left running on this machine
            num_cpus=num_cpus,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
            runtime_env={"env_vars": {"PYTHONPATH": path}},
        )
    _check_loopback()


def connect_ray(address: str) -> None:
    """``ray.init`` joining the cluster at ``address`` (a loopback one stays on loopback)."""
    mode = _non_cluster_mode() if is_loopback_address(address) else contextlib.nullcontext()
    with mode:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
