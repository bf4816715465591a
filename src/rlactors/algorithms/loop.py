"""The training loop every algorithm shares: iterations, greedy evaluation, stop, checkpoints.

An algorithm is a config plus a builder (:mod:`rlactors.algorithms.builder`) that makes its
parts: the policies by id, each with its learner; a per-session optimizer with its actors;
perhaps a greedy evaluator actor; its schedules. This loop holds the parts and runs them, the
same for DQN, Ape-X, A2C, A3C, PPO and IMPALA::

    policies = builder.policies()                 # {policy id: (policy, learner)}, once
    while not done:                               # solved, or the budget would be exceeded
        optimizer = optimizer or builder.optimizer(policies, env_steps)   # once per session
        builder.update_schedules(policies, env_steps)
        stats = optimizer.step()                  # the rlactors.core.Optimizer interface
        counters += stats                         # env steps, learner steps, episodes
        every eval_interval_env_steps (with stop_reward set):
            greedy mean return over eval_episodes # greedy_evaluation.py: here, or beside
                                                  # learning on a greedy evaluator actor
            best = its weights, if the highest so far
            solved = it >= stop_reward and so is the mean over final_eval_episodes

Checkpoints hold every policy's learner state by id (the last policy), the best-evaluated
policies' weights (``state["best"]``, see :class:`~rlactors.algorithms.greedy_evaluation.
BestPolicy`; ``restore(path, policy="best")`` loads them), the loop's counters, the optimizer's own
counters (:meth:`~rlactors.core.Optimizer.state_dict`) and, on request, its replay. The config
is a :class:`~rlactors.algorithms.run_config.RunConfig` (every algorithm's extends it) with an
``action_mask_key`` and the property ``env_steps_per_round``.

Importing an algorithm's module imports no torch; building the algorithm does. A user's script
that imports an algorithm at its top is imported by every actor process it starts (the process
backend's fork server imports it once, before forking them): without torch there, the actors,
which act in numpy, start in a fraction of a second instead of after a ~1.2 s torch import.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
import weakref
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rlactors.actors import ActorError, ActorRef, Runtime
from rlactors.algorithms import check_action_space
from rlactors.algorithms.base import Algorithm, Callback, config_from_dict, config_to_dict
from rlactors.algorithms.builder import Builder, EnvInfo, PolicyEntry
from rlactors.algorithms.env_fields import env_spec_of
from rlactors.algorithms.greedy_evaluation import (
    FINAL_EVAL_KEYS,
    BestPolicy,
    GreedyEvaluations,
)
from rlactors.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from rlactors.core import DEFAULT_POLICY_ID, Env, Learner, Optimizer, Policy
from rlactors.envs import EnvBatch, EnvSpec
from rlactors.errors import SpaceError
from rlactors.evaluators import make_env_batch
from rlactors.metrics import METRICS_FILE, MetricsSpool, checkpoint_in, read_metrics
from rlactors.run_checkpoints import CheckpointSchedule
from rlactors.validation import is_finite_number

log = logging.getLogger(__name__)

#: Which of a checkpoint's policies :meth:`TrainingLoop.restore` loads.
PolicyChoice = Literal["best", "last"]


class TrainingLoop(GreedyEvaluations, Algorithm):
    """The shared loop; see the module docstring. An algorithm is a subclass that names its
    ``config_class`` and ``builder_class``, nothing more.

    Actors are spawned on ``config.backend`` when training starts (not in the constructor), so
    building an algorithm to evaluate or restore a checkpoint starts no actor. While it trains,
    its runtime is the current one (``rlactors.actors.current_runtime``) until :meth:`stop`.
    On the process backend with a fork server, the runtime is made by the constructor, before
    the builder makes the policies (torch): the server imports the actors' modules meanwhile
    (~0.15 s off the first iteration); :meth:`stop` (or collecting the object) shuts it down.

    Raises:
        EnvSpecError: ``config.env`` cannot be built (an unknown id, a module that cannot be
            imported, a missing dependency); raised in the constructor, in the caller's
            process, before any actor starts.
        SpaceError: The algorithm cannot handle the env's spaces (ditto).
    """

    #: The config dataclass a checkpoint's ``config.json`` is read into.
    config_class: type[Any]
    #: What makes the parts (see :mod:`rlactors.algorithms.builder`).
    builder_class: type[Builder]
    #: What makes the parts for a multi-role env (None: the algorithm trains single-role
    #: envs only); see :mod:`rlactors.algorithms.multi_agent`.
    multi_agent_builder_class: type[Builder] | None = None
    #: The env every process builds: the config's env fields, resolved here (see EnvSpec).
    env_spec: EnvSpec

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        # Resolved and built here, in the caller's process: a bad env fails before any actor
        # starts, and the resolved spec (imports done, a Gymnasium registration included) is
        # what every evaluator builds. The envs are kept: they give the builder its spaces
        # and run the greedy evaluations.
        self.env_spec = env_spec_of(config).resolve()
        if config.env_actors == "process" and config.backend == "inline":
            log.warning(
                "%s: env_actors='process' on the inline backend runs every env actor in this "
                "one thread, so slow envs do not step in parallel; use --backend process",
                self.name,
            )
        # One env tells single- from multi-role; a single-role one is the first of the greedy
        # evaluations' envs (an Atari env costs a ROM load: build none twice).
        probe = self.env_spec.make(mask_key=config.action_mask_key)
        #: The env's roles (several: a multi-role run, see algorithms.multi_agent).
        self.roles: tuple[str, ...] = tuple(probe.roles)
        roles = self.roles
        multi_agent = len(roles) > 1
        if multi_agent:
            try:
                self.builder = self._multi_agent_builder(config, probe)
            finally:
                probe.close()
        #: The greedy evaluations' envs (None for a multi-role env: those play matches).
        self._eval_envs: EnvBatch | None = None
        self._other_eval_envs: EnvBatch | None = None  # see evaluate()
        self._actor_eval_envs: dict[int, EnvBatch] = {}  # see evaluate(): env actors
        if not multi_agent:
            if not getattr(config, "multi_agent_defaults", True):
                probe.close()
                raise SpaceError(
                    f"{self.name}: {self.env_spec.name} has one role ({roles[0]!r}); the "
                    "multi-agent fields (policy_mapping, opponents, self_play, ...) need a "
                    "multi-role env"
                )
            self._eval_envs = make_env_batch(
                self.env_spec,
                config.eval_episodes,
                mask_key=config.action_mask_key,
                crash_policy=config.env_crash_policy,
                first=probe,
            )
            check_action_space(self.name, self.env_spec.name, self._eval_envs.action_space)
            self.builder = self.builder_class(
                self.name,
                config,
                EnvInfo(
                    self.env_spec,
                    self._eval_envs.observation_space,
                    self._eval_envs.action_space,
                ),
            )
        self._runtime: Runtime | None = None
        if config.backend == "process" and self.builder.preload:
            # Made now, so its fork server imports the preload while the builder makes the
            # policies (torch). Stopped by stop(), or when this object is collected.
            self._runtime = Runtime(config.backend, **self._runtime_options())
            weakref.finalize(self, self._runtime.shutdown)
        #: The run's policies by id (one, ``DEFAULT_POLICY_ID``, for a single-agent run).
        self.policies: dict[str, PolicyEntry] = self.builder.policies()
        self._optimizer: Optimizer | None = None
        # The optimizer's own counters, kept between sessions (and from a checkpoint).
        self._optimizer_state: dict[str, int] = {}
        # Replay arrays held while no optimizer runs (from a checkpoint, or kept at stop()).
        self._pending_replay: dict[str, np.ndarray] | None = None
        # Counters (all restored by restore()).
        self.env_steps = 0
        self.learner_steps = 0
        self.episodes = 0
        self.iteration = 0
        self.evaluations = 0
        self._time_s = 0.0  # training wall time of earlier sessions (before a restore)
        self._next_eval_env_steps = config.eval_interval_env_steps
        self._returns: deque[float] = deque(maxlen=config.return_window_episodes)
        self._lengths: deque[int] = deque(maxlen=config.return_window_episodes)
        self._last_eval: float | None = None
        self._last_eval_env_steps: int | None = None  # env steps of the policy it evaluated
        self._solved = False
        self._best: BestPolicy | None = None
        self._final_eval: dict[str, Any] | None = None
        self._final_eval_now: dict[str, Any] | None = None
        self._limit_met = False  # see train_iter
        self._greedy_evaluator: ActorRef[Any] | None = None  # see _spawn_greedy_evaluator
        self.greedy_evaluator_restarts = 0  # this session's (its actor is the session's)
        self._evaluation = None
        #: Every iteration's metrics row (:meth:`train_iter`'s), in a temporary file: what
        #: :meth:`save` writes as ``metrics.jsonl``.
        self.history = MetricsSpool()
        # This session's clock, for env steps per second.
        self._session_start: float | None = None
        self._session_env_steps = 0

    # -- the policies ---------------------------------------------------------------------------

    @property
    def policy(self) -> Policy:
        """The policy of a single-policy run (``policies[DEFAULT_POLICY_ID].policy``).

        Raises:
            ValueError: The run holds several policies (use :attr:`policies`).
        """
        return self._single_policy().policy

    @property
    def learner(self) -> Learner:
        """The learner of a single-policy run (see :attr:`policy`)."""
        return self._single_policy().learner

    def _single_policy(self) -> PolicyEntry:
        if len(self.policies) != 1:
            raise ValueError(
                f"{self.name} holds the policies {sorted(self.policies)}; "
                "pick one with algorithm.policies[policy_id]"
            )
        return next(iter(self.policies.values()))

    # -- training -------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Solved, or another round would exceed ``max_env_steps``."""
        return self._solved or self._limit_met or self._budget_spent(self.env_steps)

    def train_iter(self) -> dict[str, Any]:
        """One optimizer round, then the greedy evaluation business (see :meth:`_maybe_evaluate`):
        collect one that finished, start (or, without a greedy evaluator, run) one that is due.

        Returns:
            The iteration's metrics: ``iteration``, ``env_steps``, ``learner_steps``,
            ``episodes`` (totals); ``episode_return_mean`` and ``episode_length_mean`` over the
            last ``return_window_episodes`` training episodes (None before the first ends);
            ``episode_returns`` (this round's); ``policies`` (each learner's statistics,
            ``{policy id: {"loss": ..., "grad_norm": ...}}``; a single-policy run also has
            them at the top level); the optimizer's own (e.g. ``epsilon``, ``replay_size``,
            ``worker_restarts``); ``eval_return_mean`` (of the evaluation collected this iteration,
            which may be of an earlier snapshot; None when none was); ``eval_env_steps`` (the
            env steps of the policy it evaluated); ``final_eval_return_mean``,
            ``final_eval_return_std``, ``final_eval_episodes`` and ``final_eval_env_steps`` (of
            the confirming evaluation run this iteration because ``eval_return_mean`` met
            ``stop_reward``: ``solved`` is whether it met it too; None when none ran);
            ``greedy_evaluator_restarts`` (this session's); ``inference`` (with
            ``inference="server"``: the server's ``rows_per_batch``, ``requests_per_batch``,
            ``largest_batch_rows``, ``batches`` and ``restarts``, since its server started);
            ``env_steps_per_s`` (this session), ``time_s`` (training wall time, all sessions);
            ``sample_wait_s``, ``learn_time_s`` and ``eval_time_s`` (where this iteration's
            time went; beside learning, evaluating costs only the dispatch); ``solved`` and
            ``done``.

        Raises:
            RuntimeError: Training is already done (solved or budget spent).
        """
        if self.done:
            raise RuntimeError(
                f"{self.name} training is done ({'solved' if self._solved else 'budget spent'} at "
                f"{self.env_steps} env steps); raise max_env_steps to continue"
            )
        optimizer = self._start()
        self.builder.update_schedules(self.policies, self.env_steps)
        # An asynchronous round takes what its requests in flight bring (more than the round,
        # up to a request per worker): only the limit keeps the last one within the budget.
        optimizer.env_step_limit = self.config.max_env_steps
        stats = optimizer.step(last=self._budget_spent(self.env_steps + self._round))
        # A round the limit cut short is the last one that fits.
        self._limit_met = bool(stats.get("env_step_limit_met", False))
        self.iteration += 1
        self.env_steps = stats["env_steps"]
        self.learner_steps = stats["learner_steps"]
        self._session_env_steps += stats["env_steps_this_step"]
        self.episodes += len(stats["episode_returns"])
        self._returns.extend(stats["episode_returns"])
        self._lengths.extend(stats["episode_lengths"])
        eval_start = time.perf_counter()
        eval_return = self._maybe_evaluate()
        eval_time_s = time.perf_counter() - eval_start
        elapsed = time.perf_counter() - (self._session_start or time.perf_counter())
        metrics = {
            "iteration": self.iteration,
            "env_steps": self.env_steps,
            "learner_steps": self.learner_steps,
            "episodes": self.episodes,
            "episode_return_mean": self.episode_return_mean,
            "episode_length_mean": float(np.mean(self._lengths)) if self._lengths else None,
            "episode_returns": stats["episode_returns"],
            **self._learner_metrics(stats["learners"]),
            **stats["metrics"],
            "eval_return_mean": eval_return,
            "eval_env_steps": self._last_eval_env_steps if eval_return is not None else None,
            **self._final_eval_metrics(),
            "greedy_evaluator_restarts": self.greedy_evaluator_restarts,
            **self._inference_metrics(),
            "env_steps_per_s": self._session_env_steps / elapsed if elapsed > 0 else 0.0,
            "time_s": self._time_s + elapsed,
            "sample_wait_s": stats["sample_wait_s"],
            "learn_time_s": stats["learn_time_s"],
            "eval_time_s": eval_time_s,
            "solved": self._solved,
            "done": self.done,
        }
        self.history.append(metrics)
        return metrics

    def _inference_metrics(self) -> dict[str, Any]:
        """``inference``: the policy server's batching so far (``inference="server"``)."""
        served = self.builder.served
        if served is None:
            return {}
        stats = served.stats()
        keys = ("rows_per_batch", "requests_per_batch", "largest_batch_rows", "batches", "restarts")
        return {"inference": {key: stats[key] for key in keys}}

    def train(
        self,
        callback: Callback | None = None,
        *,
        on_evaluation: Callback | None = None,
        progress: bool = False,
        run_dir: str | Path | None = None,
        checkpoints: CheckpointSchedule | None = None,
    ) -> dict[str, Any]:
        """Iterate until solved (``stop_reward``) or the budget is spent; see :meth:`result`.

        Nothing is shown or written unless asked for::

            algo.train(progress=True, run_dir="runs/my-dqn")   # as `rlactors train` does

        Args:
            callback: Called with each iteration's metrics (see :meth:`train_iter`).
            on_evaluation: Called with each greedy evaluation collected, as ``{"iteration",
                "env_steps", "eval_return_mean", "eval_env_steps", "solved"}``
                (``eval_env_steps``: the env steps of the policy it evaluated, fewer than
                ``env_steps`` when it ran beside learning), and with the final one that
                :meth:`result` reports when training ends unsolved.
            progress: Show the progress display of ``rlactors train`` on stdout
                (:class:`rlactors.progress.TrainingProgress`: a live line on a terminal, a
                plain line every 5 s elsewhere).
            run_dir: Write the run directory ``rlactors train`` writes there
                (:class:`rlactors.run_recorder.RunRecorder`: ``config.json``,
                ``metrics.jsonl``, periodic and best checkpoints, then the final
                ``checkpoint/`` and ``learning_curve.png``, also when interrupted with
                Ctrl-C); ``rlactors evaluate`` and ``rlactors train --resume`` read it.
            checkpoints: When ``run_dir`` takes periodic checkpoints (default: every 5
                minutes, the newest 3 kept).

        Raises:
            ValueError: ``run_dir`` holds a run already, or ``checkpoints`` without
                ``run_dir``.
        """
        if checkpoints is not None and run_dir is None:
            raise ValueError(f"{self.name}.train: checkpoints= schedules run_dir's checkpoints")
        title = f"{self.name} {self.env_spec.name}"
        observers: list[Callback] = [] if callback is None else [callback]
        with contextlib.ExitStack() as stack:
            recorder = None
            if run_dir is not None:
                from rlactors.run_recorder import RunRecorder, new_run_dir

                schedule = checkpoints or CheckpointSchedule()
                recorder = RunRecorder(
                    new_run_dir(run_dir), self.name, self.config, schedule, title=title
                )
                stack.enter_context(recorder)
                observers.insert(0, functools.partial(recorder.record, self))
            if progress:
                from rlactors.progress import TrainingProgress  # rich: only when shown

                display = stack.enter_context(TrainingProgress(self.config.max_env_steps, title))
                observers.append(display.update)
                on_evaluation = _both(display.show_evaluation, on_evaluation)
            try:
                self._train(observers, on_evaluation)
            except KeyboardInterrupt:
                if recorder is not None:
                    recorder.finish(self)  # as the CLI does: an interrupted run is kept
                raise
            if recorder is not None:
                recorder.finish(self)
        return self.result()

    def _train(self, observers: list[Callback], on_evaluation: Callback | None) -> None:
        """:meth:`train`'s iterations, each handed to ``observers``, then the final
        evaluation."""
        while not self.done:
            metrics = self.train_iter()
            for observe in observers:
                observe(metrics)
            if on_evaluation is not None and metrics["eval_return_mean"] is not None:
                on_evaluation(_evaluation_of(metrics))
        if not self._solved and self._last_eval_env_steps != self.env_steps:
            # The result should say how good the final policy is, not an older one.
            self._last_eval = self.evaluate()["eval_return_mean"]
            self._last_eval_env_steps = self.env_steps
            if on_evaluation is not None:
                on_evaluation(_evaluation_of({**self.result(), "iteration": self.iteration}))

    def result(self) -> dict[str, Any]:
        """Where training stands: ``env_steps``, ``learner_steps``, ``episodes``,
        ``episode_return_mean`` (training, latest window), ``eval_return_mean`` (the latest
        greedy evaluation, None if none ran) and ``eval_env_steps`` (the env steps of the policy
        it evaluated: fewer than ``env_steps`` when it ran beside learning), ``env_steps_per_s``
        (this session), ``time_s`` (training wall time) and ``solved``; ``final_eval_return_mean``,
        ``final_eval_return_std``, ``final_eval_episodes`` and ``final_eval_env_steps`` (the
        latest confirming evaluation, which decided ``solved``; None if none ran);
        ``best_eval_return_mean`` and ``best_env_steps`` (:attr:`best_policy`'s; None if none).
        """
        elapsed = (
            time.perf_counter() - self._session_start if self._session_start is not None else 0.0
        )
        return {
            "env_steps": self.env_steps,
            "learner_steps": self.learner_steps,
            "episodes": self.episodes,
            "episode_return_mean": self.episode_return_mean,
            "eval_return_mean": self._last_eval,
            "eval_env_steps": self._last_eval_env_steps,
            "env_steps_per_s": self._session_env_steps / elapsed if elapsed > 0 else 0.0,
            "time_s": self._time_s + elapsed,
            "solved": self._solved,
            **(self._final_eval or dict.fromkeys(self._final_eval_metrics())),
            "best_eval_return_mean": None if self._best is None else self._best.eval_return_mean,
            "best_env_steps": None if self._best is None else self._best.env_steps,
        }

    def stop(self) -> None:
        """Stop the actors and this algorithm's runtime (idempotent). Counters and weights stay;
        training again starts new actors (and new episodes). An evaluation in flight is
        abandoned."""
        self._evaluation = None
        if self._greedy_evaluator is not None:
            try:
                self._greedy_evaluator.stop(timeout=10.0)
            except Exception:  # best effort at shutdown: report it and go on
                log.exception("stopping the greedy evaluator failed")
            self._greedy_evaluator = None
        if self._optimizer is not None:
            # Kept for the next session, and for a checkpoint saved after stop().
            self._optimizer_state = self._optimizer.state_dict()
            try:
                if self.builder.has_replay:
                    self._pending_replay = self._optimizer.replay_state()
            except ActorError as exc:
                # A replay actor died past its restart limit: what it held is gone, and the
                # next session starts with an empty buffer (the counters stay).
                log.warning("%s: the replay buffer could not be kept (%s)", self.name, exc)
            finally:
                self._optimizer.stop()
                self._optimizer = None
        self._close_actor_eval_envs()
        if self._runtime is not None:  # entered by _start, or only made by the constructor
            self._runtime.__exit__(None, None, None)
            self._runtime = None
        if self._session_start is not None:
            self._time_s += time.perf_counter() - self._session_start
            self._session_start = None

    # -- checkpoints ----------------------------------------------------------------------------

    def save(self, path: str | Path, *, include_replay: bool = False) -> Path:
        """Write the run directory ``rlactors train`` writes, at ``path``: ``config.json``,
        ``metrics.jsonl`` (every iteration trained: :attr:`history`), TensorBoard event files,
        ``learning_curve.png`` and the final ``checkpoint/`` (:meth:`save_checkpoint`'s);
        an earlier save there is replaced. ``rlactors evaluate``, ``rlactors enjoy``,
        ``rlactors plot``, ``rlactors train --resume``, :meth:`restore` and
        :meth:`from_checkpoint` all read it (:func:`rlactors.run_recorder.save_run`).

        Returns:
            The run directory.

        Raises:
            ValueError: ``include_replay`` for an algorithm without replay; ``path`` holds
                files that no run wrote.
        """
        if include_replay and not self.builder.has_replay:
            raise ValueError(f"{self.name} has no replay buffer to save (include_replay)")
        from rlactors.run_recorder import save_run  # matplotlib and tensorboard: only here

        return save_run(self, path, include_replay=include_replay)

    def save_checkpoint(self, path: str | Path, *, include_replay: bool = False) -> Path:
        """Write a checkpoint directory atomically (see :mod:`rlactors.checkpoint`).

        It holds every policy's learner state by policy id (networks, optimizer state: the
        last policy), the best-evaluated policies' weights (:attr:`best_policy`, if any), the
        counters (env and learner steps, which also place every schedule) and the optimizer's
        own, the recent training returns and the config as JSON; with ``include_replay`` also
        the replay buffer, for algorithms that have one.

        Returns:
            The checkpoint directory.

        Raises:
            ValueError: ``include_replay`` for an algorithm without replay.
        """
        elapsed = (
            time.perf_counter() - self._session_start if self._session_start is not None else 0.0
        )
        if include_replay and not self.builder.has_replay:
            raise ValueError(f"{self.name} has no replay buffer to save (include_replay)")
        if self._optimizer is not None:
            self._optimizer_state = self._optimizer.state_dict()
        state = {
            "policies": {pid: e.learner.state_dict() for pid, e in self.policies.items()},
            "optimizer": dict(self._optimizer_state),
            "counters": {
                "env_steps": self.env_steps,
                "learner_steps": self.learner_steps,
                "episodes": self.episodes,
                "iteration": self.iteration,
                "evaluations": self.evaluations,
                "next_eval_env_steps": self._next_eval_env_steps,
                "time_s": self._time_s + elapsed,
                "solved": self._solved,
                "last_eval": self._last_eval,
                "last_eval_env_steps": self._last_eval_env_steps,
                "final_eval": self._final_eval,
            },
            "recent_returns": list(self._returns),
            "recent_lengths": list(self._lengths),
            "builder": self.builder.state_dict(),
        }
        if self._best is not None:
            state["best"] = self._best.to_state()
        return save_checkpoint(
            path,
            algorithm=self.name,
            config=config_to_dict(self.config),
            state=state,
            arrays=self._replay_arrays() if include_replay else None,
        )

    def restore(self, path: str | Path, *, policy: PolicyChoice = "last") -> None:
        """Load a run or checkpoint written by :meth:`save` into this instance (keeping its
        config).

        Evaluators restart their episodes; a replay buffer in the checkpoint refills replay.

        Args:
            path: A run directory (:meth:`save`'s, or ``rlactors train``'s: its final
                ``checkpoint/``, and its ``metrics.jsonl`` rows up to that checkpoint become
                :attr:`history`), or a checkpoint directory (:meth:`save_checkpoint`'s, a
                periodic one: :attr:`history` is then emptied).
            policy: ``"last"``: the policies as training left them, to resume training.
                ``"best"``: then the best-evaluated ones' weights (:meth:`load_best_policy`),
                to evaluate or act with; the counters, optimizer state and
                :attr:`best_policy` are the checkpoint's either way.

        Raises:
            CheckpointError: Not a checkpoint of this algorithm, it does not load safely, or
                its policy ids are not this run's; ``policy="best"`` and it holds no best
                policy (one of an earlier release, or of a run without greedy evaluations).
            ValueError: The networks' shapes differ from this config's, or ``policy`` is
                neither ``"best"`` nor ``"last"``.
        """
        if policy not in ("best", "last"):
            raise ValueError(f"restore: policy must be 'best' or 'last', got {policy!r}")
        source = checkpoint_in(path)
        checkpoint = load_checkpoint(source)
        if checkpoint.algorithm != self.name:
            raise CheckpointError(
                f"{path} is a {checkpoint.algorithm!r} checkpoint, not {self.name!r}"
            )
        state = checkpoint.state
        # Checkpoints from before policies were kept by id hold one, under "policy".
        if "policies" in state:
            saved = state["policies"]
        elif "policy" in state:
            saved = {DEFAULT_POLICY_ID: state["policy"]}
        else:
            raise CheckpointError(f"{path} is not a {self.name} checkpoint: it holds no policies")
        if not isinstance(saved, dict) or set(saved) != set(self.policies):
            held = sorted(map(str, saved)) if isinstance(saved, dict) else type(saved).__name__
            raise CheckpointError(
                f"{path} holds the policies {held}, this {self.name} run {sorted(self.policies)}"
            )
        for pid, learner_state in saved.items():
            self.policies[pid].learner.load_state_dict(learner_state)
        try:
            self._restore_counters(state)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            # A state.pt that loads safely but is not what save() wrote (tampered with, or
            # another program's): one line naming what is missing, not a KeyError.
            raise CheckpointError(
                f"{path} is not a {self.name} checkpoint of this release: its counters do not "
                f"read ({type(exc).__name__}: {exc})"
            ) from None
        self.builder.load_state_dict(state.get("builder", {}))
        self._pending_replay = checkpoint.arrays
        if policy == "best":
            if self._best is None:
                raise CheckpointError(
                    f"{path} holds no best policy (no greedy evaluation ran: they run with "
                    "stop_reward set; or an earlier release wrote it); restore its last one"
                )
            self.load_best_policy()
        rows = Path(path) / METRICS_FILE
        if source != Path(path) and rows.is_file():
            # The rows past the checkpoint are of iterations this run will train again.
            kept = (r for r in read_metrics(rows) if int(r.get("iteration", 0)) <= self.iteration)
            self.history.replace(kept)
        else:
            self.history.close()
        if self._optimizer is not None:
            self._resume(self._optimizer)
            self._optimizer.broadcast_weights()

    def _restore_counters(self, state: dict[str, Any]) -> None:
        """The counters, recent returns and optimizer counters of a checkpoint's state."""
        counters = state["counters"]
        self.env_steps = int(counters["env_steps"])
        self.learner_steps = int(counters["learner_steps"])
        self.episodes = int(counters["episodes"])
        self.iteration = int(counters["iteration"])
        self.evaluations = int(counters["evaluations"])
        self._next_eval_env_steps = int(counters["next_eval_env_steps"])
        self._time_s = float(counters["time_s"])
        self._solved = bool(counters["solved"])
        last_eval = counters["last_eval"]
        self._last_eval = None if last_eval is None else float(last_eval)
        # Checkpoints of earlier releases hold no best policy, nor a confirming evaluation.
        best = state.get("best")
        self._best = None if best is None else BestPolicy.from_state(best, set(self.policies))
        final_eval = counters.get("final_eval")
        self._final_eval = None if final_eval is None else _final_eval_of(final_eval)
        self._final_eval_now = None
        # Checkpoints before evaluations ran beside learning do not have it: the env steps then.
        fallback = None if last_eval is None else self.env_steps
        evaluated = counters.get("last_eval_env_steps", fallback)
        self._last_eval_env_steps = None if evaluated is None else int(evaluated)
        # An evaluation in flight is of a policy the checkpoint replaced: its answer, if
        # collected, would overwrite the restored weights when it solves.
        self._evaluation = None
        self._returns.clear()
        self._returns.extend(float(r) for r in state["recent_returns"])
        self._lengths.clear()
        self._lengths.extend(int(n) for n in state["recent_lengths"])
        # Ape-X's checkpoints from before the Optimizer interface kept its counters here.
        legacy = {k: int(counters[k]) for k in ("inserted", "learned_samples") if k in counters}
        self._optimizer_state = {k: int(v) for k, v in state.get("optimizer", legacy).items()}

    @classmethod
    def from_checkpoint(cls, path: str | Path, *, policy: PolicyChoice = "last") -> TrainingLoop:
        """An instance built from the checkpoint's own config, with its state restored
        (``path`` and ``policy``: as :meth:`restore`'s)."""
        checkpoint = load_checkpoint(checkpoint_in(path))
        try:
            config = config_from_dict(cls.config_class, checkpoint.config)
        except ValueError as exc:  # another release's fields, or an edited value
            raise CheckpointError(
                f"{path}: its config does not fit this release's {cls.config_class.__name__}: {exc}"
            ) from None
        algorithm = cls(config)
        try:
            algorithm.restore(path, policy=policy)
        except BaseException:
            algorithm.stop()
            raise
        return algorithm

    # -- internals ------------------------------------------------------------------------------

    def _multi_agent_builder(self, config: Any, env: Env) -> Builder:
        """The builder of a multi-role env (its mapping checked here, before any actor)."""
        from rlactors.algorithms.multi_agent import MultiAgentEnvInfo

        if self.multi_agent_builder_class is None:
            raise SpaceError(
                f"{self.name} trains single-role envs; {self.env_spec.name} has roles "
                f"{', '.join(env.roles)}; every built-in algorithm trains those "
                "(docs/multi_agent.md)"
            )
        if config.inference == "server":
            raise ValueError(
                f"{self.name}: inference='server' acts for single-role envs; "
                f"{self.env_spec.name} has roles {', '.join(env.roles)}, whose evaluators act "
                "with local policy copies (drop --inference server)"
            )
        if config.env_actors != "none":
            raise ValueError(
                f"{self.name}: env_actors={config.env_actors!r} is for single-role envs; "
                f"{self.env_spec.name} has roles {', '.join(env.roles)}, whose evaluators "
                "step plain envs (drop --env-actors)"
            )
        if getattr(config, "role_input", False) or getattr(config, "centralized_critic", False):
            from rlactors.multiagent.central_critic import central_critic_spec
            from rlactors.multiagent.role_input import role_input_spec

            # Every process builds the wrapped env: evaluators, greedy matches, checkpoints
            # (whose config says so, so a restored run wraps it again). The role goes in
            # first, so that a centralized critic sees it too.
            if getattr(config, "role_input", False):
                self.env_spec = role_input_spec(self.env_spec)
            if getattr(config, "centralized_critic", False):
                self.env_spec = central_critic_spec(self.env_spec)
            wrapped = self.env_spec.make(check=False)
            try:
                info = MultiAgentEnvInfo.of(self.env_spec, wrapped)
            finally:
                wrapped.close()
        else:
            info = MultiAgentEnvInfo.of(self.env_spec, env)
        return self.multi_agent_builder_class(self.name, config, info)

    @property
    def _round(self) -> int:
        return int(self.config.env_steps_per_round)

    def _budget_spent(self, env_steps: int) -> bool:
        return bool(env_steps + self._round > self.config.max_env_steps)

    def _start(self) -> Optimizer:
        """Start this session's runtime, actors and optimizer on its first iteration."""
        if self._optimizer is not None:
            return self._optimizer
        c = self.config
        if c.learner_torch_threads is not None:
            import torch  # here, not at the top: see the module docstring

            torch.set_num_threads(c.learner_torch_threads)
        if self._runtime is None:  # made by the constructor on the process backend, else here
            self._runtime = Runtime(c.backend, **self._runtime_options())
        self._runtime.__enter__()
        try:
            optimizer = self.builder.optimizer(self.policies, self.env_steps)
            if c.stop_reward is not None:
                self._greedy_evaluator = self._spawn_greedy_evaluator()
        except BaseException:
            self._runtime.__exit__(None, None, None)  # stops whatever was spawned
            self._runtime = None
            raise
        self._resume(optimizer)
        self._optimizer = optimizer
        self._session_start = time.perf_counter()
        self._session_env_steps = 0
        return optimizer

    def _runtime_options(self) -> dict[str, Any]:
        """Options of this algorithm's :class:`Runtime`: a fork server that preloads the
        builder's modules, on the process backend."""
        if self.config.backend == "process" and self.builder.preload:
            return {"start_method": "forkserver", "preload": self.builder.preload}
        return {}

    def _resume(self, optimizer: Optimizer) -> None:
        """Hand a (new) optimizer the counters and replay of earlier sessions or a checkpoint."""
        optimizer.load_state_dict(
            {
                **self._optimizer_state,
                "env_steps": self.env_steps,
                "learner_steps": self.learner_steps,
            }
        )
        if self._pending_replay is not None:
            optimizer.load_replay_state(self._pending_replay)
            self._pending_replay = None

    def _replay_arrays(self) -> dict[str, np.ndarray] | None:
        """The replay buffer as plain arrays for a checkpoint (None: nothing to save)."""
        if self._optimizer is not None:
            return self._optimizer.replay_state()
        return self._pending_replay

    def _learner_metrics(self, learners: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """The learners' entries of an iteration's metrics: ``policies`` (by id), and for a
        single-policy run the same at the top level (``loss``, ``grad_norm``, ...)."""
        flat = next(iter(learners.values())) if len(learners) == 1 else {}
        return {**flat, "policies": learners}

    def _greedy(self, obs: np.ndarray) -> np.ndarray:
        return self.policy.act(obs, explore=False)

    def _evaluate_matches(
        self, episodes: int, seed: int, opponent: str | TrainingLoop | None = None
    ) -> dict[str, Any]:
        from rlactors.multiagent.evaluation import evaluate_policies
        from rlactors.multiagent.matches import Player, PolicyPlayer
        from rlactors.multiagent.opponents import scripted_player

        parts = self.builder.multi_agent
        if parts is None:
            raise ValueError(f"{self.env_spec.name} has one role: there is no seat to play")
        rival: str | Callable[[str, int], Player] | None
        if isinstance(opponent, TrainingLoop):
            other = opponent.builder.multi_agent
            if other is None or set(other.env.roles) != set(parts.env.roles):
                raise ValueError(
                    f"the opponent run trained {opponent.env_spec.name}, whose roles are not "
                    f"those of {self.env_spec.name}"
                )
            other_mapping = other.mapping

            def rival(role: str, seed: int) -> Player:
                # The other run's player of that role: its policy, or its scripted opponent.
                pid = other_mapping.policy_id(role, 0)
                obs_space, act_space = other.env.spaces[role]
                if role in other_mapping.opponents:
                    return scripted_player(other_mapping.opponents[role], act_space, seed)
                return PolicyPlayer(opponent.policies[pid].policy, obs_space, greedy=True)

        else:
            rival = opponent or parts.eval_opponent
        return evaluate_policies(
            self.env_spec,
            parts.env.spaces,
            parts.mapping,
            {pid: entry.policy for pid, entry in self.policies.items()},
            episodes,
            seed,
            opponent=rival,
            mask_key=self.config.action_mask_key,
        )

    def evaluate_against(self, opponent: str | TrainingLoop, episodes: int) -> dict[str, Any]:
        """Greedy games of a multi-role run's learned roles against ``opponent`` on every other
        seat: a scripted player's name (``random``, ``minimax``, ``heuristic``, ``rock``) or
        another run of the same env (each role played by the policy that run maps it to).

        Returns:
            As :meth:`evaluate`, with ``seats``: ``{role: {"win", "draw", "loss"}}``.

        Raises:
            ValueError: This run's env has one role, or the other run's env other roles.
        """
        if episodes < 1:
            raise ValueError(f"evaluate_against: episodes must be >= 1, got {episodes}")
        return self._evaluate_matches(episodes, self._next_evaluation_seed(), opponent)

    def _greedy_evaluator_spec(self) -> tuple[Any, Any] | None:
        return self.builder.greedy_evaluator(self.env_steps)


def _evaluation_of(metrics: dict[str, Any]) -> dict[str, Any]:
    """What ``train``'s ``on_evaluation`` is called with, from an iteration's metrics."""
    keys = ("iteration", "env_steps", "eval_return_mean", "eval_env_steps", "solved")
    return {key: metrics[key] for key in keys}


def _both(first: Callback, second: Callback | None) -> Callback:
    """A callback that calls ``first``, then ``second`` (if any)."""
    if second is None:
        return first

    def call(record: dict[str, Any]) -> None:
        first(record)
        second(record)

    return call


def _final_eval_of(saved: Any) -> dict[str, Any]:
    """A checkpoint's confirming evaluation (``counters["final_eval"]``), its keys checked."""
    if not isinstance(saved, dict) or not all(
        is_finite_number(saved.get(k)) for k in FINAL_EVAL_KEYS
    ):
        raise ValueError(f"its final_eval is not {{{', '.join(FINAL_EVAL_KEYS)}}}")
    mean, std, episodes, env_steps = (saved[k] for k in FINAL_EVAL_KEYS)
    values = (float(mean), float(std), int(episodes), int(env_steps))
    return dict(zip(FINAL_EVAL_KEYS, values, strict=True))
