"""Camera observations: the wire form of images, image observation spaces, and ``ball-pixels``.

The first part needs no Godot. The rest drives a real Godot rendering its camera sensors on the
private Xvfb the runtime starts by itself (Mesa's software OpenGL): without Godot or Xvfb those
tests skip locally and fail under CI.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from rlgodot.core.envs.batch import EnvBatch
from rlgodot.core.errors import PluginError, ProtocolError, RemoteError
from rlgodot.core.plugin import IMAGE_KEY, VECTOR_KEY
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.plugin.spec import observation_space_problem
from rlgodot.core.runtime.launcher import GodotBinary, GodotCommand, assemble_project
from rlgodot.core.runtime.protocol.codec import decode_binary_result
from rlgodot.core.runtime.protocol.messages import ImageLayout, SessionConfig, StepBatch
from rlgodot.core.runtime.session import GodotSession
from rlgodot.core.testing.wire import encode_binary_result

PIXELS = "ball-pixels-v0"
SHAPE = (84, 84, 2)
# The scene's camera rides on the ball: 900 world pixels (18 m) across 84 pixels, the ball at
# the image centre (41.5 in pixel-index coordinates).
PIXELS_PER_METRE = 84 / 18.0
CENTRE = 41.5
BALL, TARGET = [0, 1], [4, 5]  # x, y of each in the raw state
BALL_GREY, TARGET_GREY = 255, 128  # the scene's sensor look
ADDON = Path(__file__).resolve().parents[1] / "godot" / "addons" / "rlgodot"
CAMERA3D_DIR = Path(__file__).resolve().parent / "camera3d_scene"
SHAPE_3D = (32, 48, 6)  # camera3d.tscn's sensor: 48 x 32 pixels, RGB, stack 2
NEWEST_3D = slice(3, 6)  # the newest RGB frame of the stack


# ---------------------------------------------------------------------------- no Godot


def test_image_layout_puts_the_stacked_frames_last():
    layout = ImageLayout((2, 3, 4), stack=2)  # 2 frames of 2 channels
    # wire: per row, frame 0 (2 x 3 x 2 bytes) then frame 1
    wire = np.arange(2 * layout.nbytes, dtype=np.uint8)
    images = layout.decode(wire)
    assert images.shape == (2, 2, 3, 4)
    frames = wire.reshape(2, 2, 2, 3, 2)  # row, frame, y, x, channel
    assert np.array_equal(images[1, 1, 2, :2], frames[1, 0, 1, 2])
    assert np.array_equal(images[1, 1, 2, 2:], frames[1, 1, 1, 2])
    assert layout.encode(images) == wire.tobytes()


def test_binary_results_carry_images_after_the_states():
    layout = ImageLayout((4, 5, 3))
    rng = np.random.default_rng(0)
    batch = StepBatch(
        rng.standard_normal((3, 2)).astype(np.float32),
        np.array([0, 1, 0], np.uint8),
        np.array([1]),
        rng.standard_normal((1, 2)).astype(np.float32),
        rng.integers(0, 256, (3, 4, 5, 3), dtype=np.uint8),
        rng.integers(0, 256, (1, 4, 5, 3), dtype=np.uint8),
    )
    body = encode_binary_result("step_result", batch, layout)
    decoded = decode_binary_result(body, layout).batch
    assert np.array_equal(decoded.images, batch.images)
    assert np.array_equal(decoded.terminal_images, batch.terminal_images)
    assert np.array_equal(decoded.states, batch.states)
    assert decode_binary_result(encode_binary_result("step_result", batch)).batch.images is None
    with pytest.raises(ProtocolError, match="camera observations of 60 bytes"):
        decode_binary_result(body[:-1], layout)


def test_hello_image_layout_is_checked():
    assert ImageLayout.from_hello({"image_shape": []}) is None
    layout = ImageLayout.from_hello({"image_shape": [84, 84, 4], "image_stack": 4})
    assert layout == ImageLayout((84, 84, 4), 4)
    with pytest.raises(ProtocolError, match="image_stack"):
        ImageLayout.from_hello({"image_shape": [84, 84, 3], "image_stack": 2})


def test_observation_space_forms():
    image = gym.spaces.Box(0, 255, (8, 8, 1), np.uint8)
    vector = gym.spaces.Box(-1, 1, (3,), np.float32)
    assert observation_space_problem(image) is None
    assert observation_space_problem(vector) is None
    mixed = gym.spaces.Dict({IMAGE_KEY: image, VECTOR_KEY: vector})
    assert observation_space_problem(mixed) is None
    for bad in (
        gym.spaces.Box(0, 1, (8, 8, 1), np.uint8),  # uint8 but not 0..255
        gym.spaces.Dict({IMAGE_KEY: image}),
        gym.spaces.Dict({IMAGE_KEY: image, VECTOR_KEY: image}),
        gym.spaces.Discrete(3),
    ):
        assert "float32 gymnasium Box" in observation_space_problem(bad)


def test_pixel_spec_has_an_image_and_no_terms():
    from dataclasses import replace

    spec = get_registry().get(PIXELS)
    assert spec.image_shape == SHAPE and spec.vector_space is None
    ball = get_registry().get("ball-v0")
    assert ball.image_shape == ()
    with pytest.raises(PluginError, match="no vector Box"):
        replace(spec, observation=ball.observation)
    mixed = replace(
        spec,
        observation_space=gym.spaces.Dict(
            {IMAGE_KEY: spec.observation_space, VECTOR_KEY: ball.observation_space}
        ),
        observation=ball.observation,
    )
    assert mixed.image_shape == SHAPE and mixed.vector_space == ball.observation_space


# ---------------------------------------------------------------------------- real Godot


def _target_pixel(offsets: np.ndarray) -> np.ndarray:
    """Where targets ``offsets`` metres (x, y) from the ball are in the image: (row, column)."""
    return CENTRE + offsets[:, ::-1] * PIXELS_PER_METRE


def _check_target(frame: np.ndarray, offset: np.ndarray, where: str) -> None:
    """``frame`` shows the ball at the centre and the target ``offset`` metres from it."""
    assert frame[41:43, 41:43].min() == BALL_GREY, f"{where}: the ball is not at the centre"
    target = np.argwhere(frame == TARGET_GREY).mean(axis=0)
    want = _target_pixel(offset[None])[0]
    assert np.linalg.norm(target - want) < 1.0, f"{where}: target at {target}, state: {want}"


def _run(seeds: list[int], actions: np.ndarray) -> list[StepBatch]:
    """A fresh Godot process: reset with ``seeds``, then one step per action batch."""
    batch = EnvBatch(get_registry().get(PIXELS), len(seeds), "same_step")
    try:
        out = [batch.session.reset(seeds)]
        out += [batch.session.step(a) for a in actions]
    finally:
        batch.close()
    return out


@pytest.mark.godot
def test_pixels_show_the_target_where_the_state_says_around_the_ball(godot_binary, xvfb):
    pushes = np.tile(np.array([[1.0, 0.0], [0.0, -1.0]], np.float32), (6, 1, 1))
    results = _run([3, 4], pushes)
    reset, steps = results[0], results[1:]
    assert reset.images.shape == (2, *SHAPE) and reset.images.dtype == np.uint8
    assert np.array_equal(reset.images[..., 0], reset.images[..., 1]), "a reset fills the stack"
    previous = reset
    for step in steps:
        assert np.array_equal(step.images[..., 0], previous.images[..., 1]), "the stack shifts"
        previous = step
    for k, batch in enumerate(results):
        for i in range(2):
            offset = batch.states[i, TARGET] - batch.states[i, BALL]
            _check_target(batch.images[i, :, :, 1], offset, f"step {k}, instance {i}")
    assert not np.array_equal(reset.images, steps[-1].images), "the view moves with the ball"


@pytest.mark.godot
def test_same_seed_and_actions_give_identical_images_in_a_fresh_process(godot_binary, xvfb):
    rng = np.random.default_rng(7)
    actions = rng.uniform(-1, 1, (15, 3, 2)).astype(np.float32)
    first = _run([11, 12, 13], actions)
    again = _run([11, 12, 13], actions)
    other = _run([21, 12, 13], actions)
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a.images, b.images) and np.array_equal(a.states, b.states)
    assert not np.array_equal(first[0].images[0], other[0].images[0])
    assert np.array_equal(first[-1].images[1:], other[-1].images[1:])


@pytest.mark.godot
def test_an_ended_episode_sends_its_terminal_image(godot_binary, xvfb):
    spec = get_registry().get(PIXELS)
    # a target that covers the arena (not the neighbours' views) and a strong push: the view
    # moves a few pixels in the episode's one step
    batch = EnvBatch(spec, 2, "same_step", options={"target_radius": 15.0, "max_force": 100.0})
    try:
        reset = batch.session.reset([5, 6])
        step = batch.session.step(np.ones((2, 2), np.float32))
        headless = EnvBatch(get_registry().get("ball-v0"), 1, "same_step")
        try:
            assert headless.session.info.image is None
            assert headless.session.reset([1]).images is None
        finally:
            headless.close()
    finally:
        batch.close()
    # every episode reaches the (wide) target in its first step and restarts at once
    assert step.terminal_indices.tolist() == [0, 1]
    assert step.terminal_images.shape == (2, *SHAPE)
    assert np.array_equal(step.terminal_images[..., 0], reset.images[..., 1])
    assert not np.array_equal(step.terminal_images[..., 1], reset.images[..., 1])
    assert np.array_equal(step.images[..., 0], step.images[..., 1]), "new episodes fill the stack"
    assert not np.array_equal(step.images, step.terminal_images)


def test_a_cnn_model_fits_its_pixel_env():
    from stable_baselines3.common.vec_env import VecTransposeImage

    from rlgodot.core.errors import RLGodotError
    from rlgodot.core.jobs.models import check_model_spaces

    spec = get_registry().get(PIXELS)
    stored = VecTransposeImage.transpose_space(spec.observation_space)  # what SB3 saves
    assert stored.shape == (2, 84, 84)
    check_model_spaces(stored, spec.action_space, spec, "model.zip")
    check_model_spaces(spec.observation_space, spec.action_space, spec, "model.zip")
    with pytest.raises(RLGodotError, match="observation space"):
        check_model_spaces(gym.spaces.Box(0, 255, (1, 84, 84), np.uint8), spec.action_space,
                           spec, "model.zip")


# ---------------------------------------------------------------------------- CameraSensor3D


@pytest.fixture(scope="module")
def camera3d_project(godot_binary: GodotBinary) -> Path:
    return assemble_project(ADDON, {"camera3d": CAMERA3D_DIR}, {}, godot_binary)


def _run_3d(
    godot: GodotBinary, project: Path, scene: str, actions: list[np.ndarray]
) -> list[StepBatch]:
    """Two instances of a tests/camera3d_scene/ scene: a reset, then one step per action batch."""
    command = GodotCommand(godot, project, f"res://envs/camera3d/{scene}.tscn", headless=False)
    config = SessionConfig(n_envs=2, action_repeat=1)
    with GodotSession.launch(command, n_envs=2, config=config, private_display=True,
                             expect_image_shape=SHAPE_3D) as session:
        return [session.reset([0, 1])] + [session.step(a) for a in actions]


def _newest(batch: StepBatch, i: int) -> np.ndarray:
    return batch.images[i, :, :, NEWEST_3D].astype(int)


@pytest.mark.godot
def test_camera_sensor_3d_sees_what_moves_through_the_camera_it_follows(
    godot_binary, xvfb, camera3d_project
):
    still = np.zeros((2, 2), np.float32)
    box = np.array([[1.0, 0.0], [0.0, 0.0]], np.float32)  # instance 0 moves its box
    eye = np.array([[0.0, 0.0], [0.0, 1.0]], np.float32)  # instance 1 moves its Eye camera
    follows = _run_3d(godot_binary, camera3d_project, "camera3d", [still, box, eye])
    own = _run_3d(godot_binary, camera3d_project, "camera3d_own", [still, box, eye])
    for run in (follows, own):
        reset, kept, boxed, eyed = run
        assert reset.images.shape == (2, *SHAPE_3D) and reset.images.dtype == np.uint8
        assert np.array_equal(reset.images[0], reset.images[1]), "instances apart, alike"
        red = reset.images[0, :, :, 3].astype(int) - reset.images[0, :, :, 4]
        assert (red > 100).sum() > 20, "the red box is in view"
        assert np.array_equal(_newest(kept, 0), _newest(reset, 0)), "nothing moved"
        assert np.abs(_newest(boxed, 0) - _newest(kept, 0)).max() > 100, "the box moved"
        assert np.array_equal(_newest(boxed, 1), _newest(kept, 1))
        assert np.array_equal(boxed.images[0, :, :, :3], kept.images[0, :, :, 3:]), "stacked"
    # the Eye moved: the sensor that looks through it sees another picture, the one that
    # looks from its own place the same
    assert np.abs(_newest(follows[3], 1) - _newest(follows[2], 1)).max() > 100
    assert np.array_equal(_newest(own[3], 1), _newest(own[2], 1))


@pytest.mark.godot
def test_camera_sensor_3d_refuses_a_camera_path_that_is_no_camera(
    godot_binary, xvfb, camera3d_project
):
    with pytest.raises(RemoteError, match="camera_path ../Box is not a Camera3D"):
        _run_3d(godot_binary, camera3d_project, "camera3d_bad_path", [])


# ---------------------------------------------------------------------------- bench


@pytest.mark.godot
def test_bench_captures_the_cameras_unless_told_not_to(godot_binary, xvfb):
    batch = EnvBatch(get_registry().get(PIXELS), 2, "same_step")
    push = np.ones((2, 2), np.float32)  # the balls keep moving: every frame differs
    try:
        batch.session.reset([1, 2])
        before = batch.session.step(push)
        [plain] = batch.session.bench(1, capture=False)
        after_plain = batch.session.step(push)
        [captured] = batch.session.bench(1)
        after_captured = batch.session.step(push)
    finally:
        batch.close()
    assert plain["captured"] is False and captured["captured"] is True
    # the stack's older frame is the previous capture: the step before a plain bench, the
    # bench's own capture after a capturing one
    assert np.array_equal(after_plain.images[..., 0], before.images[..., 1])
    assert not np.array_equal(after_captured.images[..., 0], after_plain.images[..., 1])


@pytest.mark.godot
def test_rlgodot_bench_reports_the_engine_rate_with_and_without_captures(godot_binary, xvfb):
    import json

    from click.testing import CliRunner

    from rlgodot.cli.main import main

    result = CliRunner().invoke(
        main, ["bench", "--env", "ball-pixels", "--n-envs", "2", "--seconds", "0.5", "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "engine/s no capture" in result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["image_shape"] == list(SHAPE)
    assert summary["engine_decisions_per_s"] > 0
    assert summary["engine_no_capture_decisions_per_s"] > 0


@pytest.mark.godot
def test_sb3_bench_runs_on_a_pixel_env_with_uint8_images(godot_binary, xvfb):
    from rlgodot.core.jobs.bench import FreeVecEnv, bench_sb3

    free = FreeVecEnv(get_registry().get(PIXELS), 2)
    assert free.reset().shape == (2, *SHAPE) and free.reset().dtype == np.uint8
    result = bench_sb3(PIXELS, sb3_timesteps=256, n_envs=2)
    assert result.timesteps == 256 and result.godot_fps > 0 and result.ceiling_fps > 0


# ---------------------------------------------------------------------------- SB3 policies


@pytest.mark.godot
def test_cnn_policy_trains_with_the_defaults_network_and_evaluates(godot_binary, xvfb, tmp_path):
    from rlgodot.core.jobs.config import TrainConfig
    from rlgodot.core.jobs.evaluate import evaluate
    from rlgodot.core.jobs.models import load_model
    from rlgodot.core.jobs.networks import SmallCnn
    from rlgodot.core.jobs.train import train

    result = train(TrainConfig(
        env="ball-pixels", timesteps=256, n_envs=2, seed=0, output_dir=tmp_path,
        hyperparameters={"n_steps": 128, "batch_size": 64}, progress_bar=False,
        checkpoint_every=0,
    ))
    model, _ = load_model(result.model_path)
    assert isinstance(model.policy.features_extractor, SmallCnn)
    assert model.observation_space.shape == (2, 84, 84)  # SB3 keeps images channels-first
    evaluation = evaluate("ball-pixels", model=result.model_path, episodes=2, seed=0)
    assert evaluation.episodes == 2 and all(np.isfinite(evaluation.returns))


@pytest.mark.godot
def test_the_shipped_cnn_model_is_used_by_default_and_succeeds(godot_binary, xvfb):
    from rlgodot.core.jobs.evaluate import evaluate

    result = evaluate(PIXELS, episodes=20, seed=7)
    assert result.policy.endswith("ball-pixels-v0-ppo.zip")
    # the random policy: 0 % success, mean return about -1.8 (the env's docstring)
    assert result.success_rate >= 0.9 and result.mean_return > 4.0, result.summary()


@pytest.mark.godot
def test_multi_input_policy_trains_on_an_image_and_a_vector(godot_binary, xvfb):
    from dataclasses import replace

    from stable_baselines3 import PPO

    from rlgodot.core.envs.sb3_vec_env import GodotVecEnv
    from rlgodot.core.jobs.train import sb3_policy

    pixels, ball = get_registry().get(PIXELS), get_registry().get("ball-v0")
    space = gym.spaces.Dict(
        {IMAGE_KEY: pixels.observation_space, VECTOR_KEY: ball.observation_space}
    )
    mixed = replace(pixels, id="ball-mixed-v0", observation_space=space,
                    observation=ball.observation)
    assert sb3_policy(mixed) == "MultiInputPolicy"
    env = GodotVecEnv(mixed, n_envs=2, seed=0)
    try:
        first = env.reset()
        model = PPO("MultiInputPolicy", env, n_steps=64, batch_size=64, n_epochs=2, seed=0,
                    device="cpu")
        model.learn(256)
        last = env.step(model.predict(first, deterministic=True)[0])[0]
    finally:
        env.close()
    assert model.num_timesteps == 256
    for obs in (first, last):
        assert obs[IMAGE_KEY].shape == (2, *SHAPE) and obs[IMAGE_KEY].dtype == np.uint8
        assert obs[VECTOR_KEY].shape == (2, 6) and obs[VECTOR_KEY].dtype == np.float32
        # each row's image shows the target where its vector puts it (rows belong together)
        for i in range(2):
            offset = obs[VECTOR_KEY][i, 4:6] * 10.0  # (target - ball) / (2 * ARENA_HALF_SIZE)
            _check_target(obs[IMAGE_KEY][i, :, :, 1], offset, f"row {i}")
