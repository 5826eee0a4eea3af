"""Find env plugins (``rlgodot`` entry points) and look up their env specs.

Host side of the pluggy contract in :mod:`rlgodot.core.plugin.hookspecs`. A plugin that fails to
import does not take the others down: it is recorded in :attr:`Registry.errors` (shown by
``rlgodot doctor`` and ``rlgodot list-envs``) and named when someone asks for its env.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import gymnasium as gym
import pluggy

from rlgodot.core.errors import EnvNotFound, PluginError
from rlgodot.core.plugin import hookspecs
from rlgodot.core.plugin.spec import ENV_ID_PATTERN, EnvSpec, observation_space_problem

ENTRY_POINT_GROUP = "rlgodot"


class Registry:
    """The installed env plugins and their specs.

    Args:
        load_entry_points: Discover plugins in the ``rlgodot`` entry-point group.
    """

    def __init__(self, load_entry_points: bool = True) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._specs: dict[str, EnvSpec] | None = None
        self._owners: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        if load_entry_points:
            self._load_entry_points()

    def register(self, plugin: ModuleType | object, name: str | None = None) -> None:
        """Register a plugin object (usually a module with ``@hookimpl`` functions)."""
        self._pm.register(plugin, name=name)
        self._pm.check_pending()
        self._specs = None

    def plugin_names(self) -> list[str]:
        """Names of the registered plugins."""
        return sorted(name for name, _ in self._pm.list_name_plugin() if name)

    def specs(self) -> dict[str, EnvSpec]:
        """All env specs by id, validated."""
        if self._specs is None:
            self._specs = self._collect_specs()
        return self._specs

    def get(self, name: str) -> EnvSpec:
        """Resolve ``ball``, ``ball-v0`` or ``rlgodot/ball-v0`` to a spec.

        A name without a version picks the highest installed version.

        Raises:
            EnvNotFound: No installed plugin provides it; the message lists what is installed.
        """
        specs = self.specs()
        key = name.removeprefix(f"{ENTRY_POINT_GROUP}/")
        if key in specs:
            return specs[key]
        versions = [spec for spec in specs.values() if spec.name == key]
        if versions:
            return max(versions, key=lambda spec: spec.version)
        known = ", ".join(sorted(specs)) or "none"
        hint = ""
        if self.errors:
            hint = " Plugins that failed to load: " + "; ".join(
                f"{plugin}: {err}" for plugin, err in self.errors.items()
            )
        raise EnvNotFound(
            f"no installed env plugin provides {name!r}. Installed envs: {known}. "
            f"Install the plugin's package (pip install ...), or run 'rlgodot list-envs'.{hint}"
        )

    def owner(self, env_id: str) -> str:
        """The name of the plugin that provides ``env_id``."""
        self.specs()
        return self._owners[env_id]

    def _load_entry_points(self) -> None:
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if self._pm.has_plugin(entry_point.name):
                continue
            dist = entry_point.dist.name if entry_point.dist else "unknown distribution"
            try:
                plugin = entry_point.load()
                self._pm.register(plugin, name=entry_point.name)
            except Exception as exc:  # a broken plugin must not break the others
                self.errors[entry_point.name] = (
                    f"entry point {entry_point.value!r} of distribution {dist!r} failed to "
                    f"load: {type(exc).__name__}: {exc}. Reinstall or uninstall {dist}."
                )
        self._pm.check_pending()

    def _collect_specs(self) -> dict[str, EnvSpec]:
        specs: dict[str, EnvSpec] = {}
        self._owners = {}
        for impl in self._pm.hook.rlgodot_env_specs.get_hookimpls():
            plugin_name = impl.plugin_name
            try:
                provided = impl.function()
            except Exception as exc:
                self.errors[plugin_name] = f"rlgodot_env_specs() raised {type(exc).__name__}: {exc}"
                continue
            for spec in _as_list(provided, plugin_name):
                _validate_spec(spec, plugin_name)
                if spec.id in specs:
                    raise PluginError(
                        f"env id {spec.id!r} is provided by both plugin "
                        f"{self._owners[spec.id]!r} and plugin {plugin_name!r}; uninstall one"
                    )
                specs[spec.id] = spec
                self._owners[spec.id] = plugin_name
        return dict(sorted(specs.items()))


def _as_list(provided: Any, plugin_name: str) -> list[EnvSpec]:
    if not isinstance(provided, Iterable):
        raise PluginError(
            f"plugin {plugin_name!r}: rlgodot_env_specs() must return a list of EnvSpec, "
            f"got {type(provided).__name__}"
        )
    return list(provided)


def _validate_spec(spec: Any, plugin_name: str) -> None:
    """Check a spec once at load time, so envs fail with a plugin-named message, not later.

    Raises:
        PluginError: Naming the plugin, the env and the first problem found.
    """
    problem = (
        f"rlgodot_env_specs() returned a {type(spec).__name__}, not an EnvSpec"
        if not isinstance(spec, EnvSpec)
        else _layout_problem(spec) or _files_problem(spec)
    )
    if problem:
        raise PluginError(f"plugin {plugin_name!r}, env {getattr(spec, 'id', '?')!r}: {problem}")


def _layout_problem(spec: EnvSpec) -> str | None:
    """What is wrong with the id, spaces, layout or stepping numbers of a spec, if anything."""
    space_problem = observation_space_problem(spec.observation_space)
    checks = [
        (
            ENV_ID_PATTERN.match(spec.id) is not None,
            "the id must look like 'name-v0' (lowercase letters, digits, '-', '_')",
        ),
        (space_problem is None, space_problem or ""),
        (
            isinstance(spec.action_space, gym.spaces.Box | gym.spaces.Discrete),
            f"action_space must be a Box or Discrete, got {spec.action_space}",
        ),
        (
            spec.action_size >= 1 and bool(spec.state_names),
            "action_size must be >= 1 and state_names non-empty",
        ),
        (len(set(spec.state_names)) == len(spec.state_names), "state_names must be unique"),
        (
            spec.max_episode_steps >= 0 and spec.action_repeat >= 1 and spec.physics_hz >= 1,
            "need max_episode_steps >= 0, action_repeat >= 1, physics_hz >= 1",
        ),
    ]
    return next((message for ok, message in checks if not ok), None)


def _files_problem(spec: EnvSpec) -> str | None:
    """What is missing of the files a spec names (project, scene, shipped model), if anything."""
    scene = spec.scene_file
    if spec.project is not None:
        if not (Path(spec.project) / "project.godot").is_file():
            return (
                f"its project {spec.project} is not a Godot project (no project.godot); point "
                "project= at the folder that holds project.godot"
            )
        if not scene.is_file():
            return f"its scene {spec.scene} does not exist in the project ({scene})"
    elif not scene.is_file():
        return f"its Godot scene {scene} does not exist (is the godot/ folder package data?)"
    if spec.model is not None and not Path(spec.model).is_file():
        return f"its shipped model {spec.model} does not exist"
    return None


_REGISTRY: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry of installed plugins (loaded on first use)."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = Registry()
    return _REGISTRY


def list_envs() -> list[EnvSpec]:
    """All installed env specs, sorted by id."""
    return list(get_registry().specs().values())
