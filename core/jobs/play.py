"""Human play of an installed env: its scene in a Godot window, driven by the keyboard."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlgodot.core.envs.launch import prepare_project
from rlgodot.core.envs.options import split_options
from rlgodot.core.errors import RLGodotError
from rlgodot.core.jobs.config import ExportConfig, PlayConfig, config_from
from rlgodot.core.jobs.export import export_policy
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.plugin.spec import EnvSpec
from rlgodot.core.runtime.launcher.binary import find_godot
from rlgodot.core.runtime.launcher.display import has_display
from rlgodot.core.runtime.launcher.process import GodotCommand, GodotProcess


@dataclass(frozen=True)
class PlayResult:
    """How a play session ended.

    Attributes:
        exit_code: Godot's exit code (0 also when ``seconds`` ran out).
        script_errors: Godot's ``SCRIPT ERROR`` lines, if the scene's scripts failed.
    """

    exit_code: int
    script_errors: tuple[str, ...]


def play(config: PlayConfig | str, **overrides: Any) -> PlayResult:
    """Open the env in a Godot window driven by the keyboard until it closes.

    Called as ``play(PlayConfig(env="ball", seconds=4))`` or ``play("ball", seconds=4)``. With
    ``seconds`` the window is closed after that long, which counts as a normal end. With
    ``opponent`` a second instance races beside the person's, driven by an exported policy.

    Raises:
        RLGodotError: There is no display to open a window on, or no opponent policy.
    """
    config = config_from(PlayConfig, config, overrides)
    spec = get_registry().get(config.env)
    scene_options, _ = split_options(spec, config.options)
    if not has_display():
        raise RLGodotError(
            "playing needs a display and none is set (DISPLAY/WAYLAND_DISPLAY). On a headless "
            "machine run it under a virtual display: xvfb-run -a rlgodot play --env ..."
        )
    with tempfile.TemporaryDirectory(prefix="rlgodot-opponent-") as workdir:
        opponent = None
        if config.opponent or config.opponent_policy:
            opponent = opponent_policy(config, Path(workdir))
        process = GodotProcess.launch(play_command(spec, scene_options, opponent=opponent))
        try:
            code = process.wait(timeout=config.seconds)
        except subprocess.TimeoutExpired:
            code = 0  # --seconds ran out: a normal end of play
        finally:
            process.terminate()
    errors = [line for line in process.output_tail(200).splitlines() if "SCRIPT ERROR" in line]
    return PlayResult(code, tuple(errors))


def opponent_policy(config: PlayConfig, workdir: Path) -> Path:
    """The policy.json the opponent of ``config`` runs.

    ``config.opponent_policy`` if given, else the env's shipped model exported into
    ``workdir`` (``rlgodot export``).

    Raises:
        RLGodotError: ``opponent_policy`` is not a file; the env ships no model to export.
    """
    if config.opponent_policy is None:
        return export_policy(ExportConfig(env=config.env, out=workdir)).policy_json
    path = Path(config.opponent_policy).resolve()
    if not path.is_file():
        raise RLGodotError(
            f"opponent policy {path} is not a file; write one with 'rlgodot export --env "
            f"{config.env} --out DIR' and pass DIR/policy.json"
        )
    return path


def play_command(
    spec: EnvSpec,
    scene_options: Mapping[str, Any],
    godot_args: Sequence[str] = (),
    opponent: Path | None = None,
) -> GodotCommand:
    """The command line of play mode for ``spec``.

    The scene options (the spec's defaults updated by ``scene_options``) go on the command
    line: play mode has no hello to carry them. ``opponent``: a policy.json that drives a
    second instance beside the person's.
    """
    godot = find_godot()
    options = {**spec.default_options("scene"), **scene_options}
    return GodotCommand(
        godot,
        prepare_project(spec, godot),
        spec.scene_res_path,
        physics_hz=spec.physics_hz,
        play=True,
        godot_args=godot_args,
        user_args=(
            f"--rlgodot-options={json.dumps(options)}",
            f"--rlgodot-action-repeat={spec.action_repeat}",
            f"--rlgodot-max-episode-steps={spec.max_episode_steps}",
            *(() if opponent is None else (f"--rlgodot-opponent={Path(opponent).resolve()}",)),
        ),
    )
