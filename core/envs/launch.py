"""From an :class:`EnvSpec` to a running, connected Godot session.

The one place where env knowledge (the spec and its scene options) meets the runtime. With
``LaunchSettings.attach`` the session attaches to a game that is already running instead of
launching Godot (no project is prepared, no process started).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rlgodot.core.errors import LayoutMismatch
from rlgodot.core.plugin.spec import EnvSpec
from rlgodot.core.runtime.launcher.addon_install import ensure_addon
from rlgodot.core.runtime.launcher.binary import GodotBinary, find_godot
from rlgodot.core.runtime.launcher.process import GodotCommand
from rlgodot.core.runtime.launcher.project import addon_dir, assemble_project, import_project
from rlgodot.core.runtime.protocol.messages import Autoreset, SessionConfig
from rlgodot.core.runtime.session import AsyncGodotSession, GodotSession
from rlgodot.core.runtime.settings import LaunchSettings


def prepare_project(spec: EnvSpec, godot: GodotBinary) -> Path:
    """The folder of the runnable Godot project for ``spec``, ready to launch.

    A ``godot_dir`` spec gets a project assembled around its scene folder (or reused from the
    cache). A ``project`` spec gets its own project, run as it is, after the addon was made
    present (installed if missing) and the project imported if its files changed since the
    last import.

    Raises:
        ProjectError: The project could not be assembled, installed into or imported.
        AddonVersionMismatch: The project's addon is another version than this package; the
            message says to run ``rlgodot addon install <project>``.
    """
    if spec.project is not None:
        root = Path(spec.project).expanduser().resolve()
        ensure_addon(root)
        import_project(root, godot)
        return root
    assert spec.godot_dir is not None and spec.mount is not None  # checked by EnvSpec
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
    """Start Godot for ``n_envs`` instances of ``spec``'s scene and complete the handshake.

    With ``settings.attach``: attach to the game running on that port instead.
    """
    arguments = _session_arguments(spec, n_envs, autoreset, scene_options, settings)
    if settings.attach is not None:
        session = GodotSession.attach(settings.attach, **arguments)
    else:
        session = GodotSession.launch(**_launch_arguments(spec, settings), **arguments)
    try:
        check_option_schema(spec, session.info.option_schema)
    except BaseException:
        session.close()
        raise
    return session


async def launch_async_session(
    spec: EnvSpec,
    n_envs: int,
    autoreset: Autoreset,
    scene_options: Mapping[str, Any],
    settings: LaunchSettings,
) -> AsyncGodotSession:
    """:func:`launch_session` for asyncio code."""
    arguments = _session_arguments(spec, n_envs, autoreset, scene_options, settings)
    if settings.attach is not None:
        session = await AsyncGodotSession.attach(settings.attach, **arguments)
    else:
        session = await AsyncGodotSession.launch(**_launch_arguments(spec, settings), **arguments)
    try:
        assert session.info is not None  # launch() completed the hello
        check_option_schema(spec, session.info.option_schema)
    except BaseException:
        await session.close()
        raise
    return session


def _launch_arguments(spec: EnvSpec, settings: LaunchSettings) -> dict[str, Any]:
    """What only a launch needs: the Godot command, the processes, pinning, a private display.

    An env whose observation has an image renders its cameras: never headless, on a private
    Xvfb unless ``settings.display`` names a display (see ``LaunchSettings.choose_display``).

    Raises:
        DisplayUnavailable: ``settings.render_mode`` or the env's cameras need a display and
            there is none.
    """
    cameras = spec.image_space is not None
    display, private_display = settings.choose_display(cameras)
    godot = settings.godot or find_godot()
    command = GodotCommand(
        godot,
        prepare_project(spec, godot),
        spec.scene_res_path,
        physics_hz=spec.physics_hz,
        headless=settings.headless and settings.render_mode is None and not cameras,
        display=display,
    )
    return {
        "command": command,
        "n_procs": settings.n_procs,
        "pin_cpus": settings.session_pin_cpus,
        "private_display": private_display,
    }


def _session_arguments(
    spec: EnvSpec,
    n_envs: int,
    autoreset: Autoreset,
    scene_options: Mapping[str, Any],
    settings: LaunchSettings,
) -> dict[str, Any]:
    """The session arguments of a launch and an attach alike: the hello and the deadline."""
    config = SessionConfig(
        n_envs=n_envs,
        action_repeat=spec.action_repeat,
        max_episode_steps=spec.max_episode_steps,
        autoreset=autoreset,
        realtime_factor=settings.session_realtime_factor,
        options={**spec.default_options("scene"), **scene_options},
        spin_usec=settings.resolved_spin_usec(),
        script_errors=settings.script_errors,
        viewer=settings.viewer,
        view_size=settings.render_size,
        view_hud=settings.render_hud,
        policy=None if settings.policy is None else str(Path(settings.policy).resolve()),
        physics_hz=spec.physics_hz,
    )
    return {
        "n_envs": n_envs,
        "config": config,
        "expect_state_names": spec.state_names,
        "expect_action_size": spec.action_size,
        "expect_image_shape": spec.image_shape,
        "timeout": settings.step_timeout,
    }


def check_option_schema(spec: EnvSpec, schema: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse a scene whose ``@export`` options disagree with the spec's :class:`Option` ranges.

    Python checks ranges before launch and the scene checks them again when it applies them;
    both must mean the same range, so the spec is the one place a user reads it.

    Raises:
        LayoutMismatch: A scene option of the spec is not declared by the scene, or its
            range differs; the message names both sides.
    """
    for name, option in spec.options.items():
        if option.target != "scene":
            continue
        declared = schema.get(name)
        if declared is None:
            raise LayoutMismatch(
                f"{spec.id}: option {name!r} is a scene option of the EnvSpec, but the scene "
                f"{spec.scene_res_path} has no @export property of that name"
            )
        scene_range = (declared.get("min"), declared.get("max"))
        spec_range = (option.low, option.high)
        if scene_range != spec_range:
            raise LayoutMismatch(
                f"{spec.id}: option {name!r} has range {_range_text(*spec_range)} in the EnvSpec "
                f"but @export_range {_range_text(*scene_range)} in {spec.scene_res_path}; make "
                "them equal"
            )


def _range_text(low: float | None, high: float | None) -> str:
    return f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
