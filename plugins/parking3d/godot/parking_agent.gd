extends RLAgent
## parking3d: drive a hatchback (VehicleBody3D, 4 VehicleWheel3D) into a target bay of a car park.
##
## | | |
## |---|---|
## | action (2) | throttle in [-1, 1] (negative = reverse; \|throttle\| < 0.1 or a sign opposing the motion brakes), steering in [-1, 1] (+1 = full right) |
## | state (26) | car_x, car_z (m, lot frame), car_heading (rad, 0 = +z), speed (m/s, signed along the car), lateral_speed (m/s), yaw_rate (rad/s), steering (-1..1), target_x, target_z, target_heading (bay axis, rad), heading_error (rad, folded by allow_reverse), footprint_out (m the footprint sticks out of the bay, 0 = inside), parked (0/1), collided (0/1), ray_0..ray_11 (m, obstacle distance from the car centre, clockwise from straight ahead, max 8 m: the RaySensor3D node Lot/Car/RaySensor, its distances times its length) |
## | terminated | parked (footprint inside the bay, heading within heading_tolerance, speed < max_park_speed), or a collision with a parked car / wall when end_on_collision |
## | truncated | by the batch (max_episode_steps) |
##
## Lot (metres, y up): an aisle 8 m wide along x at z = 0, one row of 8 bays (3.0 m x 5.5 m) on
## each side; bays 0-7 north (z < 0, axis pointing -z), 8-15 south (z > 0, axis +z), x centres
## -10.5 .. 10.5. Walls close the lot at z = +-10 and x = +-14. Occupied bays hold a parked car
## (a 1.8 x 1.4 x 4.2 m box). The car: a car_width x 1.1 x car_length m body, 1000 kg, wheelbase 2.5 m, front
## steering up to 0.6 rad, front-wheel drive, brakes on all wheels.
##
## Rays: the car's RaySensor3D child (configured in parking3d.tscn): 12 rays all around, 8 m,
## obstacle layer only (walls and parked cars), level (horizontal at y = 0.6 m whatever the car's
## pitch and roll, from the car centre's x and z); turned 180 degrees about y, because the
## sensor's forward is -z and the car's +z. Sensed once per step, in get_state().
##
## Per episode from `rng`: the target bay (or option target_bay), which other bays are occupied
## (each with probability occupancy), the start pose in the aisle: x = bay x + U(-start_dx,
## start_dx), z = U(-start_dz, start_dz), heading = facing into the bay (bay axis) +
## U(-start_heading_range, start_heading_range) deg (180 = any heading); in a start_anywhere share
## of episodes x over the whole aisle and any heading instead; in a start_in_bay share, in or half
## in the bay (IN_BAY_*). Option start_pose = [x, z, heading_deg] places the car exactly (tests,
## debugging); start_speed gives it an initial forward speed.
## Options: the @export properties below (values and defaults come from the Python EnvSpec).
##
## Looks: the scene holds physics only. A watched instance builds a ParkingLook (look/: car
## models sized to the collision shapes, the car park's dressing, the chase camera, the
## shared sky and sun) in _ready(), tells it each episode's target and seed, and syncs it in
## sync_view(); headless, none of it exists.
##
## Version history: v0 first version; options start_anywhere and start_in_bay added for v1 (the
## Python spec sets v1's defaults; v0's episodes are unchanged).

const BAY_WIDTH: float = 3.0
const BAY_DEPTH: float = 5.5
const BAYS_PER_ROW: int = 8
const AISLE_WIDTH: float = 8.0
const LOT_HALF_X: float = 14.0
const LOT_HALF_Z: float = 10.0
const WALL_THICKNESS: float = 0.5
const WALL_HEIGHT: float = 2.0
const PARKED_SIZE: Vector3 = Vector3(1.8, 1.4, 4.2)
const CAR_START_Y: float = 0.42
const INSTANCE_SPACING: float = 60.0
const MAX_STEER: float = 0.6
const OBSTACLE_LAYER: int = 2
const HIDDEN_Y: float = -40.0
## The car centre's x stays this far inside the end walls at the start.
const START_END_MARGIN: float = 2.5
## In-bay starts: the car centre this far out of the bay centre along the bay axis (towards the
## aisle; negative = deeper), this far across it, and turned up to this much (rad) from the axis.
## The extremes keep the car clear of the neighbours' parked cars.
const IN_BAY_AXIAL: Vector2 = Vector2(-0.5, 3.5)
const IN_BAY_LATERAL: float = 0.4
const IN_BAY_TURN: float = 0.44
## The state before the rays; the sensor's names ("ray_0" ...) follow.
const BASE_NAMES: PackedStringArray = [
	"car_x", "car_z", "car_heading", "speed", "lateral_speed", "yaw_rate", "steering",
	"target_x", "target_z", "target_heading", "heading_error", "footprint_out", "parked", "collided"]
const N_BASE: int = 14
const ParkingLook := preload("res://envs/parking3d/look/parking_look.gd")

## Target bay 0-15 (0-7 north row, 8-15 south), -1 = random.
@export_range(-1, 15) var target_bay: int
## Probability that each other bay holds a parked car.
@export_range(0.0, 1.0) var occupancy: float
## Start x within +- this many metres of the target bay centre (kept inside the lot).
@export_range(0.0, 10.0) var start_dx: float
## Start z within +- this many metres of the aisle centre line.
@export_range(0.0, 3.0) var start_dz: float
## Start heading: facing into the bay +- this many degrees (180 = any).
@export_range(0.0, 180.0) var start_heading_range: float
## Share of episodes that start anywhere in the aisle (x over its whole length, z as start_dz,
## any heading) instead of near the bay (start_dx, start_heading_range).
@export_range(0.0, 1.0) var start_anywhere: float
## Share of episodes that start in or half in the target bay, nose or tail first (a curriculum
## for training: the parking end of the task, with its reward close at hand).
@export_range(0.0, 1.0) var start_in_bay: float
## [x, z, heading_deg]: place the car exactly (tests); empty = random.
@export var start_pose: PackedFloat32Array
## Initial forward speed, m/s (tests).
@export_range(-10.0, 10.0) var start_speed: float
## Parking nose-in or tail-in both count.
@export var allow_reverse: bool
## Max degrees between car and bay axis when parked.
@export_range(0.0, 90.0) var heading_tolerance: float
## Max speed (m/s) when parked.
@export_range(0.0, 5.0) var max_park_speed: float
## A collision with a parked car or wall ends the episode.
@export var end_on_collision: bool
## Engine force of full throttle, N (car mass 1000 kg).
@export_range(0.0, 10000.0) var max_engine_force: float
## VehicleBody3D brake value when braking.
@export_range(0.0, 1000.0) var brake_force: float
## No engine force above this speed, m/s.
@export_range(0.1, 30.0) var max_speed: float
## Length of the car's body (collision box and footprint), m.
@export_range(3.5, 4.5) var car_length: float
## Width of the car's body (collision box and footprint), m.
@export_range(1.5, 2.0) var car_width: float

var _target_bay: int = 0
var _target_pos: Vector3 = Vector3.ZERO
var _target_heading: float = 0.0
var _throttle: float = 0.0
var _steer: float = 0.0
var _collided: bool = false
var _parked: bool = false
var _heading_tolerance: float = 0.0
var _state: PackedFloat32Array = PackedFloat32Array()
var _parked_bodies: Array[StaticBody3D] = []
var _sensor: RaySensor3D = null
## The look of a watched instance (null when headless).
var _look: ParkingLook = null

var _car_template: VehicleBody3D = null

@onready var _lot: Node3D = $Lot as Node3D
@onready var _car: VehicleBody3D = $Lot/Car as VehicleBody3D
@onready var _floor: StaticBody3D = $Lot/Floor as StaticBody3D


func _enter_tree() -> void:
	# Place the lot before its bodies enter the physics space, far from every other instance.
	var lot: Node3D = get_node("Lot") as Node3D
	var where: Vector2 = grid_position(Vector2.ONE * INSTANCE_SPACING)
	lot.position = Vector3(where.x, 0.0, where.y)


func _exit_tree() -> void:
	if _car_template != null:
		_car_template.free()
		_car_template = null


func _ready() -> void:
	_build_static(_lot)
	_car_template = _car.duplicate() as VehicleBody3D
	# The box is the scene's shared sub-resource: this instance's cars get one of their own,
	# sized from the options (again at every reset; the cars made from the template share it).
	var box: BoxShape3D = (_car.get_node("Shape") as CollisionShape3D).shape.duplicate() as BoxShape3D
	for car: VehicleBody3D in [_car, _car_template]:
		(car.get_node("Shape") as CollisionShape3D).shape = box
	_size_car_template()
	_adopt_car(_car)
	_state.resize(N_BASE + _sensor.state_size())
	if watched:
		var bays: PackedVector3Array = PackedVector3Array()
		for i: int in 2 * BAYS_PER_ROW:
			bays.append(_bay_center(i))
		_look = ParkingLook.new()
		_look.name = "Look"
		_lot.add_child(_look)
		# One sun and one sky for the shared world of all the instances (instance 0's).
		_look.build(Vector2(LOT_HALF_X, LOT_HALF_Z), _lot.get_node("Walls") as StaticBody3D, bays,
				Vector2(BAY_WIDTH, BAY_DEPTH), _parked_bodies, _car, INSTANCE_SPACING, instance_index == 0)


func state_names() -> PackedStringArray:
	# Also called on an instance outside the tree (the server's probe): read the scene's sensor.
	var sensor: RaySensor3D = get_node("Lot/Car/RaySensor") as RaySensor3D
	return BASE_NAMES + sensor.state_names("ray")


func action_size() -> int:
	return 2


func reset_episode() -> void:
	_heading_tolerance = deg_to_rad(heading_tolerance)
	_size_car_template()
	var n_bays: int = 2 * BAYS_PER_ROW
	_target_bay = rng.randi_range(0, n_bays - 1)
	if target_bay >= 0:
		_target_bay = target_bay
	_target_pos = _bay_center(_target_bay)
	_target_heading = PI if _target_bay < BAYS_PER_ROW else 0.0
	for i: int in n_bays:
		var occupied: bool = rng.randf() < occupancy and i != _target_bay
		var where: Vector3 = _bay_center(i) + Vector3(0.0, PARKED_SIZE.y * 0.5, 0.0)
		if not occupied:
			where.y = HIDDEN_Y
		var body: StaticBody3D = _parked_bodies[i]
		body.position = where
		body.visible = occupied
		# Node transforms reach the physics server only at the next frame: set it now, so the
		# rays of the first observation already see this episode's parked cars.
		PhysicsServer3D.body_set_state(body.get_rid(), PhysicsServer3D.BODY_STATE_TRANSFORM,
				body.global_transform)
	# Start pose: drawn every episode (same rng consumption), overridden by start_pose. The
	# shares draw only when set, so the defaults' episodes stay those of earlier versions.
	var h_range: float = deg_to_rad(start_heading_range)
	var x_limit: float = LOT_HALF_X - START_END_MARGIN
	var x: float = clampf(_target_pos.x + rng.randf_range(-start_dx, start_dx), -x_limit, x_limit)
	var z: float = rng.randf_range(-start_dz, start_dz)
	var heading: float = _target_heading + rng.randf_range(-h_range, h_range)
	if start_anywhere > 0.0 and rng.randf() < start_anywhere:
		x = rng.randf_range(-x_limit, x_limit)
		heading = rng.randf_range(-PI, PI)
	if start_in_bay > 0.0 and rng.randf() < start_in_bay:
		var axis: Vector3 = Vector3(sin(_target_heading), 0.0, cos(_target_heading))
		var across: Vector3 = Vector3(axis.z, 0.0, -axis.x)
		var where: Vector3 = _target_pos - axis * rng.randf_range(IN_BAY_AXIAL.x, IN_BAY_AXIAL.y) \
				+ across * rng.randf_range(-IN_BAY_LATERAL, IN_BAY_LATERAL)
		x = where.x
		z = where.z
		heading = _target_heading + (PI if rng.randf() < 0.5 else 0.0) \
				+ rng.randf_range(-IN_BAY_TURN, IN_BAY_TURN)
	if start_pose.size() >= 3:
		x = start_pose[0]
		z = start_pose[1]
		heading = deg_to_rad(start_pose[2])
	_place_car(x, z, heading, start_speed)
	_throttle = 0.0
	_steer = 0.0
	_collided = false
	_parked = false
	if _look != null:
		_look.show_episode(_target_bay, episode_seed)


func apply_action(action: PackedFloat32Array) -> void:
	_collided = false  # a collision is an event of this step, not a latch for the episode
	var t: float = action[0]
	var s: float = action[1]
	_throttle = clampf(t, -1.0, 1.0) if is_finite(t) else 0.0
	_steer = clampf(s, -1.0, 1.0) if is_finite(s) else 0.0
	_drive()


func get_state() -> PackedFloat32Array:
	var xform: Transform3D = _car.transform  # in the lot frame
	var forward: Vector3 = xform.basis.z
	var heading: float = atan2(forward.x, forward.z)
	var local_velocity: Vector3 = _car.linear_velocity * xform.basis  # world -> car frame
	var speed: float = local_velocity.z
	var herr: float = absf(wrapf(heading - _target_heading, -PI, PI))
	if allow_reverse:
		herr = minf(herr, PI - herr)
	var tipped: bool = xform.basis.y.y < 0.5
	if tipped:
		_collided = true
	var outside: float = _footprint_outside(xform)
	_parked = (not _collided and herr <= _heading_tolerance
			and _car.linear_velocity.length() < max_park_speed and outside <= 0.0)
	if _parked:
		end_episode("parked")
	elif tipped:
		end_episode("tipped over")  # a car on its side cannot go on, whatever end_on_collision says
	elif _collided and end_on_collision:
		end_episode("collision")
	_state[0] = xform.origin.x
	_state[1] = xform.origin.z
	_state[2] = heading
	_state[3] = speed
	_state[4] = local_velocity.x
	_state[5] = _car.angular_velocity.y
	_state[6] = _steer
	_state[7] = _target_pos.x
	_state[8] = _target_pos.z
	_state[9] = _target_heading
	_state[10] = herr
	_state[11] = outside
	_state[12] = 1.0 if _parked else 0.0
	_state[13] = 1.0 if _collided else 0.0
	_sensor.sense()
	# Metres, as v0 always gave: distance / 8 m * 8 m is exact (a power of two scales exactly).
	var rays: PackedFloat32Array = _sensor.distances
	var length: float = _sensor.length
	for i: int in rays.size():
		_state[N_BASE + i] = rays[i] * length
	return _state


func human_action() -> PackedFloat32Array:
	var throttle: float = key_axis([KEY_DOWN, KEY_S], [KEY_UP, KEY_W])
	var steer: float = key_axis([KEY_LEFT, KEY_A], [KEY_RIGHT, KEY_D])
	return PackedFloat32Array([throttle, steer])


func key_help() -> String:
	return "W/S throttle/reverse, A/D steer, release to brake"


func hud_text() -> String:
	var distance: float = Vector2(_car.position.x - _target_pos.x, _car.position.z - _target_pos.z).length()
	var status: String = "PARKED" if _parked else ("COLLISION" if _collided else "driving")
	return "%s   bay %d   distance %.1f m   speed %.1f m/s" % [
		status, _target_bay, distance, _car.linear_velocity.length()]


func sync_view(delta: float) -> void:
	if _look != null:
		_look.sync(_car, delta)


func _drive() -> void:
	var speed: float = _car.linear_velocity.dot(_car.global_basis.z)
	var force: float = _throttle * max_engine_force
	var brake: float = 0.0
	if absf(_throttle) < 0.1:
		force = 0.0
		brake = brake_force
	elif _throttle * speed < -0.05:
		force = 0.0  # opposite to the motion: brake first
		brake = brake_force * absf(_throttle)
	elif absf(speed) > max_speed:
		force = 0.0
	_car.engine_force = force
	_car.brake = brake
	_car.steering = -_steer * MAX_STEER


## A fresh car body for every episode: VehicleBody3D keeps wheel and contact state across a
## teleport, so a reset car did not repeat its first episode bit for bit.
func _renew_car(xform: Transform3D) -> void:
	var old: VehicleBody3D = _car
	var fresh: VehicleBody3D = _car_template.duplicate() as VehicleBody3D
	fresh.transform = xform
	_lot.remove_child(old)
	old.queue_free()
	_lot.add_child(fresh)
	_adopt_car(fresh)


## Sizes the cars' box from car_length and car_width (its height as in the scene).
func _size_car_template() -> void:
	var box: BoxShape3D = (_car_template.get_node("Shape") as CollisionShape3D).shape as BoxShape3D
	box.size = Vector3(car_width, box.size.y, car_length)


func _adopt_car(car: VehicleBody3D) -> void:
	_car = car
	_sensor = car.get_node("RaySensor") as RaySensor3D  # it ignores its parent, this car
	car.contact_monitor = true
	car.max_contacts_reported = 4
	car.body_entered.connect(_on_car_body_entered)


func _place_car(x: float, z: float, heading: float, speed: float) -> void:
	var xform: Transform3D = Transform3D(Basis(Vector3.UP, heading), Vector3(x, CAR_START_Y, z))
	_renew_car(xform)
	_car.transform = xform
	_car.linear_velocity = _car.global_basis.z * speed
	_car.angular_velocity = Vector3.ZERO
	_car.engine_force = 0.0
	_car.brake = 0.0
	_car.steering = 0.0
	PhysicsServer3D.body_set_state(_car.get_rid(), PhysicsServer3D.BODY_STATE_TRANSFORM, _car.global_transform)
	PhysicsServer3D.body_set_state(_car.get_rid(), PhysicsServer3D.BODY_STATE_LINEAR_VELOCITY, _car.linear_velocity)
	PhysicsServer3D.body_set_state(_car.get_rid(), PhysicsServer3D.BODY_STATE_ANGULAR_VELOCITY, Vector3.ZERO)
	_car.reset_physics_interpolation()


## How far (m) the car's footprint sticks out of the target bay: the largest distance of a corner
## outside the bay rectangle along x or z; 0 when the whole footprint is inside.
func _footprint_outside(xform: Transform3D) -> float:
	var half_w: float = BAY_WIDTH * 0.5
	var half_d: float = BAY_DEPTH * 0.5
	var worst: float = 0.0
	for corner: Vector2 in [Vector2(1, 1), Vector2(1, -1), Vector2(-1, 1), Vector2(-1, -1)]:
		var p: Vector3 = xform * Vector3(corner.x * car_width * 0.5, 0.0, corner.y * car_length * 0.5)
		worst = maxf(worst, maxf(absf(p.x - _target_pos.x) - half_w, absf(p.z - _target_pos.z) - half_d))
	return worst


func _bay_center(bay: int) -> Vector3:
	var column: int = bay % BAYS_PER_ROW
	var side: float = -1.0 if bay < BAYS_PER_ROW else 1.0
	var x: float = (float(column) - (BAYS_PER_ROW - 1) * 0.5) * BAY_WIDTH
	return Vector3(x, 0.0, side * (AISLE_WIDTH * 0.5 + BAY_DEPTH * 0.5))


func _on_car_body_entered(body: Node) -> void:
	if body != _floor:
		_collided = true


## Walls and one parked-car body per bay (moved, never re-created, per episode).
func _build_static(lot: Node3D) -> void:
	var walls: StaticBody3D = StaticBody3D.new()
	walls.name = "Walls"
	walls.collision_layer = 1 << (OBSTACLE_LAYER - 1)
	walls.collision_mask = 0
	lot.add_child(walls)
	var long_size: Vector3 = Vector3(2.0 * LOT_HALF_X + WALL_THICKNESS, WALL_HEIGHT, WALL_THICKNESS)
	var short_size: Vector3 = Vector3(WALL_THICKNESS, WALL_HEIGHT, 2.0 * LOT_HALF_Z + WALL_THICKNESS)
	_add_box(walls, long_size, Vector3(0.0, WALL_HEIGHT * 0.5, -LOT_HALF_Z))
	_add_box(walls, long_size, Vector3(0.0, WALL_HEIGHT * 0.5, LOT_HALF_Z))
	_add_box(walls, short_size, Vector3(-LOT_HALF_X, WALL_HEIGHT * 0.5, 0.0))
	_add_box(walls, short_size, Vector3(LOT_HALF_X, WALL_HEIGHT * 0.5, 0.0))
	var parked_shape: BoxShape3D = BoxShape3D.new()
	parked_shape.size = PARKED_SIZE
	for i: int in 2 * BAYS_PER_ROW:
		var body: StaticBody3D = StaticBody3D.new()
		body.name = "Parked%d" % i
		body.collision_layer = 1 << (OBSTACLE_LAYER - 1)
		body.collision_mask = 0
		body.position = _bay_center(i) + Vector3(0.0, HIDDEN_Y, 0.0)
		var shape: CollisionShape3D = CollisionShape3D.new()
		shape.shape = parked_shape
		body.add_child(shape)
		lot.add_child(body)
		_parked_bodies.append(body)


func _add_box(body: StaticBody3D, size: Vector3, where: Vector3) -> void:
	var shape: BoxShape3D = BoxShape3D.new()
	shape.size = size
	var node: CollisionShape3D = CollisionShape3D.new()
	node.shape = shape
	node.position = where
	body.add_child(node)
