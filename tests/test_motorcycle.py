"""The motorcycle plugin's behaviour in Godot: seeding, actions, options, learning."""

from __future__ import annotations

import numpy as np
import pytest

from rlgodot.core.envs.factory import make_env
from rlgodot.core.jobs.config import TrainConfig
from rlgodot.core.jobs.evaluate import evaluate
from rlgodot.core.jobs.train import train

pytestmark = pytest.mark.godot

# observation indices (see rlgodot_motorcycle.env)
VX, SIN, COS, SPIN, WIND, PROGRESS, REMAINING = 0, 2, 3, 5, 9, 12, 13
LOOK = slice(14, 26)
CALM = {"oil_probability": 0.0, "wind_strength": 0.0}
FLAT = {**CALM, "hill_height_min": 0.0, "hill_height_max": 0.0}


def _angle(obs: np.ndarray) -> float:
    return float(np.arctan2(obs[SIN], obs[COS]))


def _run(env, seed: int, actions, options=None) -> list[np.ndarray]:
    obs, _ = env.reset(seed=seed, options=options)
    trace = [obs]
    for action in actions:
        obs, _, terminated, truncated, _ = env.step(action)
        trace.append(obs)
        if terminated or truncated:
            break
    return trace


def test_same_seed_same_course_other_seed_other_course(godot_binary):
    env = make_env("motorcycle", options={"hill_gap_max": 0.0})
    try:
        a, _ = env.reset(seed=11)
        env.step(np.array([1.0, 0.0], dtype=np.float32))
        b, _ = env.reset(seed=11)
        c, _ = env.reset(seed=12)
    finally:
        env.close()
    assert np.array_equal(a[LOOK], b[LOOK]), "same seed, same terrain profile, bit for bit"
    assert not np.array_equal(a[LOOK], c[LOOK]), "another seed gives another course"
    assert np.ptp(a[LOOK]) > 0.01, "the first hill is in sight"


def test_two_fresh_envs_with_same_seed_and_actions_agree_bit_for_bit(godot_binary):
    actions = np.random.default_rng(0).uniform(-1, 1, (120, 2)).astype(np.float32)
    traces = []
    for _ in range(2):
        env = make_env("motorcycle")
        try:
            traces.append(np.array(_run(env, 5, actions)))
        finally:
            env.close()
    assert traces[0].shape == traces[1].shape
    assert np.array_equal(traces[0], traces[1])


# action index -> (expected sign of vx - idle vx, expected sign of angle - idle angle)
EXPECTED = {
    1: (1, 0),    # throttle: faster
    2: (-1, 0),   # brake/reverse: backwards
    3: (0, 1),    # lean back: nose up
    4: (0, -1),   # lean forward: nose down
    5: (1, 1),    # throttle + lean back
    6: (1, -1),   # throttle + lean forward
}


def test_each_discrete_action_does_what_its_name_says(godot_binary):
    """Speed is checked on the ground (after landing), lean while the bike drops at the start."""
    env = make_env("motorcycle-discrete", options=FLAT)
    settle = [0] * 10  # idle until the bike has landed on its wheels
    try:
        ground = {a: _run(env, 3, settle + [a] * 4)[-1] for a in range(7)}
        air = {a: _run(env, 3, [a] * 2)[-1] for a in range(7)}
    finally:
        env.close()
    idle = ground[0]
    assert abs(idle[VX]) < 0.02 and abs(_angle(idle)) < 0.05, "idle stays put, level"
    assert air[0][6] == 0 and air[0][7] == 0, "the bike starts slightly above the ground"
    for action, (dv, da) in EXPECTED.items():
        vx = ground[action][VX] - idle[VX]
        if dv:
            assert np.sign(vx) == dv and abs(vx) > 0.01, (action, vx)
        if da:
            # throttle alone lifts the nose (reaction torque): compare lean+throttle to throttle
            ref = air[1] if action in (5, 6) else air[0]
            turn = _angle(air[action]) - _angle(ref)
            assert np.sign(turn) == da and abs(turn) > 0.02, (action, turn)
    assert ground[2][SPIN] < 0, "brake/reverse spins the rear wheel backwards"
    assert _angle(air[1]) > _angle(air[0]), "throttle's reaction torque lifts the front"


def test_course_length_option(godot_binary):
    env = make_env("motorcycle")
    try:
        short, _ = env.reset(seed=1, options={"course_length": 50.0})
        long, _ = env.reset(seed=1, options={"course_length": 200.0})
    finally:
        env.close()
    assert short[REMAINING] == pytest.approx(50 / 200, abs=1e-3)
    assert long[REMAINING] == pytest.approx(1.0, abs=1e-3)


def test_zero_hill_height_gives_a_flat_look_ahead(godot_binary):
    env = make_env("motorcycle", options=FLAT)
    try:
        for seed in range(3):
            for obs in _run(env, seed, [np.array([1.0, 0.0], np.float32)] * 30):
                assert np.ptp(obs[LOOK]) < 1e-6, obs[LOOK]
    finally:
        env.close()


def test_oil_makes_the_rear_wheel_slip(godot_binary):
    throttle = [np.array([0.0, 0.0], np.float32)] * 10 + [np.array([1.0, 0.0], np.float32)] * 70
    env = make_env("motorcycle")
    try:
        dry = _run(env, 2, throttle, options=FLAT)[-1]
        oily = _run(env, 2, throttle, options={
            **FLAT, "oil_probability": 1.0, "oil_length": 12.0, "oil_friction": 0.0})[-1]
    finally:
        env.close()
    assert oily[10] == 1.0 and dry[10] == 0.0, "on_oil flag"
    assert oily[PROGRESS] < dry[PROGRESS] - 0.02, "no grip, less progress"
    assert oily[SPIN] >= dry[SPIN], "the wheel spins at least as fast"


def test_oil_max_slope_keeps_oil_off_the_hills(godot_binary):
    """Hills from the flat start's end on, oil in every 12 m cell: only oil_max_slope decides."""
    OIL_AHEAD, CAP = 11, 30.0
    hilly = {"hill_height_min": 3.0, "hill_height_max": 3.0, "hill_gap_max": 0.0,
             "oil_probability": 1.0, "wind_strength": 0.0}
    env = make_env("motorcycle")
    try:
        anywhere = [env.reset(seed=s, options={**hilly, "oil_max_slope": 1.5})[0] for s in range(3)]
        gentle = [env.reset(seed=s, options={**hilly, "oil_max_slope": 0.05})[0] for s in range(3)]
    finally:
        env.close()
    assert all(obs[OIL_AHEAD] * CAP < 25.0 for obs in anywhere), "oil on the first hills"
    assert all(obs[OIL_AHEAD] == 1.0 for obs in gentle), "no oil on the hills in sight"


def test_wind_pushes_the_bike(godot_binary):
    idle = [np.array([0.0, 0.0], np.float32)] * 40
    gale = {**FLAT, "wind_strength": 3.0, "wind_frequency": 5.0, "wind_duration": 10.0}
    env = make_env("motorcycle")
    try:
        calm = _run(env, 4, idle, options=FLAT)[-1]
        windy = _run(env, 4, idle, options=gale)[-1]
    finally:
        env.close()
    assert calm[WIND] == 0.0 and abs(windy[WIND]) > 0.2
    assert abs(windy[VX]) > abs(calm[VX]) + 0.02
    assert np.sign(windy[VX]) == np.sign(windy[WIND])


def test_short_ppo_run_improves_on_random(godot_binary, tmp_path):
    """About 30-60 s: 40k steps on a short, gentle course beat random actions."""
    easy = {"course_length": 30.0, "hill_height_max": 0.6, "oil_probability": 0.0,
            "wind_strength": 0.0}
    result = train(TrainConfig(
        env="motorcycle-v0", seed=0, timesteps=40_000, n_envs=16, options=easy,
        output_dir=tmp_path, progress_bar=False, checkpoint_every=0,
        hyperparameters={"n_steps": 128, "batch_size": 512, "n_epochs": 5},
    ))
    trained = evaluate("motorcycle-v0", model=result.model_path, episodes=8, seed=50, options=easy)
    baseline = evaluate("motorcycle-v0", random_policy=True, episodes=8, seed=50, options=easy)
    assert trained.mean_return > baseline.mean_return + 1.0, (
        trained.summary(), baseline.summary())


@pytest.mark.expensive
@pytest.mark.parametrize(("env_id", "success"), [
    ("motorcycle-v0", 0.9), ("motorcycle-discrete-v0", 0.9),
    ("motorcycle-v1", 0.9), ("motorcycle-discrete-v1", 0.7)])
def test_shipped_models_finish_the_course(godot_binary, env_id, success):
    """The shipped PPO / DQN models over the 50 seeded episodes of `rlgodot eval` (~30 s each)."""
    result = evaluate(env_id, episodes=50, seed=0)
    baseline = evaluate(env_id, random_policy=True, episodes=50, seed=0)
    assert result.policy.endswith(".zip")
    assert result.success_rate >= success, result.summary()
    assert result.mean_return > baseline.mean_return + 10.0
