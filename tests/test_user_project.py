"""An env in the user's own Godot project (``EnvSpec(project=..., scene="res://...")``).

A small Godot project is created outside the repository (a ``project.godot`` with a name and
nothing else, plus a scene whose typed root script extends ``RLAgent``), and launched as it is:
the addon is installed on first use, the project imported once and again only when its files
change, N instances step, the conformance suite passes; and an addon of another version is
refused, before launch (``plugin.cfg``) and at hello (the server's name).
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from rlgodot.core import __version__
from rlgodot.core.envs.launch import prepare_project
from rlgodot.core.envs.sb3_vec_env import GodotVecEnv
from rlgodot.core.errors import AddonVersionMismatch, PluginError
from rlgodot.core.jobs.conformance import CHECKS, run_spec_check
from rlgodot.core.plugin import Decoder, EnvSpec, Option, hookimpl
from rlgodot.core.plugin.registry import Registry
from rlgodot.core.runtime.launcher.addon_install import installed_addon_version
from rlgodot.core.runtime.launcher.project import IMPORT_KEY_FILE, import_project

REPO = Path(__file__).resolve().parents[1]

AGENT = """class_name Walker
extends RLAgent
## A point on [-1, 1] pushed by the action; leaving the line ends the episode.

## Distance per second at full push.
@export_range(0.0, 2.0) var speed: float

var _x: float = 0.0
var _push: float = 0.0


func state_names() -> PackedStringArray:
	return PackedStringArray(["x", "push"])


func action_size() -> int:
	return 1


func reset_episode() -> void:
	_x = rng.randf_range(-0.5, 0.5)
	_push = 0.0


func apply_action(action: PackedFloat32Array) -> void:
	_push = clampf(action[0], -1.0, 1.0)


func get_state() -> PackedFloat32Array:
	return PackedFloat32Array([_x, _push])


func human_action() -> PackedFloat32Array:
	return PackedFloat32Array([Input.get_axis("ui_left", "ui_right")])


func _physics_process(delta: float) -> void:
	if is_episode_terminated():
		return
	_x += _push * speed * delta
	if absf(_x) > 1.0:
		_x = clampf(_x, -1.0, 1.0)
		end_episode("fell")
"""

SCENE = """[gd_scene load_steps=2 format=3]

[ext_resource type="Script" path="res://rl/walker.gd" id="1"]

[node name="Walker" type="Node"]
script = ExtResource("1")
"""


class WalkerDecoder(Decoder):
    """Observation = the raw state; reward = staying near the middle."""

    def observations(self, states: np.ndarray) -> np.ndarray:
        return np.clip(states, -1.0, 1.0).astype(np.float32)

    def rewards(self, prev_states, states, terminated, truncated) -> np.ndarray:
        return (1.0 - np.abs(states[:, 0])).astype(np.float32)


def walker_spec(project: Path, **changes: Any) -> EnvSpec:
    fields: Mapping[str, Any] = {
        "id": "walker-v0",
        "description": "Stay on the line (a user's own Godot project).",
        "project": project,
        "scene": "res://rl/walker.tscn",
        "state_names": ("x", "push"),
        "action_size": 1,
        "observation_space": gym.spaces.Box(-1.0, 1.0, (2,), np.float32),
        "action_space": gym.spaces.Box(-1.0, 1.0, (1,), np.float32),
        "make_decoder": WalkerDecoder,
        "max_episode_steps": 40,
        "action_repeat": 2,
        "options": {"speed": Option(1.0, "distance per second at full push", low=0.0, high=2.0)},
    }
    return EnvSpec(**{**fields, **changes})


def make_game(root: Path) -> Path:
    """A fresh Godot project as a user has it: a name, a scene, a script; no rlgodot."""
    (root / "rl").mkdir(parents=True)
    (root / "project.godot").write_text(
        'config_version=5\n\n[application]\n\nconfig/name="my game"\n'
    )
    (root / "rl" / "walker.gd").write_text(AGENT)
    (root / "rl" / "walker.tscn").write_text(SCENE)
    return root


def launch_and_step(spec: EnvSpec, n_envs: int, steps: int = 60) -> float:
    """Seconds from creating the env to its first observations; then step it and close."""
    start = time.perf_counter()
    env = GodotVecEnv(spec, n_envs=n_envs, seed=0)
    try:
        obs = env.reset()
        seconds = time.perf_counter() - start
        assert obs.shape == (n_envs, 2)
        ended = 0
        for _ in range(steps):
            obs, rewards, dones, _ = env.step(np.ones((n_envs, 1), np.float32))
            assert np.all(np.isfinite(rewards)) and spec.observation_space.contains(obs[0])
            ended += int(dones.sum())
        assert ended >= n_envs, "every instance walks off the line within 60 steps"
    finally:
        env.close()
    return seconds


@pytest.fixture(scope="module")
def game(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_game(tmp_path_factory.mktemp("user") / "game")
    assert not root.resolve().is_relative_to(REPO)
    return root


@pytest.fixture(scope="module")
def launches(game: Path, godot_binary) -> dict[str, float]:
    """The first launch (installs the addon and imports) and a second one (neither), timed."""
    spec = walker_spec(game)
    cold = launch_and_step(spec, n_envs=4)
    key = (game / ".godot" / IMPORT_KEY_FILE).stat().st_mtime_ns
    warm = launch_and_step(spec, n_envs=4)
    print(f"\nuser project launch to first observations: cold {cold:.2f} s, warm {warm:.2f} s")
    assert (game / ".godot" / IMPORT_KEY_FILE).stat().st_mtime_ns == key, "re-imported"
    return {"cold": cold, "warm": warm}


# ------------------------------------------------------------------ the spec


def test_a_spec_names_exactly_one_scene_source(tmp_path):
    with pytest.raises(PluginError, match="exactly one of godot_dir .* and project"):
        walker_spec(tmp_path, godot_dir=tmp_path, mount="walker")
    with pytest.raises(PluginError, match="exactly one of godot_dir"):
        walker_spec(None)
    with pytest.raises(PluginError, match="res:// path to a .tscn or .scn"):
        walker_spec(tmp_path, scene="rl/walker.tscn")
    with pytest.raises(PluginError, match="set the settings in its project.godot"):
        walker_spec(tmp_path, project_settings={"physics": {"common/x": "1"}})
    assert walker_spec(tmp_path).scene_res_path == "res://rl/walker.tscn"


def test_the_registry_checks_the_project_and_its_scene(tmp_path):
    game = make_game(tmp_path / "game")

    def registry_of(spec: EnvSpec) -> Registry:
        class Plugin:
            @hookimpl
            def rlgodot_env_specs(self) -> list[EnvSpec]:
                return [spec]

        registry = Registry(load_entry_points=False)
        registry.register(Plugin(), name="mygame")
        return registry

    assert registry_of(walker_spec(game)).get("walker").scene_file == game / "rl/walker.tscn"
    with pytest.raises(PluginError, match=r"scene res://rl/gone.tscn does not exist"):
        registry_of(walker_spec(game, scene="res://rl/gone.tscn")).specs()
    with pytest.raises(PluginError, match="is not a Godot project"):
        registry_of(walker_spec(tmp_path)).specs()


# ------------------------------------------------------------------ launching it


def test_first_launch_installs_the_addon_and_imports(game, launches):
    assert installed_addon_version(game) == __version__
    assert "res://addons/rlgodot/plugin.cfg" in (game / "project.godot").read_text()
    assert (game / ".godot" / IMPORT_KEY_FILE).is_file()
    assert "Walker" in (game / ".godot" / "global_script_class_cache.cfg").read_text()
    assert (game / "rl").is_dir() and not (game / "envs").exists(), "the project runs as it is"


def test_a_warm_launch_skips_the_import(game, launches, godot_binary):
    assert not import_project(game, godot_binary)
    assert launches["warm"] < launches["cold"] / 2, launches


def test_instances_over_two_processes(game, launches):
    from rlgodot.core.runtime.settings import LaunchSettings

    env = GodotVecEnv(walker_spec(game), n_envs=6, seed=1, settings=LaunchSettings(n_procs=2))
    try:
        obs = env.reset()
        for _ in range(50):
            obs, _, _, _ = env.step(np.full((6, 1), -1.0, np.float32))
        assert obs.shape == (6, 2) and len({tuple(o) for o in obs}) > 1
    finally:
        env.close()


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_conformance(game, launches, check):
    result = run_spec_check(walker_spec(game), check, steps=300)
    assert result.passed, result.detail


def test_a_changed_scene_is_imported_again(game, launches, godot_binary):
    key_file = game / ".godot" / IMPORT_KEY_FILE
    before = key_file.read_text()
    ignored = game / "notes"  # Godot's importer skips a folder holding .gdignore; so do we
    ignored.mkdir()
    (ignored / ".gdignore").write_text("")
    (ignored / "todo.txt").write_text("train it\n")
    assert not import_project(game, godot_binary)
    scene = game / "rl" / "walker.tscn"
    scene.write_text(SCENE.replace('[node name="Walker"', '[node name="Walker2"'))
    assert import_project(game, godot_binary)
    assert key_file.read_text() != before
    assert not import_project(game, godot_binary)
    launch_and_step(walker_spec(game), n_envs=2)


# ------------------------------------------------------------------ versions


def test_prepare_refuses_an_addon_of_another_version(game, launches, tmp_path, godot_binary):
    copy = shutil.copytree(game, tmp_path / "old game")
    cfg = copy / "addons/rlgodot/plugin.cfg"
    cfg.write_text(cfg.read_text().replace(f'version="{__version__}"', 'version="0.0.1"'))
    with pytest.raises(AddonVersionMismatch) as info:
        prepare_project(walker_spec(copy), godot_binary)
    message = str(info.value)
    assert f"is version 0.0.1, this Python package is {__version__}" in message
    assert f"'rlgodot addon install {copy.resolve()}'" in message


def test_hello_refuses_a_server_of_another_version(game, launches, tmp_path, godot_binary):
    """Only SERVER_NAME differs (plugin.cfg agrees): the check at hello catches it, and two
    launches racing to import the changed project import it once."""
    copy = shutil.copytree(game, tmp_path / "patched game")
    protocol = copy / "addons/rlgodot/net/protocol.gd"
    text = protocol.read_text()
    name = f'"rlgodot-godot/{__version__}"'
    assert name in text
    protocol.write_text(text.replace(name, '"rlgodot-godot/0.0.1"'))
    results: list[bool] = []
    racers = [threading.Thread(target=lambda: results.append(import_project(copy, godot_binary)))
              for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(results) == [False, True]
    with pytest.raises(AddonVersionMismatch) as info:
        launch_and_step(walker_spec(copy), n_envs=2)
    message = str(info.value)
    assert "the Godot addon at 127.0.0.1:" in message
    assert f"is rlgodot 0.0.1, this Python package is {__version__}" in message
    assert f"'rlgodot addon install {copy.resolve()}' (or install rlgodot==0.0.1)" in message
