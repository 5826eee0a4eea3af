extends RLAgent
## motorcycle: ride a side-view motocross bike over a seeded hilly course to the finish line.
##
## | | |
## |---|---|
## | action (2) | throttle in [-1, 1] (rear wheel torque; negative brakes, then reverses), lean in [-1, 1] (chassis torque; positive = lean back, nose up) |
## | state (16 + LOOK_POINTS) | see STATE_NAMES: chassis x, y (m, y up), angle (rad, counter-clockwise = nose up), vx, vy (m/s), angular velocity (rad/s, ccw), rear wheel spin (rad/s, forward > 0), rear/front wheel ground contact (0/1), head clearance (m), wind (m/s^2, + = tailwind), on_oil (0/1), distance to the next oil patch (m, capped), course length (m), crashed, finished, then the ground height minus the chassis height at LOOK_POINTS points ahead |
## | terminated | the rider's head touches the ground (crashed) or the chassis passes the finish line (finished), checked in get_state() |
## | truncated | by the batch (max_episode_steps) |
##
## World: 100 px = 1 m, the project's default gravity 980 px/s^2 = 9.8 m/s^2. The bike is three
## rigid bodies (chassis with the rider's head as a collision shape, two wheels) joined by soft
## PinJoint2Ds (suspension). The course is one polyline of points DX apart, split into two static
## ConcavePolygonShape2Ds (normal ground and oil, each with its friction) rebuilt at every reset:
## no node is created or freed after _ready(). Instances are stacked INSTANCE_SPACING apart
## vertically (their bodies only collide with layer 1, their own course never reaches another's).
## Watched, _ready() also adds the look (look/motorcycle_look.gd: sky, ground, rider, effects,
## camera), which only reads the simulation; unwatched, no node of it exists.
##
## Options: the @export properties below (values and defaults come from the Python EnvSpec; the
## ranges bound the course's points and the gust schedule).
##
## Version history: v0 first version; v1 adds oil_max_slope (oil on gentle ground only).

const MotorcycleLook := preload("res://envs/motorcycle/look/motorcycle_look.gd")

const PPM: float = 100.0
const DX: float = 0.5
const START_BACK: float = 8.0
const FLAT_START: float = 10.0
const RUN_OUT: float = 30.0
const FINISH_FLAT: float = 6.0
const INSTANCE_SPACING: float = 60.0
const WALL_HEIGHT: float = 20.0
const LOOK_POINTS: int = 12
const LOOK_STEP: float = 1.5
const OIL_CELL: float = 12.0
const OIL_AHEAD_CAP: float = 30.0
const WIND_HORIZON: float = 300.0
const WHEEL_RADIUS: float = 0.32
const HEAD_RADIUS: float = 0.16
const CRASH_MARGIN: float = 0.03
const REAR_OFFSET: Vector2 = Vector2(-0.7, 0.42)
const FRONT_OFFSET: Vector2 = Vector2(0.72, 0.42)
const HEAD_OFFSET: Vector2 = Vector2(-0.15, -0.95)
const START_HEIGHT: float = 0.8
const DRIVE_TORQUE: float = 90000.0
const REACTION_SHARE: float = 0.6
const LEAN_TORQUE: float = 110000.0
const STATE_NAMES: PackedStringArray = [
	"x", "y", "angle", "vx", "vy", "angular_velocity", "rear_spin", "rear_contact",
	"front_contact", "head_clearance", "wind", "on_oil", "oil_ahead", "course_length",
	"crashed", "finished",
	"look_0", "look_1", "look_2", "look_3", "look_4", "look_5",
	"look_6", "look_7", "look_8", "look_9", "look_10", "look_11"]

## Finish line distance from the start, m.
@export_range(10.0, 2000.0) var course_length: float
## Lowest hill, m.
@export_range(0.0, 5.0) var hill_height_min: float
## Highest hill, m (below hill_height_min counts as hill_height_min; both 0 = flat).
@export_range(0.0, 5.0) var hill_height_max: float
## Steepest hill slope, rise / run.
@export_range(0.05, 1.5) var hill_steepness: float
## Longest flat stretch between hills, m.
@export_range(0.0, 50.0) var hill_gap_max: float
## Chance of an oil patch per 12 m stretch.
@export_range(0.0, 1.0) var oil_probability: float
## Length of an oil patch, m.
@export_range(0.0, 12.0) var oil_length: float
## Friction of oil (the ground has 1.0).
@export_range(0.0, 1.0) var oil_friction: float
## Steepest ground (rise / run) an oil patch may lie on; 1.5 = anywhere.
@export_range(0.0, 1.5) var oil_max_slope: float
## Peak gust acceleration, m/s^2 (0 = no wind).
@export_range(0.0, 20.0) var wind_strength: float
## Mean gusts per second (Poisson arrivals).
@export_range(0.0, 5.0) var wind_frequency: float
## Duration of one gust, s.
@export_range(0.05, 10.0) var wind_duration: float

var _heights: PackedFloat32Array = PackedFloat32Array()
var _oil_start: PackedFloat32Array = PackedFloat32Array()
var _oil_end: PackedFloat32Array = PackedFloat32Array()
var _gust_start: PackedFloat32Array = PackedFloat32Array()
var _gust_end: PackedFloat32Array = PackedFloat32Array()
var _gust_accel: PackedFloat32Array = PackedFloat32Array()
var _wind: float = 0.0
var _bike_mass: float = 1.0
var _gust_index: int = 0
var _throttle: float = 0.0
var _lean: float = 0.0
var _crashed: bool = false
var _finished: bool = false
var _state: PackedFloat32Array = PackedFloat32Array()
## The look (sky, ground, rider, effects, camera): only when watched, else null.
var _look: MotorcycleLook = null

@onready var _ground_shape: ConcavePolygonShape2D = (
		($World/Ground/Shape as CollisionShape2D).shape as ConcavePolygonShape2D)
@onready var _oil_body: StaticBody2D = $World/Oil as StaticBody2D
@onready var _oil_shape: ConcavePolygonShape2D = (
		($World/Oil/Shape as CollisionShape2D).shape as ConcavePolygonShape2D)
@onready var _chassis: RigidBody2D = $World/Chassis as RigidBody2D
@onready var _rear: RigidBody2D = $World/RearWheel as RigidBody2D
@onready var _front: RigidBody2D = $World/FrontWheel as RigidBody2D
@onready var _rear_joint: PinJoint2D = $World/RearJoint as PinJoint2D
@onready var _front_joint: PinJoint2D = $World/FrontJoint as PinJoint2D


func _enter_tree() -> void:
	# Stack the courses far apart, centred on the origin, before any body enters the space.
	var world: Node2D = get_node("World") as Node2D
	var spacing: Vector2 = Vector2(0.0, INSTANCE_SPACING * PPM)
	world.position = grid_position(spacing, 1) - spacing * (0.5 * float(n_instances - 1))


func _ready() -> void:
	_state.resize(STATE_NAMES.size())
	# The shapes are resources shared by all instances of the scene: give each its own.
	var ground_holder: CollisionShape2D = $World/Ground/Shape as CollisionShape2D
	_ground_shape = ConcavePolygonShape2D.new()
	ground_holder.shape = _ground_shape
	var oil_holder: CollisionShape2D = $World/Oil/Shape as CollisionShape2D
	_oil_shape = ConcavePolygonShape2D.new()
	oil_holder.shape = _oil_shape
	_oil_body.physics_material_override = PhysicsMaterial.new()
	_bike_mass = _chassis.mass + _rear.mass + _front.mass
	if watched:
		_look = MotorcycleLook.new()
		($World as Node2D).add_child(_look)
		_look.attach(_chassis, _rear, _front, PPM, WHEEL_RADIUS, HEAD_OFFSET, HEAD_RADIUS)


func state_names() -> PackedStringArray:
	return STATE_NAMES


func action_size() -> int:
	return 2


func reset_episode() -> void:
	_build_course()
	_build_wind()
	_crashed = false
	_finished = false
	_throttle = 0.0
	_lean = 0.0
	_wind = 0.0
	_gust_index = 0
	var ground: float = _height_at(0.0)
	var origin: Vector2 = Vector2(0.0, ground + WHEEL_RADIUS + START_HEIGHT)
	_place(_chassis, origin, Vector2.ZERO)
	_place(_rear, origin, REAR_OFFSET)
	_place(_front, origin, FRONT_OFFSET)
	_rejoin(_rear_joint, origin, REAR_OFFSET)
	_rejoin(_front_joint, origin, FRONT_OFFSET)
	_chassis.constant_force = Vector2.ZERO
	_chassis.constant_torque = 0.0
	_rear.constant_torque = 0.0
	if _look != null:
		_look.show_course(_heights, START_BACK, DX, _oil_start, _oil_end, course_length, episode_seed)


func apply_action(action: PackedFloat32Array) -> void:
	_throttle = clampf(action[0], -1.0, 1.0) if is_finite(action[0]) else 0.0
	_lean = clampf(action[1], -1.0, 1.0) if is_finite(action[1]) else 0.0
	var drive: float = _throttle * DRIVE_TORQUE
	_rear.constant_torque = drive
	_chassis.constant_torque = -_lean * LEAN_TORQUE - REACTION_SHARE * drive
	var t: float = float(episode_ticks) / float(physics_hz)
	while _gust_index < _gust_start.size() and t >= _gust_end[_gust_index]:
		_gust_index += 1
	_wind = 0.0
	if _gust_index < _gust_start.size() and t >= _gust_start[_gust_index]:
		_wind = _gust_accel[_gust_index]
	_chassis.constant_force = Vector2(_wind * _bike_mass * PPM, 0.0)


func get_state() -> PackedFloat32Array:
	var pos: Vector2 = _metres(_chassis.position)
	var head: Vector2 = _metres(_chassis.transform * (HEAD_OFFSET * PPM))
	var head_clearance: float = _clearance(head) - HEAD_RADIUS
	if not _crashed and not _finished:
		if head_clearance < CRASH_MARGIN or not pos.is_finite():
			_crashed = true
			end_episode("crashed")
		elif pos.x >= course_length:
			_finished = true
			end_episode("finished")
	var rear_x: float = _rear.position.x / PPM
	var on_oil: bool = false
	var oil_ahead: float = OIL_AHEAD_CAP
	for i: int in _oil_start.size():
		if rear_x >= _oil_start[i] and rear_x <= _oil_end[i]:
			on_oil = true
		if _oil_start[i] > pos.x:
			oil_ahead = minf(oil_ahead, _oil_start[i] - pos.x)
	var velocity: Vector2 = _chassis.linear_velocity / PPM
	_state[0] = pos.x
	_state[1] = pos.y
	_state[2] = wrapf(-_chassis.rotation, -PI, PI)
	_state[3] = velocity.x
	_state[4] = -velocity.y
	_state[5] = -_chassis.angular_velocity
	_state[6] = _rear.angular_velocity
	_state[7] = 1.0 if _rear.get_contact_count() > 0 else 0.0
	_state[8] = 1.0 if _front.get_contact_count() > 0 else 0.0
	_state[9] = head_clearance
	_state[10] = _wind
	_state[11] = 1.0 if on_oil else 0.0
	_state[12] = oil_ahead
	_state[13] = course_length
	_state[14] = 1.0 if _crashed else 0.0
	_state[15] = 1.0 if _finished else 0.0
	# The terrain ahead, interpolated inline (no call per point).
	var last: int = _heights.size() - 2
	for k: int in LOOK_POINTS:
		var f: float = clampf((pos.x + LOOK_STEP * float(k) + START_BACK) / DX, 0.0, float(last))
		var i: int = mini(int(f), last)
		var u: float = f - float(i)
		_state[16 + k] = _heights[i] + (_heights[i + 1] - _heights[i]) * u - pos.y
	return _state


func human_action() -> PackedFloat32Array:
	var throttle: float = key_axis([KEY_DOWN, KEY_S], [KEY_UP, KEY_W])
	var lean: float = key_axis([KEY_RIGHT, KEY_D], [KEY_LEFT, KEY_A])
	return PackedFloat32Array([throttle, lean])


## Brings the look (camera, rider, dust, wind) up to the current state.
func sync_view(delta: float) -> void:
	if _look != null:
		_look.sync(delta, _throttle, _lean, _wind, _crashed)


func key_help() -> String:
	return "up/down throttle/brake, left/right lean back/forward"


func hud_text() -> String:
	var pos: Vector2 = _metres(_chassis.position)
	var speed: float = _chassis.linear_velocity.length() / PPM * 3.6
	var status: String = ""
	if _crashed:
		status = "   CRASHED"
	elif _finished:
		status = "   FINISHED"
	return "speed %.0f km/h   distance %.0f / %.0f m   wind %+.1f%s" % [
		speed, clampf(pos.x, 0.0, course_length), course_length, _wind, status]


## Builds the seeded course: flat start, cosine hills, flat finish; oil patches split off.
func _build_course() -> void:
	var height_max: float = maxf(hill_height_max, hill_height_min)
	var count: int = int(ceilf((START_BACK + course_length + RUN_OUT) / DX)) + 1
	_heights.resize(count)
	_heights.fill(0.0)
	var cursor: float = FLAT_START
	var hills_end: float = course_length - FINISH_FLAT
	while true:
		var gap: float = rng.randf_range(0.0, hill_gap_max)
		var height: float = rng.randf_range(hill_height_min, height_max)
		var width: float = maxf(PI * height / hill_steepness * rng.randf_range(1.0, 1.6), 2.0)
		var x0: float = cursor + gap
		if not (x0 + width <= hills_end):  # also ends the loop on NaN (options never set)
			break
		var first: int = int(ceilf((x0 + START_BACK) / DX))
		var last: int = int(floorf((x0 + width + START_BACK) / DX))
		for i: int in range(first, last + 1):
			var u: float = (float(i) * DX - START_BACK - x0) / width
			_heights[i] += height * 0.5 * (1.0 - cos(TAU * u))
		cursor = x0 + width
	_oil_start.clear()
	_oil_end.clear()
	_oil_body.physics_material_override.friction = oil_friction
	var cell: float = FLAT_START
	while cell + OIL_CELL <= course_length:
		var chance: float = rng.randf()
		var offset: float = rng.randf_range(0.0, maxf(OIL_CELL - oil_length, 0.0))
		if (chance < oil_probability and oil_length > 0.0
				and _steepest(cell + offset, cell + offset + oil_length) <= oil_max_slope):
			_oil_start.append(cell + offset)
			_oil_end.append(cell + offset + oil_length)
		cell += OIL_CELL
	var ground: PackedVector2Array = PackedVector2Array()
	var oil: PackedVector2Array = PackedVector2Array()
	# Walls at both ends keep the bike on the course.
	ground.append(_pixels(Vector2(-START_BACK, _heights[0] + WALL_HEIGHT)))
	ground.append(_pixels(Vector2(-START_BACK, _heights[0])))
	var last_x: float = float(count - 1) * DX - START_BACK
	ground.append(_pixels(Vector2(last_x, _heights[count - 1])))
	ground.append(_pixels(Vector2(last_x, _heights[count - 1] + WALL_HEIGHT)))
	var patch: int = 0
	for i: int in count - 1:
		var xa: float = float(i) * DX - START_BACK
		var middle: float = xa + 0.5 * DX
		while patch < _oil_start.size() and middle > _oil_end[patch]:
			patch += 1
		var oily: bool = patch < _oil_start.size() and middle >= _oil_start[patch]
		var target: PackedVector2Array = oil if oily else ground
		target.append(_pixels(Vector2(xa, _heights[i])))
		target.append(_pixels(Vector2(xa + DX, _heights[i + 1])))
		if oily:
			oil = target
		else:
			ground = target
	_ground_shape.segments = ground
	_oil_shape.segments = oil
	# An empty shape would not collide anyway; keep the body out of the broadphase then.
	($World/Oil/Shape as CollisionShape2D).disabled = oil.is_empty()


## Draws the gust schedule: Poisson arrivals, fixed duration, random sign and strength.
func _build_wind() -> void:
	_gust_start.clear()
	_gust_end.clear()
	_gust_accel.clear()
	if wind_strength <= 0.0 or wind_frequency <= 0.0 or wind_duration <= 0.0:
		return
	var t: float = 0.0
	while true:
		t += -log(1.0 - rng.randf() * 0.999999) / wind_frequency
		if t > WIND_HORIZON:
			break
		var sign_value: float = 1.0 if rng.randf() < 0.5 else -1.0
		_gust_start.append(t)
		_gust_end.append(t + wind_duration)
		_gust_accel.append(sign_value * wind_strength * rng.randf_range(0.5, 1.0))
		t += wind_duration


func _place(body: RigidBody2D, origin: Vector2, offset: Vector2) -> void:
	body.linear_velocity = Vector2.ZERO
	body.angular_velocity = 0.0
	body.rotation = 0.0
	body.position = _pixels(origin) + offset * PPM
	# The node defers its transform to the physics server; set it there now as well.
	var rid: RID = body.get_rid()
	PhysicsServer2D.body_set_state(rid, PhysicsServer2D.BODY_STATE_TRANSFORM, body.global_transform)
	PhysicsServer2D.body_set_state(rid, PhysicsServer2D.BODY_STATE_LINEAR_VELOCITY, Vector2.ZERO)
	PhysicsServer2D.body_set_state(rid, PhysicsServer2D.BODY_STATE_ANGULAR_VELOCITY, 0.0)


## Re-creates a joint at the wheel's new position: a fresh joint carries no impulses (warm start)
## from the last episode, so a reset episode starts like a fresh one (up to rounding).
func _rejoin(joint: PinJoint2D, origin: Vector2, offset: Vector2) -> void:
	joint.position = _pixels(origin) + offset * PPM
	var wheel: NodePath = joint.node_b
	joint.node_b = NodePath()
	joint.node_b = wheel


## The steepest slope (|rise / run|) of the ground between course positions x0 and x1 (m).
func _steepest(x0: float, x1: float) -> float:
	var first: int = maxi(int(floorf((x0 + START_BACK) / DX)), 0)
	var last: int = mini(int(ceilf((x1 + START_BACK) / DX)), _heights.size() - 1)
	var steepest: float = 0.0
	for i: int in range(first, last):
		steepest = maxf(steepest, absf(_heights[i + 1] - _heights[i]) / DX)
	return steepest


## Ground height (m, y up) at course position x (m), linear between the points.
func _height_at(x: float) -> float:
	var f: float = clampf((x + START_BACK) / DX, 0.0, float(_heights.size() - 1))
	var i: int = mini(int(f), _heights.size() - 2)
	var u: float = f - float(i)
	return _heights[i] * (1.0 - u) + _heights[i + 1] * u


## Approximate distance (m) from p (m, y up) to the ground below it: the height above the
## local segment, times the cosine of its slope.
func _clearance(p: Vector2) -> float:
	var last: int = _heights.size() - 2
	var f: float = clampf((p.x + START_BACK) / DX, 0.0, float(last))
	var i: int = mini(int(f), last)
	var rise: float = (_heights[i + 1] - _heights[i]) / DX
	var ground: float = _heights[i] + (_heights[i + 1] - _heights[i]) * (f - float(i))
	return (p.y - ground) / sqrt(1.0 + rise * rise)


## Metres, y up (course coordinates) -> the World node's pixels, y down.
func _pixels(m: Vector2) -> Vector2:
	return Vector2(m.x * PPM, -m.y * PPM)


func _metres(px: Vector2) -> Vector2:
	return Vector2(px.x / PPM, -px.y / PPM)

