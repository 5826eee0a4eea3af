"""Training settings in a YAML file, RL Zoo style (``rlgodot train --config FILE``).

One top-level key per env id; under it the :class:`TrainConfig` settings by field name
(``algo``, ``timesteps``, ``n_envs``, ...), the env options under ``options``, and every other
key is a hyperparameter of the algorithm (``n_steps: 256``, ``learning_rate: lin_0.0003``)::

    ball-v0:
      algo: ppo
      timesteps: 100000
      n_envs: 16
      options:
        target_radius: 0.3
      n_steps: 256

``rlgodot train --env ball --print-config`` prints the plugin's defaults in this form; values
given on the command line override the file's.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from rlgodot.core.errors import RLGodotError
from rlgodot.core.jobs.config import TrainConfig
from rlgodot.core.jobs.models import plain
from rlgodot.core.jobs.train import config_values, resolve_training, run_config
from rlgodot.core.plugin.registry import get_registry

# Fields that are not written to a config file: the env is its key, the rest is per call.
_NOT_IN_FILE = ("env", "options", "hyperparameters", "resume", "init_from")


def defaults_yaml(env: str, algo: str = "ppo") -> str:
    """The plugin's training defaults for ``env`` and ``algo`` as a ``--config`` file."""
    config = TrainConfig(env=env, algo=algo)
    spec, defaults, hyperparameters = resolve_training(config)
    settings = {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(TrainConfig) if f.name not in _NOT_IN_FILE
    }
    settings.update(timesteps=defaults.total_timesteps, n_envs=defaults.n_envs,
                    n_procs=defaults.n_procs, options=spec.default_options())
    body = yaml.safe_dump({spec.id: plain({**settings, **hyperparameters})}, sort_keys=False)
    return f"# rlgodot train --config FILE; command-line flags override these values\n{body}"


def load_train_file(path: Path, env: str | None = None) -> dict[str, Any]:
    """The :class:`TrainConfig` values in a ``--config`` file (for ``env``, or its only env).

    Raises:
        RLGodotError: Unreadable file, or it has several envs and ``env`` names none of them.
    """
    try:
        content = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise RLGodotError(f"cannot read config file {path}: {exc}; "
                           "write one with 'rlgodot train --env NAME --print-config'") from exc
    if not isinstance(content, dict) or not content:
        raise RLGodotError(f"config file {path} has no 'ENV_ID:' section; "
                           "write one with 'rlgodot train --env NAME --print-config'")
    if env is None and len(content) == 1:
        env = next(iter(content))
    ids = {get_registry().get(str(key)).id: key for key in content}
    key = ids.get(get_registry().get(env).id) if env else None
    if key is None:
        raise RLGodotError(f"config file {path} has sections {', '.join(map(str, content))}; "
                           "pick one with --env")
    section = dict(content[key] or {})
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    hyperparameters = {k: v for k, v in section.items() if k not in names}
    values = config_values({k: v for k, v in section.items() if k in names})
    values["hyperparameters"] = {**values.get("hyperparameters", {}), **hyperparameters}
    values["env"] = str(key)
    return values


def train_config(given: dict[str, Any], config_file: Path | None = None) -> TrainConfig:
    """A :class:`TrainConfig` from the values given on the command line and a config file.

    ``given`` holds only the values the user gave; they override the file's (env options and
    hyperparameters are merged name by name). The env may come from the file or, for
    ``resume``, from the run.

    Raises:
        RLGodotError: No env anywhere.
    """
    values: dict[str, Any] = {}
    if config_file is not None:
        values = load_train_file(config_file, given.get("env"))
    for name in ("options", "hyperparameters"):
        if name in given:
            given = {**given, name: {**values.get(name, {}), **given[name]}}
    values.update(given)
    if not values.get("env") and values.get("resume") is not None:
        values["env"] = run_config(Path(values["resume"])).env
    if not values.get("env"):
        raise RLGodotError("no env given; pass --env NAME (see 'rlgodot list-envs')")
    return TrainConfig(**values)
