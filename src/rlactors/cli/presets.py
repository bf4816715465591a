"""Where a fresh run's config comes from: defaults < preset < ``--config`` file < flags.

A **preset** is a tuned set of hyperparameters for one algorithm on one env, shipped with the
package as ``rlactors/presets/<algorithm>.yml``: a mapping from env id to config fields, as
RL-Zoo's ``hyperparams/<algo>.yml`` maps env ids to its hyperparameters. ``rlactors train ppo
--env LunarLander-v3`` picks ``ppo.yml``'s ``LunarLander-v3`` entry (``--no-preset`` skips
it). Only presets that ``benchmarks/presets.py`` saw solve are shipped; each entry's comment
says on how many seeds.

A ``--config FILE`` is a YAML mapping of config fields (``learning_rate: 3.0e-4``), read like a
preset: every key must be a field (a typo gets the close matches), every value must fit its
field (a wrong one is one line naming the file and the key). Flags override both.

:func:`merge_config` returns the merged fields with where each came from (``default``,
``preset``, ``config`` or ``flag``); the run's ``config.json`` records both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from rlactors.algorithms import UnknownConfigFieldError, coerce_value, config_fields
from rlactors.cli.args import CliError

#: Where the shipped presets are: package data beside this package (pyproject's package-data).
PRESET_DIR = Path(__file__).resolve().parent.parent / "presets"

#: Where a config field's value came from, lowest precedence first.
Source = Literal["default", "preset", "config", "flag"]


@dataclasses.dataclass(frozen=True)
class Preset:
    """One shipped preset.

    Attributes:
        algorithm: The algorithm's registry name, e.g. ``"ppo"``.
        env_id: The env id it is tuned for, e.g. ``"LunarLander-v3"``.
        path: The YAML file it is in.
        values: Its config fields, converted to their types.
    """

    algorithm: str
    env_id: str
    path: Path
    values: dict[str, Any]

    @property
    def name(self) -> str:
        """``ppo/LunarLander-v3``."""
        return f"{self.algorithm}/{self.env_id}"


@dataclasses.dataclass(frozen=True)
class MergedConfig:
    """A fresh run's config fields and their provenance.

    Attributes:
        values: The fields set by the preset, the config file or a flag (the config class
            fills in the defaults of the others).
        sources: Every field of the config class -> where its value came from.
        preset: The preset used, or None.
        config_file: The ``--config`` file, or None.
    """

    values: dict[str, Any]
    sources: dict[str, Source]
    preset: Preset | None
    config_file: str | None


def preset_file(algorithm: str) -> Path:
    """``rlactors/presets/<algorithm>.yml`` (it may not exist)."""
    return PRESET_DIR / f"{algorithm}.yml"


def find_preset(algorithm: str, env_id: str, config_cls: type[Any]) -> Preset | None:
    """The shipped preset of ``algorithm`` for ``env_id``, or None if there is none.

    Raises:
        CliError: The preset file is broken (a bug of the package: its tests load them all).
    """
    path = preset_file(algorithm)
    if not path.is_file():
        return None
    entries = read_yaml_mapping(path, "preset")
    if env_id not in entries:
        return None
    entry = entries[env_id]
    where = f"preset {algorithm}/{env_id} ({path})"
    if not isinstance(entry, Mapping):
        raise CliError(f"{where}: must be a mapping of config fields, got {entry!r}")
    if "env" in entry:
        raise CliError(f"{where}: names its env by its key; it cannot set env")
    return Preset(algorithm, env_id, path, coerce_fields(config_cls, entry, where))


def preset_env_ids(algorithm: str) -> list[str]:
    """The env ids that ``algorithm`` has presets for (none: an empty list)."""
    path = preset_file(algorithm)
    return list(read_yaml_mapping(path, "preset")) if path.is_file() else []


def read_yaml_mapping(path: Path, what: str) -> dict[str, Any]:
    """The YAML mapping in ``path`` (``yaml.safe_load``; an empty file is an empty mapping).

    Raises:
        CliError: The file is missing or unreadable, is not YAML, or holds no mapping.
    """
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"{what} {path}: cannot read it ({exc.strerror or exc})") from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise CliError(f"{what} {path}: not valid YAML{at} ({problem})") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise CliError(
            f"{what} {path}: must be a mapping of config fields (name: value), "
            f"got a {type(loaded).__name__}"
        )
    return {str(key): value for key, value in loaded.items()}


def coerce_fields(config_cls: type[Any], values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``values`` (from YAML) converted to the types of ``config_cls``'s fields.

    Raises:
        CliError: A key that is not a field (with close matches), or a value that does not
            fit its field; one line starting with ``where``.
    """
    fields = {f.name: f for f in config_fields(config_cls)}
    converted: dict[str, Any] = {}
    for key, value in values.items():
        name = str(key)
        if name not in fields:
            error = UnknownConfigFieldError(config_cls.__name__, name, list(fields))
            raise CliError(f"{where}: {error}")
        try:
            converted[name] = coerce_value(fields[name].annotation, value, name)
        except ValueError as exc:  # EnvSpecError is one
            raise CliError(f"{where}: {exc}") from None
    return converted


def merge_config(
    algorithm: str,
    config_cls: type[Any],
    flags: Mapping[str, Any],
    *,
    config_file: str | None = None,
    use_preset: bool = True,
) -> MergedConfig:
    """Merge defaults < preset < ``config_file`` < ``flags``.

    The preset is the one for the env the merge ends with (a flag's, else the config file's,
    else the default's): ``--env Acrobot-v1`` picks Acrobot's preset even when the config
    file names another env.

    Args:
        algorithm: The algorithm's registry name (which preset file).
        config_cls: Its config dataclass.
        flags: The fields given on the command line, already converted.
        config_file: ``--config FILE``, or None.
        use_preset: False for ``--no-preset``.

    Raises:
        CliError: A config file that is unreadable, not a mapping, has an unknown key or a
            value that does not fit.
    """
    from_file: dict[str, Any] = {}
    if config_file is not None:
        where = f"--config {config_file}"
        raw = read_yaml_mapping(Path(config_file), "--config")
        from_file = coerce_fields(config_cls, raw, where)
    defaults = {f.name: f.default for f in config_fields(config_cls)}
    env = flags.get("env", from_file.get("env", defaults.get("env")))
    env_id = _env_id(env)
    preset = None
    if use_preset and env_id is not None:
        preset = find_preset(algorithm, env_id, config_cls)
    layers: list[tuple[Source, Mapping[str, Any]]] = [
        ("preset", preset.values if preset is not None else {}),
        ("config", from_file),
        ("flag", flags),
    ]
    values: dict[str, Any] = {}
    sources: dict[str, Source] = dict.fromkeys(defaults, "default")
    for source, layer in layers:
        for name, value in layer.items():
            values[name] = value
            sources[name] = source
    return MergedConfig(values, sources, preset, config_file)


def preset_line(preset: Preset) -> str:
    """The line ``train`` starts with when it uses a preset."""
    return f"using preset {preset.name} ({_shown_path(preset.path)}); flags override it"


def _env_id(env: Any) -> str | None:
    """The Gymnasium id a config's ``env`` names (a string, or an ``EnvSpec`` of one), else
    None (a factory or class has no preset)."""
    if isinstance(env, str):
        return env
    inner = getattr(env, "env", None)
    return inner if isinstance(inner, str) else None


def _shown_path(path: Path) -> str:
    """``path`` relative to the working directory when it is under it (a source checkout),
    else absolute (an installed package)."""
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
