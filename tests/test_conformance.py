"""The conformance suite, parametrised over every installed env plugin and every check.

``test_conformance`` is exactly what a third-party plugin's own test suite gets with the same
import; the tests after it show that the suite fails an env that breaks the contract.
"""

from __future__ import annotations

import dataclasses
import json
import re

import gymnasium as gym
import numpy as np
import pytest
from click.testing import CliRunner

from rlgodot.cli.main import main
from rlgodot.core.envs.gym_env import GodotEnv
from rlgodot.core.jobs import conformance
from rlgodot.core.jobs.random_actions import random_actions
from rlgodot.core.plugin import hookimpl
from rlgodot.core.plugin.registry import Registry, get_registry
from rlgodot.core.testing import conformance_test as test_conformance  # noqa: F401

# ------------------------------------------------------------------ the suite can fail


@pytest.fixture
def ball():
    return get_registry().get("ball")


@pytest.fixture
def install(monkeypatch):
    """``install(spec)``: the suite (and ``rlgodot check``) now sees only this env."""

    def _install(spec):
        class Plugin:
            @hookimpl
            def rlgodot_env_specs(self):
                return [spec]

        registry = Registry(load_entry_points=False)
        registry.register(Plugin(), name="under-test")
        monkeypatch.setattr(conformance, "get_registry", lambda: registry)
        return spec.id

    return _install


def _with_space(spec, space):
    """``spec`` with another observation space but the same observations, which may leave it.

    A declared ``EnvSpec.observation`` must fit its space, so the decoder computes it instead.
    """
    observe = spec.observation.bind(spec.state_names)

    class SameObservations(spec.make_decoder):
        def observations(self, states):
            return observe(states)

    return dataclasses.replace(spec, observation_space=space, observation=None,
                               make_decoder=SameObservations)


def test_an_image_and_vector_dict_env_passes_the_suite(godot_binary, xvfb, install):
    from rlgodot.core.plugin import IMAGE_KEY, VECTOR_KEY

    pixels, ball = get_registry().get("ball-pixels"), get_registry().get("ball")
    space = gym.spaces.Dict(
        {IMAGE_KEY: pixels.observation_space, VECTOR_KEY: ball.observation_space}
    )
    env_id = install(dataclasses.replace(pixels, id="ball-mixed-v0", observation_space=space,
                                         observation=ball.observation, model=None))
    results = [conformance.run_check(env_id, name, 300) for name in conformance.CHECKS]
    assert [(r.name, r.detail) for r in results if not r.passed] == []


def test_observation_outside_the_space_fails_the_env_checker(godot_binary, ball, install):
    """Gymnasium's checker only warns about a step's observation outside the space (a reset's
    fails it already); the suite fails on both. Here the ball's velocities (0 at a reset) may
    not move."""
    bound = np.array([1, 1, 1e-4, 1e-4, 1, 1], dtype=np.float32)
    assert ball.state_names[2:4] == ("ball_vx", "ball_vy")
    narrow = gym.spaces.Box(-bound, bound, dtype=np.float32)
    env_id = install(_with_space(ball, narrow))
    result = conformance.run_check(env_id, "gymnasium_env_checker")
    assert not result.passed
    assert "not within the observation space" in result.detail


def test_check_shows_each_warning(godot_binary, ball, install):
    wide = gym.spaces.Box(-2.0, 2.0, ball.action_space.shape, np.float32)
    env_id = install(dataclasses.replace(ball, action_space=wide))
    out = CliRunner().invoke(main, ["check", "--env", env_id, "--only", "sb3_env_checker",
                                    "--json"])
    assert out.exit_code == 0, out.output
    assert re.search(r"warning: .*normalized", out.output), out.output
    (result,) = json.loads(out.output.splitlines()[-1])
    assert any("normalized" in w for w in result["warnings"])


def test_spaces_check_reaches_truncation(godot_binary):
    result = conformance.run_check("ball", "spaces_respected")
    assert result.passed, result.detail
    truncated = re.search(r"(\d+) truncated", result.detail)
    assert truncated and int(truncated.group(1)) > 0, result.detail


def test_contract_check_goes_on_after_the_first_episode(godot_binary, ball, install):
    """A space that holds exactly the first episode's observations (the check's own seed and
    actions) is left by a later episode: the check must see it."""
    env = GodotEnv(ball)
    rng = np.random.default_rng(2)
    try:
        seen = [env.reset(seed=2)[0]]
        while True:
            obs, _, terminated, truncated, _ = env.step(random_actions(ball.action_space, 1,
                                                                       rng)[0])
            seen.append(obs)
            if terminated or truncated:
                break
    finally:
        env.close()
    first = gym.spaces.Box(np.min(seen, axis=0), np.max(seen, axis=0), dtype=np.float32)
    env_id = install(_with_space(ball, first))
    result = conformance.run_check(env_id, "reset_step_contract")
    assert not result.passed
    assert "not in space" in result.detail
