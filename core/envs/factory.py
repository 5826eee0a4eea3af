"""``make_env`` / ``make_vec_env``: the short way from an env name to a running env."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rlgodot.core.envs.gym_env import GodotEnv
from rlgodot.core.envs.sb3_vec_env import GodotVecEnv
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.runtime.settings import LaunchSettings


def make_env(
    env: str,
    options: Mapping[str, Any] | None = None,
    settings: LaunchSettings | None = None,
    render_mode: str | None = None,
) -> GodotEnv:
    """Create a Gymnasium env for one instance of an installed env (``"ball"``, ``"ball-v0"``).

    ``render_mode`` (``"human"``, ``"rgb_array"``) overrides ``settings.render_mode``.
    """
    return GodotEnv(
        get_registry().get(env), options=options, settings=settings, render_mode=render_mode
    )


def make_vec_env(
    env: str,
    n_envs: int = 1,
    n_procs: int = 1,
    options: Mapping[str, Any] | None = None,
    seed: int | None = None,
    settings: LaunchSettings | None = None,
    render_mode: str | None = None,
) -> GodotVecEnv:
    """Create an SB3 VecEnv of ``n_envs`` instances spread over ``n_procs`` Godot processes.

    ``render_mode`` (``"human"``, ``"rgb_array"``) overrides ``settings.render_mode``.
    """
    settings = settings or LaunchSettings()
    if n_procs != settings.n_procs:
        settings = LaunchSettings(**{**settings.__dict__, "n_procs": n_procs})
    return GodotVecEnv(
        get_registry().get(env),
        n_envs=n_envs,
        options=options,
        seed=seed,
        settings=settings,
        render_mode=render_mode,
    )
