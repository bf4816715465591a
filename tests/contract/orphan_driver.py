"""A driver program for the no-orphans test: spawns actors, prints their pids, then ends."""

import sys
import time

from actor_fixtures import Counter, Nested

from rlactors.actors import spawn

if __name__ == "__main__":
    mode = sys.argv[1]
    counter = spawn(Counter)
    nested = spawn(Nested)  # its child has a process of its own: a grandchild of this driver
    pids = [counter.ask("pid").result(30), *nested.ask("pids").result(30)]
    print(" ".join(map(str, pids)), flush=True)
    if mode == "raise":
        raise RuntimeError("the driver failed")
    if mode == "kill":
        time.sleep(60)  # the test SIGKILLs this process
