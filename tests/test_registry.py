"""The pluggy registry: discovery, name resolution, validation, and a real third-party plugin."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
from rlgodot_ball.env import BALL

from rlgodot.core.errors import EnvNotFound, PluginError
from rlgodot.core.plugin.hookspecs import hookimpl
from rlgodot.core.plugin.registry import Registry, get_registry

HERE = Path(__file__).parent


def test_bundled_plugin_found_through_entry_point():
    registry = get_registry()
    assert "ball" in registry.plugin_names()
    assert {"ball-v0", "ball-discrete-v0"} <= set(registry.specs())
    assert registry.owner("ball-v0") == "ball"


@pytest.mark.parametrize("name", ["ball", "ball-v0", "rlgodot/ball-v0"])
def test_name_resolution(name):
    assert get_registry().get(name).id == "ball-v0"


def test_unknown_env_lists_installed_ones():
    with pytest.raises(EnvNotFound, match="Installed envs: .*ball-v0"):
        get_registry().get("no-such-env")


def _plugin(*specs, raises=None):
    @hookimpl
    def rlgodot_env_specs():
        if raises:
            raise raises
        return list(specs)

    return SimpleNamespace(rlgodot_env_specs=rlgodot_env_specs)


def test_duplicate_ids_are_refused():
    registry = Registry(load_entry_points=False)
    registry.register(_plugin(BALL), name="one")
    registry.register(_plugin(BALL), name="two")
    with pytest.raises(PluginError, match="provided by both plugin"):
        registry.specs()


def test_broken_plugin_does_not_hide_others():
    registry = Registry(load_entry_points=False)
    registry.register(_plugin(BALL), name="good")
    registry.register(_plugin(raises=RuntimeError("boom")), name="bad")
    assert list(registry.specs()) == ["ball-v0"]
    assert "boom" in registry.errors["bad"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "Ball"}, "name-v0"),
        ({"observation_space": gym.spaces.Discrete(3)}, "float32 gymnasium Box"),
        ({"scene": "missing.tscn"}, "does not exist"),
        ({"state_names": ("a", "a")}, "unique"),
        ({"action_space": gym.spaces.MultiBinary(2)}, "Box or Discrete"),
    ],
)
def test_invalid_specs_are_named(change, message):
    from dataclasses import replace

    registry = Registry(load_entry_points=False)
    # without its observation, which EnvSpec itself checks against these fields at creation
    registry.register(_plugin(replace(BALL, observation=None, **change)), name="faulty")
    with pytest.raises(PluginError, match=message) as info:
        registry.specs()
    assert "plugin 'faulty'" in str(info.value)


def test_training_options_must_name_options_of_the_env():
    from dataclasses import replace

    from rlgodot.core.plugin import TrainDefaults

    train = {"ppo": TrainDefaults(total_timesteps=1000, options={"curriculum": 0.5})}
    with pytest.raises(PluginError, match=r"train\['ppo'\]\.options names curriculum"):
        replace(BALL, train=train)
    good = TrainDefaults(total_timesteps=1000, options={"time_penalty": 0.0})
    assert good.training_options({"success_bonus": 2.0}) == {
        "time_penalty": 0.0, "success_bonus": 2.0}
    assert good.training_options({"time_penalty": 0.5}) == {"time_penalty": 0.5}


def test_spec_defaults():
    assert BALL.default_options("reward") == {
        "progress_weight": 1.0, "time_penalty": 0.01, "success_bonus": 1.0
    }
    assert BALL.scene_res_path == "res://envs/ball/ball.tscn"
    assert BALL.observation_space.dtype == np.float32


@pytest.fixture(scope="module")
def thirdparty_site(tmp_path_factory) -> Path:
    """Really install tests/thirdparty_plugin (its own pip package) into a private site dir."""
    work = tmp_path_factory.mktemp("thirdparty")
    source = shutil.copytree(HERE / "thirdparty_plugin", work / "src")
    site = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(site), str(source)],
        check=True,
    )
    return site


def _run_with(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, "-m", "rlgodot.cli.main", *args],
        env=env, capture_output=True, text=True, timeout=300,
    )


def test_thirdparty_plugin_is_listed(thirdparty_site):
    result = _run_with(thirdparty_site, "list-envs")
    assert result.returncode == 0, result.stderr
    assert "drift-v0" in result.stdout
    assert "ball-v0" in result.stdout


@pytest.mark.godot
def test_thirdparty_plugin_runs_in_godot(thirdparty_site, godot_binary):
    result = _run_with(
        thirdparty_site, "check", "--env", "drift", "--steps", "300",
        "--only", "scene_answers", "--only", "spaces_respected", "--only", "seeding",
        "--only", "autoreset",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed, 0 failed" in result.stdout
