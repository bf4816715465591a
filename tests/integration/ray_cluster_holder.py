"""Holds a one-node Ray cluster on loopback for the ``--address`` test: prints its address,
then keeps it up until its standard input closes."""

from __future__ import annotations

import sys

from ray.cluster_utils import Cluster

if __name__ == "__main__":
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"node_ip_address": "127.0.0.1", "num_cpus": 2, "include_dashboard": False},
    )
    try:
        print(cluster.address, flush=True)
        sys.stdin.read()
    finally:
        cluster.shutdown()
