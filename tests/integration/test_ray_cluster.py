"""Ape-X on a two-node Ray cluster (``ray.cluster_utils.Cluster``, both nodes on this machine
and on loopback): workers spread over both nodes, the second node is removed mid-run, its
workers come back on the head node and training goes on. The run is ray_cluster_driver.py, in a
process (and session) of its own."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from listeners import session_processes

pytest.importorskip("ray")

DRIVER = Path(__file__).parent / "ray_cluster_driver.py"


@pytest.mark.timeout(300)
def test_apex_survives_losing_a_node() -> None:
    proc = subprocess.Popen(
        [sys.executable, str(DRIVER)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, err.decode()[-3000:]
    report = json.loads(out.decode().strip().splitlines()[-1])
    # Placement: workers on both nodes, replay with the learner, and an actor spawned by an
    # actor (colocate=False) on its owner's node.
    assert report["nodes_before"] == [False, True, False, True]  # True: on the second node
    assert report["replay_on_head"]
    assert report["parent_child_nodes"] == [True, True]
    assert report["public_listeners"] == []
    # The second node's two workers died with it and were restarted on the head node...
    assert report["restarts"] == 2
    assert report["nodes_after"] == [False, False, False, False]
    # ...and training went on to the end of its budget.
    assert report["end"]["env_steps"] >= 6000 > report["at_kill"]["env_steps"]
    assert report["end"]["learner_steps"] > report["at_kill"]["learner_steps"]
    deadline = time.monotonic() + 30
    while (left := session_processes(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"left behind: {left}"
