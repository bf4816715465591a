"""Finding what an :class:`~rlactors.envs.spec.EnvSpec` names — modules, attributes, Gymnasium
registrations, wrappers, factories' signatures — with failures that say the fix in one line.

Every function raises :class:`~rlactors.errors.EnvSpecError` (or ``UnknownEnvError``, one) with
a message that names what was asked for (``what``), what failed, and what to install or change:
the CLI prints it as the whole answer, so it must not need the traceback.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.util
import inspect
import re
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from rlactors.errors import EnvSpecError

#: The extra that installs PettingZoo, its MPE envs and the pygame its classic games import.
MULTIAGENT_EXTRA = "'rlactors[multiagent]'"

#: The extra that installs Box2D (LunarLander, BipedalWalker, CarRacing): box2d 2.3.10, the
#: release gymnasium's own box2d extra pins, has wheels, so no swig is needed to build it.
BOX2D_EXTRA = "'rlactors[box2d]'"

#: The extra that installs ale-py (the ALE/ envs, ROMs included) and the OpenCV that
#: Gymnasium's AtariPreprocessing resizes frames with.
ATARI_EXTRA = "'rlactors[atari]'"

#: The extra that installs MinAtar (the MinAtar/ envs).
MINATAR_EXTRA = "'rlactors[minatar]'"

#: Modules whose absence means a package to install, and that package's pip name.
PIP_NAMES = {
    "ale_py": ATARI_EXTRA,
    "opencv-python": ATARI_EXTRA,  # as gymnasium's DependencyNotInstalled names it
    "minatar": MINATAR_EXTRA,
    "Box2D": BOX2D_EXTRA,
    "mujoco": '"gymnasium[mujoco]"',
    "pettingzoo": MULTIAGENT_EXTRA,
    "mpe2": MULTIAGENT_EXTRA,
    "pygame": MULTIAGENT_EXTRA,
}


#: Packages whose ``"package:path/name_vN"`` ids name PettingZoo env modules.
PETTINGZOO_PACKAGES = ("pettingzoo", "mpe2")


def is_pettingzoo_id(env_id: str) -> bool:
    """Whether ``env_id`` is ``"pettingzoo:..."`` or ``"mpe2:..."`` (a PettingZoo env module)."""
    package, sep, _ = env_id.strip().partition(":")
    return bool(sep) and package in PETTINGZOO_PACKAGES


def call_factory(
    factory: Callable[..., Any], what: str, kwargs: Mapping[str, Any], *args: Any
) -> Any:
    """``factory(*args, **kwargs)``, with kwargs that do not fit its signature reported as such
    (before the call, so a TypeError raised inside the factory is never mistaken for one)."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # some builtins and C types have none
        signature = None
    if signature is not None:
        try:
            signature.bind(*args, **kwargs)
        except TypeError as exc:
            takes = ", ".join(list(signature.parameters)[len(args) :]) or "no arguments"
            raise EnvSpecError(f"{what}: {exc}; it takes: {takes}") from None
    return factory(*args, **kwargs)


def import_for(module_name: str, what: str) -> ModuleType:
    """Import ``module_name`` for ``what``; failures become one line saying what failed."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        if missing in PIP_NAMES:
            fix = f"pip install {PIP_NAMES[missing]}"
        elif module_name == missing or module_name.startswith(missing + "."):
            fix = "is it installed, or its directory on PYTHONPATH?"
        else:
            fix = f"importing {module_name} needs it: install it"
        raise EnvSpecError(
            f"{what}: cannot import {module_name}: no module named {missing!r}; {fix}"
        ) from None
    except Exception as exc:
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise EnvSpecError(
            f"{what}: importing {module_name} failed: {type(exc).__name__}: {first_line}"
        ) from exc


def attribute_of(module: ModuleType, module_name: str, qualname: str, what: str) -> Any:
    obj: Any = module
    for part in qualname.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")]
            close = difflib.get_close_matches(part, names, n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            if module_name == "__main__":
                hint += (
                    "; it was defined in a script (__main__), which only that script can load: "
                    "run from it, or move it into an importable module"
                )
            raise EnvSpecError(
                f"{what}: module {module_name} has no {qualname!r}, nor is {qualname!r} a "
                f"registered Gymnasium id{hint}"
            )
        obj = getattr(obj, part)
    return obj


def load_wrapper(name: str) -> Callable[..., Any]:
    """A wrapper by name: a class of ``gymnasium.wrappers``, or ``package.module:name``."""
    module_name, sep, qualname = name.strip().rpartition(":")
    if sep:
        loaded = attribute_of(
            import_for(module_name, f"wrapper {name!r}"), module_name, qualname, f"wrapper {name!r}"
        )
    else:
        import gymnasium.wrappers

        loaded = getattr(gymnasium.wrappers, qualname, None)
        if loaded is None:
            known = list(getattr(gymnasium.wrappers, "__all__", dir(gymnasium.wrappers)))
            close = difflib.get_close_matches(qualname, known, n=3, cutoff=0.6)
            hint = f"did you mean {' or '.join(close)}?" if close else "give 'package.module:name'"
            raise EnvSpecError(f"gymnasium.wrappers has no wrapper {qualname!r}; {hint}")
    if not callable(loaded):
        raise EnvSpecError(f"wrapper {name!r} is a {type(loaded).__name__}, not callable")
    return loaded  # type: ignore[no-any-return]


#: Namespaces of Gymnasium ids that a package registers only once imported: the module to
#: import, the function of it that registers them (None: importing does), its pip name, and
#: the extra that installs it.
LAZY_NAMESPACES: Mapping[str, tuple[str, str | None, str, str]] = {
    "ALE": ("ale_py", None, "ale-py", ATARI_EXTRA),
    "MinAtar": ("minatar.gym", "register_envs", "MinAtar", MINATAR_EXTRA),
}


def register_namespace(env_id: str) -> None:
    """Register the envs of ``env_id``'s namespace if a package registers them only when
    asked (:data:`LAZY_NAMESPACES`: ``ALE/Pong-v5``, ``MinAtar/Breakout-v1``), so those ids
    need no ``module:`` prefix and importing rlactors imports neither package.

    Raises:
        EnvSpecError: The package is not installed (the message names the extra), or
            importing it failed.
    """
    import gymnasium as gym

    namespace = env_id.partition("/")[0] if "/" in env_id else ""
    if namespace not in LAZY_NAMESPACES:
        return
    module_name, register, package, extra = LAZY_NAMESPACES[namespace]
    if importlib.util.find_spec(module_name.partition(".")[0]) is None:
        raise EnvSpecError(f"{env_id} needs {package}: pip install {extra}")
    module = import_for(module_name, f"env {env_id!r}")
    if register is not None and not any(i.startswith(namespace + "/") for i in gym.registry):
        getattr(module, register)()


def find_registration(env_id: str) -> Any:
    """The caller's registration of ``env_id`` (with a ``__main__`` entry point loaded), or
    None if the id is not registered.

    Raises:
        EnvSpecError: As :func:`register_namespace`.
    """
    import gymnasium as gym

    import rlactors.envs.gymnasium  # noqa: F401 - registers the rlactors/ toy ids

    register_namespace(env_id)
    try:
        registration = gym.spec(env_id)
    except (gym.error.Error, ValueError):
        return None
    entry = registration.entry_point
    if isinstance(entry, str) and entry.startswith("__main__:"):
        # An actor process's __main__ is not this script: send the object itself (by value).
        loaded = attribute_of(
            import_for("__main__", entry), "__main__", entry[9:], f"env {env_id!r}"
        )
        registration = dataclasses.replace(registration, entry_point=loaded)
    return registration


def require_registration(env_id: str) -> Any:
    """:func:`find_registration`, or the error that says why ``env_id`` is not registered."""
    import gymnasium as gym

    from rlactors.envs.errors import UnknownEnvError

    registration = find_registration(env_id)
    if registration is not None:
        return registration
    wanted = env_id.lower()
    close = difflib.get_close_matches(env_id, list(gym.registry), n=3, cutoff=0.6)
    close += [i for i in gym.registry if i.lower() == wanted and i not in close]
    raise UnknownEnvError(env_id, close)


def missing_dependency(name: str, message: str) -> str:
    """One line naming what to install, from gymnasium's ``DependencyNotInstalled`` message
    (``Box2D is not installed, you can install it by run `pip install swig` followed by `pip
    install "gymnasium[box2d]"```): our extra where we have one (:data:`PIP_NAMES`), else the
    gymnasium extra the message names."""
    # AtariPreprocessing's says "opencv-python package not installed, run ...".
    what = re.match(r"\s*(\S+) (?:package )?(?:is )?not installed", message)
    package = what.group(1) if what else "a dependency"
    if package in PIP_NAMES:
        return f"{name} needs {package}, which is not installed: pip install {PIP_NAMES[package]}"
    extras = re.findall(r"gymnasium\[[\w-]+\]", message)
    if extras:
        swig = "swig " if "swig" in message else ""
        return f'{name} needs {package}, which is not installed: pip install {swig}"{extras[0]}"'
    first_line = (message.strip().splitlines() or [""])[0]
    return f"{name} needs {package}, which is not installed: {first_line}"
