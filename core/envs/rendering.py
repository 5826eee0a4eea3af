"""Gymnasium's render modes for the env adapters: the settings, the metadata, the warning.

``"human"`` opens a Godot window that shows every instance at real time (``render()`` returns
None: the window draws itself); ``"rgb_array"`` renders each instance into its own offscreen view
and ``render()`` returns its frames. Both run Godot on a display (a private Xvfb when there is
none, see :class:`~rlgodot.core.runtime.settings.LaunchSettings`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym

from rlgodot.core.plugin.spec import EnvSpec
from rlgodot.core.runtime.settings import RENDER_MODES, LaunchSettings

CLASS_METADATA: dict[str, Any] = {"render_modes": list(RENDER_MODES)}
"""What an env class declares; each env adds its ``render_fps`` (see :func:`render_metadata`)."""


def with_render_mode(settings: LaunchSettings | None, render_mode: str | None) -> LaunchSettings:
    """``settings`` (default ones if None) with ``render_mode``, if given, replacing theirs.

    Raises:
        InvalidOption: ``render_mode`` is not one of :data:`RENDER_MODES`.
    """
    settings = settings or LaunchSettings()
    if render_mode is None or render_mode == settings.render_mode:
        return settings
    return dataclasses.replace(settings, render_mode=render_mode)  # type: ignore[arg-type]


def render_metadata(spec: EnvSpec) -> dict[str, Any]:
    """An env's metadata: the render modes and ``render_fps``, one frame per decision."""
    return {**CLASS_METADATA, "render_fps": spec.physics_hz / spec.action_repeat}


def warn_no_render_mode(spec: EnvSpec) -> None:
    """Warn, as Gymnasium's own envs do, that ``render()`` without a render mode does nothing."""
    gym.logger.warn(
        f"{spec.id}: render() was called but the env has no render_mode; create it with "
        f"render_mode='rgb_array' (frames) or 'human' (a window), e.g. "
        f"gymnasium.make('rlgodot/{spec.id}', render_mode='rgb_array')"
    )
