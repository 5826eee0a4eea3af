"""Env classes over real headless Godot: batches, autoreset, seeding, faults, bad input."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import numpy as np
import pytest

from rlgodot.core.envs.factory import make_env, make_vec_env
from rlgodot.core.envs.gym_env import GodotEnv
from rlgodot.core.envs.sb3_vec_env import GodotVecEnv
from rlgodot.core.errors import GodotCrashed, GodotTimeout, InvalidAction, InvalidOption
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.runtime.settings import LaunchSettings

pytestmark = pytest.mark.godot


@pytest.fixture
def vec(godot_binary):
    envs = []

    def make(n_envs=4, **kwargs):
        env = make_vec_env("ball", n_envs=n_envs, **kwargs)
        envs.append(env)
        return env

    yield make
    for env in envs:
        env.close()


def _processes(env):
    return env.session.processes


def test_batch_of_64_in_one_process(vec):
    env = vec(n_envs=64, seed=0)
    obs = env.reset()
    assert obs.shape == (64, 6) and obs.dtype == np.float32
    assert len(_processes(env)) == 1
    rng = np.random.default_rng(0)
    for _ in range(50):
        obs, rewards, dones, infos = env.step(rng.uniform(-1, 1, (64, 2)).astype(np.float32))
    assert obs.shape == (64, 6) and rewards.shape == (64,) and len(infos) == 64
    # instances are isolated and differently seeded: their observations differ
    assert len({row.tobytes() for row in obs}) == 64


def test_instances_over_two_processes(vec):
    env = vec(n_envs=6, n_procs=2, seed=5)
    obs = env.reset()
    assert obs.shape == (6, 6)
    assert len(_processes(env)) == 2
    assert len({p.pid for p in _processes(env)}) == 2
    obs, rewards, dones, _ = env.step(np.zeros((6, 2), dtype=np.float32))
    assert obs.shape == (6, 6) and rewards.shape == (6,)


def test_same_seed_same_course_in_one_process(godot_binary):
    """Inside one process a seed reproduces the episode's start (course, target) exactly."""
    env = make_env("ball")
    try:
        first, _ = env.reset(seed=77)
        for _ in range(20):
            env.step(np.array([1.0, 0.5], dtype=np.float32))
        again, _ = env.reset(seed=77)
        other, _ = env.reset(seed=78)
    finally:
        env.close()
    assert first.tobytes() == again.tobytes()
    assert first.tobytes() != other.tobytes()


def test_vec_env_seed_gives_reproducible_resets(vec):
    a = vec(n_envs=3, seed=11).reset()
    b = vec(n_envs=3, seed=11).reset()
    c = vec(n_envs=3, seed=12).reset()
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_scene_option_takes_effect(vec):
    """A target radius larger than the arena ends every episode on its first step, successfully."""
    env = vec(n_envs=2, options={"target_radius": 50.0}, seed=1)
    env.reset()
    _, rewards, dones, infos = env.step(np.zeros((2, 2), dtype=np.float32))
    assert dones.all()
    assert all(info["is_success"] for info in infos)
    assert all(not info["TimeLimit.truncated"] for info in infos)


def test_reset_options_apply_to_chosen_instances(vec):
    env = vec(n_envs=2, seed=1)
    env.set_options([{"target_radius": 50.0}, {}])
    env.reset()
    _, _, dones, _ = env.step(np.zeros((2, 2), dtype=np.float32))
    assert dones.tolist() == [True, False]


def test_reward_option_takes_effect(vec):
    plain = vec(n_envs=2, seed=3)
    scaled = vec(n_envs=2, seed=3, options={"progress_weight": 3.0, "time_penalty": 0.0})
    plain.reset()
    scaled.reset()
    actions = np.ones((2, 2), dtype=np.float32)
    r_plain = plain.step(actions)[1] + 0.01
    r_scaled = scaled.step(actions)[1]
    np.testing.assert_allclose(r_scaled, 3.0 * r_plain, rtol=1e-4, atol=1e-6)


def test_bad_options_are_explained(godot_binary):
    spec = get_registry().get("ball")
    with pytest.raises(InvalidOption, match="has no option 'wind'.*target_radius"):
        GodotVecEnv(spec, options={"wind": 1.0})
    with pytest.raises(InvalidOption, match="must be like 0.5"):
        GodotVecEnv(spec, options={"target_radius": "big"})
    env = GodotEnv(spec)
    try:
        with pytest.raises(InvalidOption, match="reward option"):
            env.reset(options={"success_bonus": 5.0})
    finally:
        env.close()


def test_bad_actions_are_explained(vec):
    env = vec(n_envs=2, seed=0)
    env.reset()
    with pytest.raises(InvalidAction, match=r"shape \(2, 2\)"):
        env.step(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(InvalidAction, match="NaN"):
        env.step(np.full((2, 2), np.nan, dtype=np.float32))
    # the env is still usable after rejected input
    obs, *_ = env.step(np.zeros((2, 2), dtype=np.float32))
    assert obs.shape == (2, 6)


def test_bad_discrete_actions_are_explained(godot_binary):
    env = make_vec_env("ball-discrete", n_envs=2, seed=0)
    try:
        env.reset()
        with pytest.raises(InvalidAction, match=r"indices must be in \[0, 4\]"):
            env.step(np.array([0, 5]))
        with pytest.raises(InvalidAction, match="integer actions"):
            env.step(np.array([0.5, 1.0]))
    finally:
        env.close()


def test_step_before_reset_is_explained(godot_binary):
    env = make_env("ball")
    try:
        with pytest.raises(Exception, match=r"call reset\(\) first"):
            env.step(np.zeros(2, dtype=np.float32))
    finally:
        env.close()


def test_killed_godot_raises_crashed_quickly(vec):
    env = vec(n_envs=2, seed=0)
    env.reset()
    pid = _processes(env)[0].pid
    os.kill(pid, signal.SIGKILL)
    start = time.monotonic()
    with pytest.raises(GodotCrashed) as info:
        for _ in range(100):
            env.step(np.zeros((2, 2), dtype=np.float32))
    assert time.monotonic() - start < 5.0
    assert str(pid) in str(info.value)


def test_hung_godot_raises_timeout(godot_binary):
    env = make_vec_env("ball", n_envs=1, seed=0, settings=LaunchSettings(step_timeout=1.5))
    try:
        env.reset()
        pid = _processes(env)[0].pid
        os.kill(pid, signal.SIGSTOP)
        start = time.monotonic()
        with pytest.raises(GodotTimeout):
            env.step(np.zeros((1, 2), dtype=np.float32))
        assert time.monotonic() - start < 5.0
    finally:
        for process in _processes(env):
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGCONT)
        env.close()


def test_close_ends_godot_and_is_idempotent(godot_binary):
    env = make_vec_env("ball", n_envs=1)
    env.reset()
    pids = [p.pid for p in _processes(env)]
    env.close()
    env.close()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_gymnasium_make_finds_rlgodot_envs(godot_binary):
    import gymnasium as gym

    import rlgodot  # noqa: F401  (registers the rlgodot/ namespace)

    env = gym.make("rlgodot/ball-v0")
    try:
        obs, _ = env.reset(seed=0)
        assert env.observation_space.contains(obs)
    finally:
        env.close()
