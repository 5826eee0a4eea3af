"""From an :class:`EnvSpec` to a running, connected Godot session.

The one place where env knowledge (the spec and its scene options) meets the runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rlgodot.core.plugin.spec import EnvSpec
from rlgodot.core.runtime.launcher.binary import GodotBinary, find_godot
from rlgodot.core.runtime.launcher.project import addon_dir, assemble_project
from rlgodot.core.runtime.protocol.messages import Autoreset, SessionConfig
from rlgodot.core.runtime.session import GodotSession
from rlgodot.core.runtime.settings import LaunchSettings


def prepare_project(spec: EnvSpec, godot: GodotBinary) -> Path:
    """Assemble (or reuse from the cache) the runnable Godot project for ``spec``'s plugin."""
    return assemble_project(
        addon_dir(),
        {spec.mount: Path(spec.godot_dir)},
        spec.project_settings,
        godot,
    )


def launch_session(
    spec: EnvSpec,
    n_envs: int,
    autoreset: Autoreset,
    scene_options: Mapping[str, Any],
    settings: LaunchSettings,
) -> GodotSession:
    """Start Godot for ``n_envs`` instances of ``spec``'s scene and complete the handshake."""
    godot = settings.godot or find_godot()
    project = prepare_project(spec, godot)
    config = SessionConfig(
        n_envs=n_envs,
        action_repeat=spec.action_repeat,
        max_episode_steps=spec.max_episode_steps,
        autoreset=autoreset,
        realtime_factor=settings.realtime_factor,
        options={**spec.default_options("scene"), **scene_options},
        spin_usec=settings.resolved_spin_usec(),
    )
    return GodotSession.launch(
        godot,
        project,
        spec.scene_res_path,
        n_envs=n_envs,
        n_procs=settings.n_procs,
        config=config,
        expect_state_names=spec.state_names,
        expect_action_size=spec.action_size,
        physics_hz=spec.physics_hz,
        headless=settings.headless,
        pin_cpus=settings.pin_cpus,
        timeout=settings.step_timeout,
    )
