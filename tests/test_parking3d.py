"""The parking3d plugin in real Godot: seeding, actions, options, success and collision detection.

The conformance suite (spaces, Gymnasium/SB3 contracts, cross-process seeding, autoreset) runs
for every installed env elsewhere; these tests check what is specific to the car park.
"""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from rlgodot_parking3d.env import RAY_LENGTH

from conftest import run_godot_script
from rlgodot.core.envs.factory import make_env, make_vec_env
from rlgodot.core.envs.launch import prepare_project
from rlgodot.core.jobs.evaluate import evaluate
from rlgodot.core.plugin.registry import get_registry

pytestmark = pytest.mark.godot

# observation indices (see rlgodot_parking3d.env.OBS_LAYOUT)
RIGHT, FORWARD, DIST, COS_REL, SIN_REL, HERR, SPEED, YAW, STEER, OUT = 0, 1, 2, 3, 4, 5, 6, 8, 9, 10
RAYS = slice(11, 23)
POS = 15.0  # position scale
BAY3 = (-1.5, -6.75)  # bay 3: north row, axis pointing -z (heading 180 deg)
EMPTY = {"occupancy": 0.0, "target_bay": 3}


def _episode(env, seed, actions, options=None):
    obs, _ = env.reset(seed=seed, options=options)
    out = [obs]
    for action in actions:
        obs, *_ = env.step(action)
        out.append(obs)
    return np.array(out)


def test_same_seed_same_course_other_seed_differs(godot_binary):
    env = make_env("parking3d-v0")
    try:
        actions = [np.array([0.5, 0.3], dtype=np.float32)] * 5
        a = _episode(env, 7, actions)
        b = _episode(env, 7, actions)
        c = _episode(env, 8, actions)
    finally:
        env.close()
    # Start pose, target and parked cars come from the seed; physics within one process may
    # differ in the low bits (see GODOT_ADDON.md), so compare with a tolerance.
    np.testing.assert_allclose(a, b, atol=1e-3)
    assert not np.allclose(a[0], c[0])


# action index -> (sign of forward speed, sign of yaw rate); yaw > 0 turns left (seen from above)
EXPECTED = {0: (0, 0), 1: (1, 0), 2: (1, 1), 3: (1, -1), 4: (-1, 0), 5: (-1, -1), 6: (-1, 1)}
# parking3d-v1: index 7 x throttle level (0 full reverse .. 2 brake .. 4 full forward) + steering
# level (0 full left .. 6 full right)
EXPECTED_LEVELS = {7 * 2 + 3: (0, 0), 7 * 4 + 3: (1, 0), 7 * 3 + 3: (1, 0), 7 * 4 + 0: (1, 1),
                   7 * 3 + 5: (1, -1), 7 * 0 + 3: (-1, 0), 7 * 1 + 3: (-1, 0), 7 * 0 + 0: (-1, -1),
                   7 * 1 + 6: (-1, 1)}
ACTION_CASES = [("parking3d-discrete-v0", action, EXPECTED[action]) for action in EXPECTED] + [
    ("parking3d-v1", action, EXPECTED_LEVELS[action]) for action in EXPECTED_LEVELS]


@pytest.mark.parametrize(("env_id", "action", "expected"), ACTION_CASES)
def test_each_discrete_action_drives_its_way(godot_binary, env_id, action, expected):
    env = make_env(env_id, options={**EMPTY, "start_pose": [0.0, 0.0, 90.0]})
    try:
        obs, _ = env.reset(seed=1)
        assert abs(obs[SPEED]) < 1e-3, "the car starts at rest"
        for _ in range(8):
            obs, _, terminated, truncated, _ = env.step(action)
            assert not (terminated or truncated)
    finally:
        env.close()
    speed, yaw = obs[SPEED] * 5.0, obs[YAW] * 2.0
    want_speed, want_yaw = expected
    if want_speed == 0:
        assert abs(speed) < 0.05, speed
    else:
        assert np.sign(speed) == want_speed and abs(speed) > 0.5, speed
    if want_yaw == 0:
        assert abs(yaw) < 0.05, yaw
    else:
        assert np.sign(yaw) == want_yaw and abs(yaw) > 0.1, yaw


def test_options_take_effect_per_reset(godot_binary):
    env = make_env("parking3d-v0")
    try:
        # start_pose facing +x at the aisle centre, x = -1.5: bay 3 is 6.75 m to the left
        obs, _ = env.reset(seed=0, options={**EMPTY, "start_pose": [-1.5, 0.0, 90.0]})
        assert obs[RIGHT] * POS == pytest.approx(-6.75, abs=0.05)
        assert obs[FORWARD] * POS == pytest.approx(0.0, abs=0.05)
        # bay 11 is the south twin of bay 3: 6.75 m to the right
        obs, _ = env.reset(seed=0, options={**EMPTY, "target_bay": 11,
                                            "start_pose": [-1.5, 0.0, 90.0]})
        assert obs[RIGHT] * POS == pytest.approx(6.75, abs=0.05)
        # occupancy: full car park -> the side rays see parked cars; empty -> only far walls
        full, _ = env.reset(seed=0, options={"occupancy": 1.0, "start_pose": [0.0, 0.0, 90.0]})
        empty, _ = env.reset(seed=0, options={"occupancy": 0.0, "start_pose": [0.0, 0.0, 90.0]})
        assert full[RAYS].min() < empty[RAYS].min() - 0.1
        # random start ranges: all zero puts the car on the aisle centre line facing its bay
        for seed in range(5):
            obs, _ = env.reset(seed=seed, options={"start_dx": 0.0, "start_dz": 0.0,
                                                   "start_heading_range": 0.0})
            assert obs[FORWARD] * POS == pytest.approx(6.75, abs=0.05)
            assert abs(obs[RIGHT]) * POS < 0.05
    finally:
        env.close()


def test_start_shares_place_the_car_anywhere_or_in_the_bay(godot_binary):
    """v1 starts anywhere in the aisle facing any way; start_in_bay starts in or half in the bay."""
    starts = []
    for env_id, options in [("parking3d-v0", {}), ("parking3d-v1", {}),
                            ("parking3d-v1", {"start_in_bay": 1.0})]:
        env = make_env(env_id, options={"occupancy": 0.0, **options})
        try:
            starts.append(np.array([env.reset(seed=seed)[0] for seed in range(40)]))
        finally:
            env.close()
    near, anywhere, in_bay = starts
    # near the bay (v0): within hypot(3, 7.75) m, facing it +-45 deg
    assert near[:, DIST].max() * POS < 8.4 and near[:, COS_REL].min() > 0.7
    # anywhere: farther than a near start can be, and facing away as often as not
    assert anywhere[:, DIST].max() * POS > 12.0
    assert 0.3 < np.mean(anywhere[:, COS_REL] < 0.0) < 0.7
    # in the bay: the centre within 3.5 m of the bay centre along its axis, 0.4 m across, at most
    # 25 deg off the axis, nose or tail first (both seen)
    assert in_bay[:, DIST].max() * POS < 3.6
    assert np.abs(in_bay[:, SIN_REL]).max() < np.sin(0.44) + 1e-3
    assert np.any(in_bay[:, COS_REL] > 0.9) and np.any(in_bay[:, COS_REL] < -0.9)
    assert np.any(in_bay[:, OUT] == 0.0) and np.any(in_bay[:, OUT] > 0.0)


def test_rays_measure_metres_to_parked_cars_and_walls(godot_binary):
    # The car's RaySensor3D: 12 rays 30 deg apart clockwise from ahead, 8 m (env.RAY_LENGTH),
    # parked cars and walls only. Facing +x in front of the empty target bay 3 of a full car
    # park: ray 3 (to the right, +z) meets the parked car of bay 11, whose front is 6.75 - 2.1 m
    # away; ahead, behind and into the empty bay (walls >= 9.75 m away) see nothing.
    env = make_env("parking3d-v0", options={"occupancy": 1.0, "target_bay": 3,
                                         "start_pose": [BAY3[0], 0.0, 90.0]})
    try:
        obs, _ = env.reset(seed=0)
    finally:
        env.close()
    rays = obs[RAYS] * RAY_LENGTH
    assert rays[3] == pytest.approx(6.75 - 2.1, abs=1e-4)
    assert [rays[0], rays[6], rays[9]] == [RAY_LENGTH] * 3
    assert ((rays > 0.0) & (rays <= RAY_LENGTH)).all(), rays


def _one_step(options, action=(0.0, 0.0), seed=0):
    env = make_env("parking3d-v0", options={**EMPTY, **options})
    try:
        env.reset(seed=seed)
        _, reward, terminated, truncated, info = env.step(np.array(action, dtype=np.float32))
    finally:
        env.close()
    return reward, terminated, truncated, info


@pytest.mark.parametrize(
    ("options", "parked"),
    [
        ({"start_pose": [BAY3[0], BAY3[1], 180.0]}, True),  # nose in, centred
        ({"start_pose": [BAY3[0] + 0.2, BAY3[1] - 0.3, 190.0]}, True),  # off-centre, 10 deg
        ({"start_pose": [BAY3[0], BAY3[1], 0.0]}, True),  # tail in (allow_reverse)
        ({"start_pose": [BAY3[0], BAY3[1], 0.0], "allow_reverse": False}, False),
        ({"start_pose": [BAY3[0], BAY3[1], 160.0]}, False),  # misaligned by 20 deg
        ({"start_pose": [BAY3[0] + 1.0, BAY3[1], 180.0]}, False),  # footprint over the line
        ({"start_pose": [BAY3[0], BAY3[1] + 1.5, 180.0]}, False),  # sticking into the aisle
        ({"start_pose": [BAY3[0] + 3.0, BAY3[1], 180.0]}, False),  # the neighbouring bay
        ({"start_pose": [BAY3[0], BAY3[1], 0.0], "start_speed": 3.0}, False),  # moving
        # the footprint follows the car's size: 0.85 + 0.6 m fits the bay's 1.5 m, 1.0 + 0.6 not
        ({"start_pose": [BAY3[0] + 0.6, BAY3[1], 180.0]}, True),
        ({"start_pose": [BAY3[0] + 0.6, BAY3[1], 180.0], "car_width": 2.0}, False),
        ({"start_pose": [BAY3[0], BAY3[1] - 0.6, 180.0]}, True),  # 1.95 + 0.6 m within 2.75
        ({"start_pose": [BAY3[0], BAY3[1] - 0.6, 180.0], "car_length": 4.5}, False),
    ],
)
def test_success_detection_for_placed_poses(godot_binary, options, parked):
    action = (1.0, 0.0) if options.get("start_speed") else (0.0, 0.0)
    reward, terminated, _, info = _one_step(options, action)
    assert terminated == parked
    if parked:
        assert info["is_success"] and not info["collided"]
        assert reward > 5.0
    else:
        assert "is_success" not in info or not info["is_success"]


def test_collision_ends_the_episode_unless_disabled(godot_binary):
    # facing the north wall (z = -10) from 3 m away, full throttle
    pose = {"start_pose": [13.0 - 1.5, -5.0, 180.0], "occupancy": 0.0}
    for end_on_collision in (True, False):
        env = make_env("parking3d-v0", options={**pose, "end_on_collision": end_on_collision})
        try:
            env.reset(seed=0)
            ended, info, rewards = False, {}, []
            for _ in range(30):
                _, reward, terminated, truncated, info = env.step(np.array([1.0, 0.0], np.float32))
                rewards.append(reward)
                if terminated or truncated:
                    ended = True
                    break
        finally:
            env.close()
        assert ended == end_on_collision
        if end_on_collision:
            assert info["collided"] and not info["is_success"]
            assert rewards[-1] < -4.0


def test_short_ppo_run_improves_return(godot_binary):
    from stable_baselines3 import PPO

    options = {"start_dx": 2.0, "start_heading_range": 10.0}
    venv = make_vec_env("parking3d-v0", n_envs=16, options=options, seed=0)

    def mean_return(model, episodes=32):
        venv.seed(123)
        obs = venv.reset()
        totals, current = [], np.zeros(venv.num_envs)
        while len(totals) < episodes:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, done, _ = venv.step(action)
            current += reward
            for k in np.nonzero(done)[0]:
                totals.append(current[k])
                current[k] = 0.0
        return float(np.mean(totals))

    try:
        model = PPO("MlpPolicy", venv, n_steps=128, batch_size=1024, n_epochs=5, seed=0,
                    device="cpu", verbose=0)
        before = mean_return(model)
        model.learn(150_000)
        after = mean_return(model)
    finally:
        venv.close()
    # Untrained, the mean return is about -2.0; the gain after 150k steps varies from run to run
    # (torch's float sums in another order diverge the runs): 0.41 in one CI run, more in others.
    assert after > before + 0.25, (before, after)


def test_shipped_ppo_model_parks(godot_binary):
    """The shipped PPO model over the 50 seeded episodes of `rlgodot eval` (a few seconds)."""
    result = evaluate("parking3d-v0", episodes=50, seed=0)
    baseline = evaluate("parking3d-v0", random_policy=True, episodes=50, seed=0)
    assert result.policy.endswith("parking3d-v0-ppo.zip")
    assert result.success_rate >= 0.9, result.summary()
    assert result.outcome_rates["is_success"] == result.success_rate
    assert result.outcome_rates["collided"] <= 0.1, result.summary()
    # parked well inside the 200-step (20 s) limit
    assert result.mean_success_seconds < 10.0, result.summary()
    assert baseline.success_rate == 0.0 and result.mean_return > baseline.mean_return + 10.0


def test_shipped_dqn_model_beats_random(godot_binary):
    result = evaluate("parking3d-discrete-v0", episodes=50, seed=0)
    baseline = evaluate("parking3d-discrete-v0", random_policy=True, episodes=50, seed=0)
    assert result.success_rate >= 0.6, (result.summary(), baseline.summary())
    assert result.outcome_rates["collided"] <= 0.1, result.summary()
    assert result.mean_return > baseline.mean_return + 10.0


@pytest.mark.expensive
def test_shipped_v1_model_parks_from_anywhere(godot_binary):
    """The README's two sets of 100 seeded episodes: at least 90 % parked in each."""
    for seed in (0, 1000):
        result = evaluate("parking3d-v1", episodes=100, seed=seed)
        assert result.policy.endswith("parking3d-v1-ppo.zip")
        assert result.success_rate >= 0.9, result.summary()
        assert result.outcome_rates["collided"] <= 0.08, result.summary()


@pytest.mark.expensive
@pytest.mark.parametrize(("env_id", "success", "margin"), [
    ("parking3d-continuous-v1", 0.6, 30.0), ("parking3d-discrete-v1", 0.08, 6.0)])
def test_shipped_v1_variant_models_beat_random(godot_binary, env_id, success, margin):
    """The v1 variants are not solved (README, Results): the shipped models' levels (continuous
    PPO 76 % here, DQN 16 %), with some slack, and their lead over random actions in mean return."""
    result = evaluate(env_id, episodes=50, seed=0)
    baseline = evaluate(env_id, random_policy=True, episodes=50, seed=0)
    assert result.policy.endswith(f"{env_id}-{'dqn' if 'discrete' in env_id else 'ppo'}.zip")
    assert result.success_rate >= success, result.summary()
    assert baseline.success_rate == 0.0
    assert result.mean_return > baseline.mean_return + margin, (
        result.summary(), baseline.summary())


def test_without_end_on_collision_the_penalty_is_paid_once_per_collision(godot_binary):
    # Drive into the north wall, stay pressed against it, then back off: the collision is an
    # event of the step it happens in; the penalty must not be paid on every later step.
    pose = {"start_pose": [13.0 - 1.5, -5.0, 180.0], "occupancy": 0.0, "end_on_collision": False}
    env = make_env("parking3d-v0", options=pose)
    try:
        env.reset(seed=0)
        hits = []
        for throttle in [1.0] * 25 + [-1.0] * 15:
            _, reward, terminated, truncated, _ = env.step(np.array([throttle, 0.0], np.float32))
            assert not (terminated or truncated)
            hits.append(reward < -4.0)  # collision_penalty is 5
    finally:
        env.close()
    assert 1 <= sum(hits) <= 3, f"collision penalty paid on {sum(hits)} of {len(hits)} steps"
    assert not any(hits[-10:]), "the penalty is still paid after backing away from the wall"


def test_reset_in_a_running_process_repeats_the_first_step_exactly(godot_binary):
    # Gymnasium's determinism check: the same seed and action, twice in one process, must give
    # the same observation bit for bit (wheel and contact state must not survive a reset).
    env = make_env("parking3d-v0")
    env.action_space.seed(123)
    try:
        for _ in range(6):
            action = env.action_space.sample()
            env.reset(seed=123)
            first, *_ = env.step(action)
            env.reset(seed=123)
            again, *_ = env.step(action)
            np.testing.assert_array_equal(first, again)
    finally:
        env.close()


LOOK_PROBE = """
extends SceneTree
## Builds the parking scene unwatched and watched, then drives the watched car over random
## poses and checks the chase camera against every box it must keep out of.

const CLEARANCE: float = 0.25

var frames: int = 0
var plain: RLAgent = null
var agent: RLAgent = null


func _initialize() -> void:
	var scene: PackedScene = load("res://envs/parking3d/parking3d.tscn") as PackedScene
	plain = scene.instantiate() as RLAgent
	agent = scene.instantiate() as RLAgent
	for instance: RLAgent in [plain, agent]:
		instance.set("car_length", CAR_LENGTH)
		instance.set("car_width", CAR_WIDTH)
	root.add_child(plain)
	agent.watched = true
	agent.instance_index = 1
	agent.n_instances = 2
	root.add_child(agent)


func _process(_delta: float) -> bool:
	frames += 1
	if frames == 1:
		_check()  # the scenes are ready now; quit on the next frame even if this fails
	return frames >= 2


func _check() -> void:
	plain.set("occupancy", 1.0)
	plain.begin_episode(5)
	print("unwatched visuals %d" % _visuals(plain))
	agent.set("occupancy", 0.8)
	agent.set("target_bay", 3)
	agent.begin_episode(5)
	print("watched visuals %d" % _visuals(agent))
	var camera: Camera3D = _camera_under(agent)
	var rng: RandomNumberGenerator = RandomNumberGenerator.new()
	rng.seed = 1
	var poses: int = 0
	var violations: int = 0
	var closest: float = INF
	for episode: int in 8:
		agent.begin_episode(100 + episode)
		var fixed: Array[AABB] = camera.get("fixed_obstacles")
		var parked: Array[AABB] = camera.get("episode_obstacles")
		var boxes: Array[AABB] = fixed.duplicate()
		boxes.append_array(parked)
		var car: VehicleBody3D = agent.get_node("Lot/Car") as VehicleBody3D
		var where: Vector3 = Vector3(rng.randf_range(-12.0, 12.0), 0.42, rng.randf_range(-8.5, 8.5))
		var heading: float = rng.randf_range(-PI, PI)
		for step: int in 60:
			# A random walk (the camera lags behind) with a jump now and then (it snaps).
			var jump: bool = step % 20 == 0
			if jump:
				where = Vector3(rng.randf_range(-12.0, 12.0), 0.42, rng.randf_range(-8.5, 8.5))
				heading = rng.randf_range(-PI, PI)
			else:
				heading += rng.randf_range(-0.4, 0.4)
				where += Vector3(sin(heading), 0.0, cos(heading)) * rng.randf_range(-0.6, 0.6)
				where.x = clampf(where.x, -12.5, 12.5)
				where.z = clampf(where.z, -8.8, 8.8)
			car.transform = Transform3D(Basis(Vector3.UP, heading), where)
			agent.sync_view(0.0 if jump else 0.1)
			var at: Vector3 = camera.position
			poses += 1
			for box: AABB in boxes:
				closest = minf(closest, _distance(box, at))
				if box.grow(CLEARANCE).has_point(at):
					violations += 1
			if at.y < 1.5:
				violations += 1
	print("camera poses %d violations %d closest %.3f" % [poses, violations, closest])
	_print_sizes(agent)


func _visuals(node: Node) -> int:
	var count: int = 1 if node is VisualInstance3D or node is Camera3D else 0
	for child: Node in node.get_children():
		count += _visuals(child)
	return count


func _camera_under(node: Node) -> Camera3D:
	if node is Camera3D:
		return node as Camera3D
	for child: Node in node.get_children():
		var found: Camera3D = _camera_under(child)
		if found != null:
			return found
	return null


func _distance(box: AABB, point: Vector3) -> float:
	var nearest: Vector3 = point.clamp(box.position, box.end)
	return nearest.distance_to(point)


## The body meshes' extent next to the collision boxes they dress (x, z: width and length).
func _print_sizes(agent: RLAgent) -> void:
	var car: VehicleBody3D = agent.get_node("Lot/Car") as VehicleBody3D
	var player: Node3D = agent.get_node("Lot/Look/PlayerCar") as Node3D
	print("player body %s collision %s" % [_body_size(player), _shape_size(car)])
	for i: int in 16:
		var body: StaticBody3D = agent.get_node("Lot/Parked%d" % i) as StaticBody3D
		if body.visible:
			var model: Node3D = body.get_child(1) as Node3D
			print("parked body %s collision %s" % [_body_size(model), _shape_size(body)])


func _body_size(model: Node3D) -> Vector3:
	var mesh: MeshInstance3D = model.get_child(0) as MeshInstance3D
	return mesh.get_aabb().size


func _shape_size(body: Node) -> Vector3:
	var shape: CollisionShape3D = body.get_child(0) as CollisionShape3D
	return (shape.shape as BoxShape3D).size
"""


def _vector(text):
    return np.array([float(v) for v in text.strip("()").split(",")])


def test_the_look_exists_only_when_watched_and_the_camera_stays_clear(godot_binary, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(prepare_project(get_registry().get("parking3d"), godot_binary), project)
    options = get_registry().get("parking3d").options
    probe = LOOK_PROBE.replace("CAR_LENGTH", str(options["car_length"].default)).replace(
        "CAR_WIDTH", str(options["car_width"].default))
    out = run_godot_script(godot_binary.command, project, "look_probe.gd", probe)
    assert "unwatched visuals 0" in out, out  # headless training builds no mesh, light, camera
    watched = int(re.search(r"watched visuals (\d+)", out.split("unwatched")[1]).group(1))
    assert watched > 50, out
    poses, violations = map(int, re.search(r"camera poses (\d+) violations (\d+)", out).groups())
    assert poses == 480 and violations == 0, out
    # Car models match their collision boxes: length within 3 cm (bumpers and plates stand
    # proud by a centimetre or two), width plus door mirrors within 25 cm.
    sizes = re.findall(r"(player|parked) body (\(.*?\)) collision (\(.*?\))", out)
    assert any(kind == "player" for kind, *_ in sizes) and len(sizes) > 5, out
    for _, body, box in sizes:
        body, box = _vector(body), _vector(box)
        assert box[2] - 0.01 <= body[2] <= box[2] + 0.03, (body, box)
        assert box[0] <= body[0] <= box[0] + 0.25, (body, box)
