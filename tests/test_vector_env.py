"""The Gymnasium VectorEnv: next-step autoreset exactness, spaces, seeding, info masks."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

from rlgodot.core.envs.gym_vector_env import GodotVectorEnv
from rlgodot.core.envs.sb3_vec_env import GodotVecEnv
from rlgodot.core.plugin.registry import get_registry

pytestmark = pytest.mark.godot


@pytest.fixture
def spec():
    return get_registry().get("ball")


def test_next_step_autoreset_is_exact(godot_binary, spec):
    """Terminal obs is returned, then the reset obs (reward 0), then the episode goes on, exactly
    as the same-step VecEnv sees it (terminal obs in info, reset obs in the done step)."""
    limit = spec.max_episode_steps
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, size=(limit + 3, 2, 2)).astype(np.float32)
    vector = GodotVectorEnv(spec, num_envs=2)
    vec = GodotVecEnv(spec, n_envs=2, seed=9)
    try:
        v_obs, _ = vector.reset(seed=9)
        s_obs = vec.reset()
        assert v_obs.tobytes() == s_obs.tobytes()
        for t in range(limit - 1):
            v_obs, v_rew, v_term, v_trunc, _ = vector.step(actions[t])
            s_obs, s_rew, s_done, _ = vec.step(actions[t])
            assert v_obs.tobytes() == s_obs.tobytes() and not v_trunc.any()
            np.testing.assert_array_equal(v_rew, s_rew)
        # the time limit ends both episodes at step `limit`
        v_obs, v_rew, v_term, v_trunc, _ = vector.step(actions[limit - 1])
        s_obs, s_rew, s_done, s_infos = vec.step(actions[limit - 1])
        assert v_trunc.all() and not v_term.any() and s_done.all()
        for i in range(2):
            assert v_obs[i].tobytes() == s_infos[i]["terminal_observation"].tobytes()
            assert s_infos[i]["TimeLimit.truncated"]
        np.testing.assert_array_equal(v_rew, s_rew)
        # next step: reset rows, action ignored, reward 0, first obs of the new episode
        v_obs, v_rew, v_term, v_trunc, _ = vector.step(np.ones((2, 2), dtype=np.float32))
        assert v_obs.tobytes() == s_obs.tobytes()
        assert (v_rew == 0).all() and not v_term.any() and not v_trunc.any()
        # and the new episode goes on identically
        for t in range(limit, limit + 3):
            v_obs, v_rew, *_ = vector.step(actions[t])
            s_obs, s_rew, *_ = vec.step(actions[t])
            assert v_obs.tobytes() == s_obs.tobytes()
            np.testing.assert_array_equal(v_rew, s_rew)
    finally:
        vector.close()
        vec.close()


def test_spaces_and_metadata(godot_binary, spec):
    env = GodotVectorEnv(spec, num_envs=4)
    try:
        assert env.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
        assert env.single_observation_space == spec.observation_space
        assert env.observation_space.shape == (4, 6)
        assert env.action_space.shape == (4, 2)
        obs, info = env.reset(seed=1)
        assert env.observation_space.contains(obs) and info == {}
        for _ in range(300):
            obs, rewards, term, trunc, _ = env.step(env.action_space.sample())
            assert env.observation_space.contains(obs)
            assert rewards.dtype == np.float32 and term.dtype == bool and trunc.dtype == bool
    finally:
        env.close()


def test_seeding_reproducible(godot_binary, spec):
    runs = []
    actions = np.random.default_rng(2).uniform(-1, 1, (50, 3, 2)).astype(np.float32)
    for _ in range(2):
        env = GodotVectorEnv(spec, num_envs=3)
        try:
            trace = [env.reset(seed=42)[0]]
            trace += [env.step(a)[0] for a in actions]
        finally:
            env.close()
        runs.append(np.stack(trace))
    assert runs[0].tobytes() == runs[1].tobytes()


def test_info_masks_and_reset_mask(godot_binary, spec):
    env = GodotVectorEnv(spec, num_envs=3)
    try:
        env.reset(seed=0)
        env.reset(options={"reset_mask": np.array([True, False, False]), "target_radius": 50.0})
        _, _, term, _, infos = env.step(np.zeros((3, 2), dtype=np.float32))
        assert term.tolist() == [True, False, False]
        assert infos["_is_success"].tolist() == [True, False, False]
        assert infos["is_success"][0]
        _, rewards, term, _, infos = env.step(np.zeros((3, 2), dtype=np.float32))
        assert rewards[0] == 0.0 and not term[0] and "is_success" not in infos
    finally:
        env.close()


def test_gymnasium_make_vec(godot_binary):
    import rlgodot  # noqa: F401

    env = gym.make_vec("rlgodot/ball-v0", num_envs=2)
    try:
        assert isinstance(env.unwrapped, GodotVectorEnv)
        obs, _ = env.reset(seed=0)
        assert obs.shape == (2, 6)
    finally:
        env.close()


def test_gymnasium_make_with_module_prefix_without_importing_rlgodot(godot_binary):
    code = (
        "import gymnasium as gym, sys\n"
        "assert 'rlgodot' not in sys.modules\n"
        "env = gym.make('rlgodot:rlgodot/ball-v0')\n"
        "obs, _ = env.reset(seed=0)\n"
        "print(env.observation_space.contains(obs))\n"
        "env.close()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def test_reset_mask_keeps_other_rows_and_seeds_by_row(godot_binary, spec):
    """As Gymnasium's SyncVectorEnv: unmasked rows keep their last observation, an int seed gives
    ``seed + i`` to row i, a seed list has ``num_envs`` entries (unmasked ones ignored)."""
    from rlgodot.core.errors import InvalidOption

    env = GodotVectorEnv(spec, num_envs=3)
    ref = GodotVectorEnv(spec, num_envs=3)
    try:
        expected, _ = ref.reset(seed=10)
        env.reset(seed=0)
        last, *_ = env.step(np.ones((3, 2), dtype=np.float32))
        mask = np.array([False, True, True])
        obs, _ = env.reset(seed=10, options={"reset_mask": mask})
        assert obs[0].tobytes() == last[0].tobytes()
        assert obs[1:].tobytes() == expected[1:].tobytes()
        obs, _ = env.reset(seed=[99, 11, 12], options={"reset_mask": mask})
        assert obs[0].tobytes() == last[0].tobytes()
        assert obs[1:].tobytes() == expected[1:].tobytes()
        with pytest.raises(InvalidOption, match="num_envs=3"):
            env.reset(seed=[11, 12], options={"reset_mask": mask})
        # Gymnasium's SyncVectorEnv refuses an all-False mask too
        with pytest.raises(InvalidOption, match="no True entry"):
            env.reset(options={"reset_mask": np.zeros(3, dtype=bool)})
    finally:
        env.close()
        ref.close()


def test_none_seed_entry_keeps_the_stream(godot_binary, spec):
    """``None`` in a seed list continues that instance's stream (as a seedless reset does)."""
    env = GodotVectorEnv(spec, num_envs=3)
    ref = GodotVectorEnv(spec, num_envs=3)
    try:
        ref.reset(seed=[5, 6, 7])
        continued, _ = ref.reset()
        seeded, _ = ref.reset(seed=[1, 20, 1])
        env.reset(seed=[5, 6, 7])
        obs, _ = env.reset(seed=[None, 20, None])
        assert obs[[0, 2]].tobytes() == continued[[0, 2]].tobytes()
        assert obs[1].tobytes() == seeded[1].tobytes()
    finally:
        env.close()
        ref.close()


@pytest.fixture
def two_cpus():
    """This process (and the Godots it starts) may use only 2 CPUs, as on the reference VM."""
    import os

    before = os.sched_getaffinity(0)
    if len(before) < 2:
        pytest.skip("needs 2 CPUs")
    os.sched_setaffinity(0, sorted(before)[:2])
    yield
    os.sched_setaffinity(0, before)


def _spin(env) -> int:
    return env.unwrapped.batch.session.target.config.spin_usec


def test_spin_is_decided_over_all_godot_processes(godot_binary, two_cpus):
    """4 ``gymnasium.make`` envs in a SyncVectorEnv (CleanRL) on 2 CPUs: only the first Godot,
    started alone, spins; once they are closed a new env spins again."""
    import rlgodot  # noqa: F401
    from rlgodot.core.runtime.launcher.process import live_processes

    assert not live_processes()
    vec = gym.make_vec("rlgodot/null-v0", num_envs=4, vectorization_mode="sync")
    try:
        vec.reset(seed=0)
        assert [_spin(env) for env in vec.envs] == [300, 0, 0, 0]
    finally:
        vec.close()
    assert not live_processes()
    env = gym.make("rlgodot/null-v0")
    try:
        env.reset(seed=0)
        assert _spin(env) == 300
    finally:
        env.close()
