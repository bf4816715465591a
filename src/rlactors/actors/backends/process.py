"""The process backend: one OS process per actor on this machine (stdlib multiprocessing).

The owner (the driver program, or an actor that spawned with ``colocate=False``) starts each
actor process with the ``spawn`` start method (never ``fork``: torch's threads may be running),
waits until its constructor has run (a batch, :meth:`ProcessBackend.spawn_many`: starts them all,
then waits for all), and keeps one thread that watches its children's process
sentinels: a death fails the pending futures at once and applies the restart policy. Each child
watches a lifeline pipe to its owner and exits the moment the owner is gone, however it died, so
no actor process outlives its owner.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import multiprocessing.forkserver as forkserver
import os
import shutil
import signal
import tempfile
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any, NamedTuple

from rlactors.actors.backends.channel import ProcessHandle, tombstone, transport
from rlactors.actors.dispatch import LocalActor
from rlactors.actors.errors import (
    ActorDiedError,
    ActorSpawnError,
    ActorStoppedError,
    RestartLimitError,
)
from rlactors.actors.ref import ActorRef, ActorSpec, Op, public_methods, request_stop
from rlactors.actors.serialization import ErrorReport, dumps_spec

log = logging.getLogger("rlactors.actors")

_ids = itertools.count(1)

#: Thread-count variables of the BLAS and OpenMP libraries an actor process may load.
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_environ_lock = threading.Lock()


@contextlib.contextmanager
def _child_thread_limits(n: int | None) -> Any:
    """Start a child process with the BLAS thread variables set to ``n`` (unless set already).

    numpy's OpenBLAS reads them once, when numpy is first imported: in the fork server's
    preload or the child's ``__main__``, before the child runs a line of ours. An OpenBLAS left
    at one thread per core made a [100, 128] x [128, 128] product 100x slower (4 ms instead of
    40 us) on a loaded 2-core machine, its threads waiting for each other. A child inherits
    the environment it was started with, so it is set for the start and restored after.
    """
    if n is None:
        yield
        return
    with _environ_lock:
        unset = [var for var in _THREAD_VARS if var not in os.environ]
        for var in unset:
            os.environ[var] = str(n)
        try:
            yield
        finally:
            for var in unset:
                os.environ.pop(var, None)


_backends: list[ProcessBackend] = []


def reap(process: Any, timeout: float = 5.0) -> int | None:
    """Wait for a dying process's exit code.

    Its sentinel closes a moment before the kernel lets ``waitpid`` collect it, so a single
    ``join(0)`` right after the sentinel fired can still find no exit code.
    """
    deadline = time.monotonic() + timeout
    while process.exitcode is None and time.monotonic() < deadline:
        process.join(0.05)
    code: int | None = process.exitcode
    return code


def describe_exit(code: int | None) -> str:
    """``"was killed by SIGKILL"`` or ``"exited with code 1"``."""
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


#: multiprocessing's name of every actor process (``rlactors:worker-0``).
_PROCESS_NAME_PREFIX = "rlactors:"

#: The exit code of an actor process whose start re-ran a script that starts actors as it is
#: imported (no ``if __name__ == "__main__":`` guard); see
#: ``_refuse_to_start_while_bootstrapping``.
EXIT_UNGUARDED_MAIN = 86

#: What the driver says when an actor process exits with :data:`EXIT_UNGUARDED_MAIN`.
UNGUARDED_MAIN_HINT = (
    "its process re-imports your script to start (as multiprocessing's spawn and forkserver "
    "do), and the script starts actor processes as it is imported: put the code "
    'that trains under `if __name__ == "__main__":`'
)


def _refuse_to_start_while_bootstrapping() -> None:
    """Stop a process that is still starting (re-importing the driver's script as
    ``__mp_main__``) from starting processes of its own: the script starts a run as it is
    imported. Creating a backend then is fine; starting a process is what multiprocessing
    refuses, with a 30-line RuntimeError that the driver would retry.

    Raises:
        RuntimeError: In a process that is not an actor's (another library's child).
    """
    current = mp.current_process()
    if not getattr(current, "_inheriting", False):
        return
    if current.name.startswith(_PROCESS_NAME_PREFIX):
        os._exit(EXIT_UNGUARDED_MAIN)  # an actor process: its driver says what to change
    raise RuntimeError(f"rlactors: a process {UNGUARDED_MAIN_HINT}")


class _ProcessLost(ActorSpawnError):
    """An actor's process ended, or could not be started, before it was ready (not because
    its constructor raised): worth another try (see ``ProcessBackend._start_retrying``)."""


class _Starting(NamedTuple):
    """An actor process started but not ready yet, and our end of its pipe."""

    process: Any
    conn: mp_connection.Connection


class _Managed:
    """An actor process this process owns, with its supervision record."""

    def __init__(self, spec: ActorSpec, handle: ProcessHandle, spec_bytes: bytes) -> None:
        self.spec = spec
        self.handle = handle
        self.spec_bytes = spec_bytes
        #: The ready process (None while it starts, restarts, or is gone) and its lifeline.
        self.process: Any = None
        self.lifeline: mp_connection.Connection | None = None
        #: The process being started, until it is ready or has failed.
        self.starting: _Starting | None = None
        self.restarts: deque[float] = deque()
        self.stopping = False

    def close_lifeline(self) -> None:
        """Close our end of the lifeline (once, whichever thread gets here first)."""
        lifeline, self.lifeline = self.lifeline, None
        if lifeline is not None:
            lifeline.close()


#: The fork server's first preload module: it titles the server in ``ps``.
_FORK_SERVER_TITLE = "rlactors.actors.backends.fork_server_title"


class ProcessBackend:
    """Starts, watches and restarts actor processes owned by this process."""

    name = "process"

    def __init__(
        self,
        rundir: str,
        owns_rundir: bool,
        start_method: str = "spawn",
        torch_threads: int | None = 1,
        spawn_timeout_s: float = 120.0,
        preload: tuple[str, ...] = (),
    ) -> None:
        if start_method not in ("spawn", "forkserver"):
            raise ValueError(
                f"start_method must be 'spawn' or 'forkserver' (fork is unsafe with torch's "
                f"threads), not {start_method!r}"
            )
        self.rundir = rundir
        self.owns_rundir = owns_rundir
        self.thread_limit = torch_threads
        self.options = {
            "start_method": start_method,
            "torch_threads": torch_threads,
            "spawn_timeout_s": spawn_timeout_s,
        }
        self.ctx = mp.get_context(start_method)
        if preload and start_method == "forkserver":
            # Modules imported once by the fork server: every actor process forked from it
            # starts with them loaded (torch takes ~2 s to import on this machine). The server
            # starts now and imports them while the caller goes on (building a learner, which
            # imports torch), rather than when the first actor is spawned.
            self.ctx.set_forkserver_preload([_FORK_SERVER_TITLE, *preload])
            _refuse_to_start_while_bootstrapping()
            with _child_thread_limits(torch_threads):
                forkserver.ensure_running()
        self.managed: dict[str, _Managed] = {}
        self.exit_reasons: dict[str, str] = {}  # address -> why its last process died
        self.lock = threading.RLock()
        self.closed = False
        self._wake_r, self._wake_w = os.pipe()
        self._monitor: threading.Thread | None = None
        _backends.append(self)
        transport().explainers.append(self.explain_exit)
        # multiprocessing joins non-daemon children at exit (its own atexit hook), and ours
        # wait for messages: stop them first. atexit runs hooks last-in first-out, and
        # multiprocessing registered its hook when it was imported, before this line.
        atexit.register(self.shutdown)

    @classmethod
    def for_driver(cls, **options: Any) -> ProcessBackend:
        """The backend of a driver program: it makes (and later removes) a private run dir."""
        rundir = tempfile.mkdtemp(prefix="rlactors-")  # mode 0700: only this user may connect
        return cls(rundir, owns_rundir=True, **options)

    # -- spawning ----------------------------------------------------------------------------

    def spawn(self, spec: ActorSpec, owner: LocalActor | None) -> ActorRef[Any]:
        return self.spawn_many([spec], owner)[0]

    def spawn_many(
        self, specs: Sequence[ActorSpec], owner: LocalActor | None
    ) -> list[ActorRef[Any]]:
        """Start a process for every spec, then wait for all of them to be ready.

        Starting and constructing overlap: N actors cost about one start plus N constructors
        shared over the cores, not N starts in turn (~50 ms each). If one fails, every other
        process of the batch is stopped (killed if it is still starting) before its
        ``ActorSpawnError`` is raised, so a failed batch leaves no process behind.
        """
        if self.closed:
            names = ", ".join(spec.name for spec in specs)
            raise ActorSpawnError(f"spawn({names}): the runtime was shut down")
        batch = [self._managed(spec) for spec in specs]
        try:
            lost = []
            for m in batch:
                try:
                    m.starting = self._launch(m)
                except _ProcessLost:
                    lost.append(m)
            started = [m for m in batch if m.starting is not None]
            lost += [m for m, _ in self._await_ready(started)]
            for m in lost:  # rare (a dying fork server): start those again, one at a time
                self._start_retrying(m)
        except BaseException:
            self._discard(batch)
            raise
        with self.lock:
            for m in batch:
                self.managed[m.handle.actor_id] = m
        self._watch()
        return [ActorRef(m.handle) for m in batch]

    def _managed(self, spec: ActorSpec) -> _Managed:
        actor_id = f"{os.getpid()}-{next(_ids)}"
        address = os.path.join(self.rundir, f"{actor_id}.sock")
        handle = transport().handle(
            address, actor_id, spec.name, spec.receives, public_methods(spec.cls)
        )
        return _Managed(spec, handle, dumps_spec(spec))

    def spawn_local(self, spec: ActorSpec, owner: LocalActor) -> ActorRef[Any]:
        host = owner.host
        actor = host.create(spec, f"{os.getpid()}-{next(_ids)}", owner.host_id)
        owner.children.append(actor.actor_id)
        assert actor.ref is not None
        return actor.ref

    def _start(self, m: _Managed) -> None:
        m.starting = self._launch(m)
        try:
            lost = self._await_ready([m])
        finally:
            starting, m.starting = m.starting, None
            if starting is not None:  # timed out while starting
                starting.process.kill()
                starting.process.join(5.0)
                starting.conn.close()
        if lost:
            raise lost[0][1]

    def _launch(self, m: _Managed) -> _Starting:
        """Start ``m``'s process (it then builds the actor while we go on)."""
        parent, child = self.ctx.Pipe(duplex=True)
        process = self.ctx.Process(  # type: ignore[attr-defined]
            target=_worker_main,
            args=(
                m.spec_bytes,
                m.handle.actor_id,
                m.handle.address,
                self.rundir,
                child,
                self.options,
            ),
            name=f"{_PROCESS_NAME_PREFIX}{m.spec.name}",
        )
        _refuse_to_start_while_bootstrapping()
        try:
            with _child_thread_limits(self.thread_limit):
                process.start()  # the first start of a fork server starts the server
        except (EOFError, OSError) as exc:
            child.close()
            parent.close()
            raise _ProcessLost(
                f"actor {m.spec.name}: its process could not be started ({exc!r})"
            ) from exc
        child.close()
        return _Starting(process, parent)

    def _await_ready(self, batch: Sequence[_Managed]) -> list[tuple[_Managed, _ProcessLost]]:
        """Wait until every started process of ``batch`` says it is ready; returns those
        whose process was lost before, and why (worth another try: :meth:`_start_retrying`).

        The timeout counts from the last progress: a batch fails when none of its actors
        became ready for ``spawn_timeout_s`` seconds, so a large batch sharing two cores is
        not cut short while it still comes up.

        Raises:
            ActorSpawnError: A constructor raised (the first one seen), or the timeout passed;
                the rest of the batch is left as it is for the caller to discard.
        """
        timeout = float(self.options["spawn_timeout_s"] or 120.0)
        waiting: dict[Any, _Managed] = {}
        for m in batch:
            assert m.starting is not None
            waiting[m.starting.conn] = m
            waiting[m.starting.process.sentinel] = m
        lost: list[tuple[_Managed, _ProcessLost]] = []
        while waiting:
            ready = mp_connection.wait(list(waiting), timeout)
            if not ready:
                late = list(dict.fromkeys(waiting.values()))
                others = f" (and {len(late) - 1} more of its batch)" if len(late) > 1 else ""
                raise ActorSpawnError(
                    f"actor {late[0].spec.name}{others}: its process did not start within "
                    f"{timeout} s"
                )
            for obj in ready:
                entry = waiting.pop(obj, None)
                if entry is None:  # its pipe and its sentinel were both ready
                    continue
                m = entry
                starting = m.starting
                assert starting is not None
                waiting.pop(starting.conn, None)
                waiting.pop(starting.process.sentinel, None)
                try:
                    self._settle(m, starting)
                except _ProcessLost as exc:
                    lost.append((m, exc))
        return lost

    def _settle(self, m: _Managed, starting: _Starting) -> None:
        """``m``'s process answered or exited: make it ready, or raise why it is not."""
        name, (process, conn) = m.spec.name, starting
        message: Any = None
        with contextlib.suppress(EOFError, OSError):
            if conn.poll(0):
                message = conn.recv()
        m.starting = None
        if message is not None and message[0] == "ready":
            m.process, m.lifeline = process, conn
            return
        conn.close()
        process.join(5.0)
        if message is not None and message[0] == "error":
            report: ErrorReport = message[1]
            raise ActorSpawnError(
                f"actor {name}: constructor {m.spec.factory_name}(...) raised {report.summary}"
            ) from report.to_exception()
        if process.exitcode == EXIT_UNGUARDED_MAIN:  # no use trying again
            raise ActorSpawnError(f"actor {name}: {UNGUARDED_MAIN_HINT}")
        raise _ProcessLost(
            f"actor {name}: its process {describe_exit(process.exitcode)} before it was ready"
        )

    def _discard(self, batch: Sequence[_Managed]) -> None:
        """Stop every process of a batch that failed to spawn, and wait until they are gone:
        a ready actor is asked to stop (its ``on_stop`` runs, its own children stop with
        it), one still starting is killed."""
        for m in batch:
            m.stopping = True
            if m.process is not None:
                with contextlib.suppress(Exception):
                    m.handle.send(Op.STOP, None, False, f"{m.handle.name}.stop")
            elif m.starting is not None:
                m.starting.process.kill()
        deadline = time.monotonic() + 3.0
        for m in batch:
            process = m.process if m.starting is None else m.starting.process
            if process is not None:
                process.join(max(0.0, deadline - time.monotonic()))
                if process.is_alive():
                    process.kill()
                    process.join(1.0)
            if m.starting is not None:
                m.starting.conn.close()
                m.starting = None
            m.process = None
            m.close_lifeline()
            m.handle.error = ActorStoppedError(
                f"actor {m.handle.name} was stopped (another actor of its batch failed to spawn)"
            )
            transport().drop(m.handle.address, ActorStoppedError, str(m.handle.error))

    # -- supervision -------------------------------------------------------------------------

    def _watch(self) -> None:
        if self._monitor is None:
            self._monitor = threading.Thread(
                target=self._monitor_loop, name="rlactors-monitor", daemon=True
            )
            self._monitor.start()
        else:
            os.write(self._wake_w, b"x")

    def _monitor_loop(self) -> None:
        while not self.closed:
            with self.lock:
                watched = {
                    m.process.sentinel: m for m in self.managed.values() if m.process is not None
                }
            ready = mp_connection.wait([*watched, self._wake_r])
            for obj in ready:
                if obj == self._wake_r:
                    os.read(self._wake_r, 4096)
                elif obj in watched:
                    try:
                        self._on_exit(watched[obj])
                    except Exception:
                        log.exception("rlactors: handling the exit of an actor process failed")

    def _on_exit(self, m: _Managed) -> None:
        process = m.process
        if process is None:
            return
        h, tr = m.handle, transport()
        code = reap(process)
        exit_ = describe_exit(code)
        if code == 255 and self.options["start_method"] == "forkserver":
            # multiprocessing's stand-in when the exit-status pipe from the fork server closed.
            exit_ += " (or the fork server it was forked from died)"
        reason = f"actor {h.name} died: its process (pid {process.pid}) {exit_}"
        self.exit_reasons[h.address] = reason  # before m.process goes: see explain_exit
        m.process = None
        m.close_lifeline()
        if m.stopping or self.closed:
            tr.drop(h.address, ActorStoppedError, f"actor {h.name} was stopped")
            with self.lock:
                self.managed.pop(h.actor_id, None)
            return
        policy = m.spec.options.restart
        now = time.monotonic()
        while m.restarts and now - m.restarts[0] > policy.within_s:
            m.restarts.popleft()
        restart = policy.mode == "on_failure" and len(m.restarts) < policy.max_restarts
        if restart:
            h.ready.clear()  # calls made from now on wait for the new instance
        tr.drop(h.address, ActorDiedError, reason)
        if not restart:
            if policy.mode == "on_failure":
                h.error = RestartLimitError(
                    f"{reason}; it was restarted {len(m.restarts)} times within "
                    f"{policy.within_s} s, the limit of its restart policy: giving up"
                )
            else:
                h.error = ActorDiedError(reason)
            self._bury(m, "died", str(h.error))
            return
        m.restarts.append(now)
        try:
            self._start_retrying(m)
        except Exception as exc:
            h.error = ActorDiedError(f"{reason}; restarting it failed: {exc}")
            log.error("%s", h.error)
            self._bury(m, "died", str(h.error))
            return
        finally:
            h.ready.set()
        log.warning("%s; restarted it (restart %d in the window)", reason, len(m.restarts))
        hook = m.spec.options.on_restart
        if hook is not None:
            try:
                hook(ActorRef(h))
            except Exception:
                log.exception("on_restart hook of actor %s raised", h.name)

    def _start_retrying(self, m: _Managed, attempts: int = 4) -> None:
        """Start ``m``, trying up to ``attempts`` times while its process is lost before it is
        ready (not when its constructor raised or it timed out: trying again would fail the
        same way). That happens when the fork server was killed: every actor forked from it
        is seen dead (its exit-status pipe closed) a moment before the server can be reaped,
        and multiprocessing, finding it not reaped yet, takes it for alive; a start asks the
        dead server and fails ("unexpected EOF"); the next one finds it gone and starts a new
        server. A server killed during a start loses that start too."""
        for attempt in range(attempts):
            try:
                self._start(m)
                return
            except _ProcessLost as exc:
                if attempt == attempts - 1:
                    raise
                log.warning("starting actor %s failed (%s); trying again", m.handle.name, exc)
                time.sleep(0.2 * (attempt + 1))

    def _bury(self, m: _Managed, kind: str, reason: str) -> None:
        with open(tombstone(m.handle.address), "w") as f:
            f.write(f"{kind} {reason}")
        with self.lock:
            self.managed.pop(m.handle.actor_id, None)
        m.handle.ready.set()

    def explain_exit(self, address: str) -> str | None:
        """``"actor X died: its process (pid N) was killed by SIGKILL"`` if it is ours."""
        if address in self.exit_reasons:
            return self.exit_reasons[address]
        with self.lock:
            m = next((m for m in self.managed.values() if m.handle.address == address), None)
        process = None if m is None else m.process
        if m is None or process is None:
            return None
        if reap(process, 1.0) is None:  # it closed its end: it is dying or dead
            return None
        return f"actor {m.handle.name} died: its process (pid {process.pid}) " + describe_exit(
            process.exitcode
        )

    def kill(self, ref: ActorRef[Any]) -> None:
        with self.lock:
            m = self.managed.get(ref.actor_id)
        if m is None or m.process is None:
            raise ValueError(
                f"kill({ref.name}): not a live actor process owned here (only the owner of an "
                "actor with a process of its own can kill it)"
            )
        os.kill(m.process.pid, signal.SIGKILL)

    # -- stopping ----------------------------------------------------------------------------

    def stop(self, handle: ProcessHandle, timeout: float) -> bool:
        """Stop ``handle`` if this backend owns it; False if it does not."""
        with self.lock:
            m = self.managed.get(handle.actor_id)
        if m is None:
            return False
        m.stopping = True
        process = m.process
        request_stop(handle, timeout)
        if process is not None:
            process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join(1.0)
        return True

    def shutdown(self) -> None:
        if self.closed:
            return
        with self.lock:
            managed = list(self.managed.values())
        for m in managed:
            m.stopping = True
            process = m.process
            if process is not None and process.is_alive() and m.handle.error is None:
                with contextlib.suppress(Exception):
                    m.handle.send(Op.STOP, None, False, f"{m.handle.name}.stop")
        self.closed = True
        deadline = time.monotonic() + 3.0
        for m in managed:
            process = m.process
            if process is not None:
                process.join(max(0.0, deadline - time.monotonic()))
                if process.is_alive():
                    process.kill()
                    process.join(1.0)
            m.close_lifeline()
            m.handle.error = ActorStoppedError(f"actor {m.handle.name} was stopped (shutdown)")
            transport().drop(m.handle.address, ActorStoppedError, "the runtime was shut down")
        os.write(self._wake_w, b"x")
        if self._monitor is not None:
            self._monitor.join(2.0)
        os.close(self._wake_r)
        os.close(self._wake_w)
        atexit.unregister(self.shutdown)
        if self in _backends:
            _backends.remove(self)
        with contextlib.suppress(ValueError):
            transport().explainers.remove(self.explain_exit)
        if self.owns_rundir:
            shutil.rmtree(self.rundir, ignore_errors=True)


def stop_handle(handle: ProcessHandle, timeout: float) -> None:
    """Stop the actor behind ``handle``, whether this process owns it or not."""
    if not any(b.stop(handle, timeout) for b in list(_backends)):
        request_stop(handle, timeout)
    handle.error = ActorStoppedError(f"actor {handle.name} was stopped")
    if os.path.basename(handle.address) == f"{handle.actor_id}.sock":
        transport().drop(handle.address, ActorStoppedError, f"actor {handle.name} was stopped")


def _worker_main(
    spec_bytes: bytes,
    actor_id: str,
    address: str,
    rundir: str,
    lifeline: mp_connection.Connection,
    options: dict[str, Any],
) -> None:
    # Imported here: the worker module pulls in selectors and the serve loop, which the driver
    # does not need.
    from rlactors.actors.backends.process_worker import run_worker

    run_worker(spec_bytes, actor_id, address, rundir, lifeline, options)
