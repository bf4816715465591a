"""Imported by the process backend's fork server (one of its preload modules): it titles the
server ``rlactors: fork server`` in ``ps`` (see :mod:`.proctitle`). Importing it is all it does:
a preload module is the one hook multiprocessing runs inside the fork server."""

from rlactors.actors.backends.proctitle import set_process_title

set_process_title("rlactors: fork server")
