extends RLAgent
## Test-only scene (tests/test_sensors.py): a RaySensor3D and a RaySensor2D among obstacles at
## known places; the state is what the two sensors read.
##
## Both sensors ride on a body (Arena3D/Body, Arena2D/Body) with a bumper shape in front of them
## (distance 0.9 m / 90 px), and see, along their forward axis (3D -z, 2D +x): a wall (layer 1,
## group "wall") 5 m / 500 px ahead; 90 degrees clockwise a crate (layer 2, group "crate") at
## 3 m / 300 px; 270 degrees clockwise an area (layer 1, group "zone") at 2 m / 200 px; nothing
## behind. Lengths 10 m / 1000 px, so those read 0.09, 0.5, 0.3, 0.2 and 1.0.
##
## State: the 3D sensor's write_to() output at index 0, the 2D sensor's at SLOT, each slot padded
## with -1 (the scene's sensors have MAX_RAYS rays and hit classes on, which fixes the names), then
## the indices write_to() returned, then the 3D sensor's internal children (its line mesh: 1 when
## watched, 0 otherwise). The options reconfigure both sensors at every reset.

const MAX_RAYS: int = 8
const SLOT: int = 2 * MAX_RAYS

## Rays per sensor.
@export_range(1, 8) var ray_count: int
## Angle covered by the rays, degrees.
@export_range(0.0, 360.0) var spread_degrees: float
## Physics layers the rays see (1 = walls and areas, 2 = crates).
@export_range(0, 3) var collision_mask: int
## The rays see areas.
@export var collide_with_areas: bool
## The rays see bodies.
@export var collide_with_bodies: bool
## The rays ignore the body they ride on (its bumper).
@export var exclude_parent: bool
## The rays ignore the wall too (the sensors' `exclude` list).
@export var exclude_wall: bool
## Hit classes on (groups "zone", "crate").
@export var classes: bool
## The bodies turned clockwise (seen from above / on screen) by this many degrees.
@export_range(-360.0, 360.0) var yaw_degrees: float
## The 3D body pitched nose down by this many degrees.
@export_range(-90.0, 90.0) var pitch_degrees: float
## The 3D sensor keeps its rays level (at the body's height, 1 m).
@export var level: bool

var _state: PackedFloat32Array = PackedFloat32Array()

@onready var _body_3d: StaticBody3D = $Arena3D/Body as StaticBody3D
@onready var _body_2d: StaticBody2D = $Arena2D/Body as StaticBody2D
@onready var _sensor_3d: RaySensor3D = $Arena3D/Body/RaySensor3D as RaySensor3D
@onready var _sensor_2d: RaySensor2D = $Arena2D/Body/RaySensor2D as RaySensor2D


func _ready() -> void:
	_state.resize(2 * SLOT + 3)
	if watched:
		($Arena3D/Camera3D as Camera3D).make_current()
		var camera_2d: Camera2D = $Arena2D/Camera2D as Camera2D
		camera_2d.enabled = true
		camera_2d.make_current()


func state_names() -> PackedStringArray:
	# Called on an instance outside the tree too: read the scene's sensors by path.
	var sensor_3d: RaySensor3D = get_node("Arena3D/Body/RaySensor3D") as RaySensor3D
	var sensor_2d: RaySensor2D = get_node("Arena2D/Body/RaySensor2D") as RaySensor2D
	return sensor_3d.state_names("ray3d") + sensor_2d.state_names("ray2d") + PackedStringArray(
			["end3d", "end2d", "lines3d"])


func action_size() -> int:
	return 0


func reset_episode() -> void:
	var groups: PackedStringArray = PackedStringArray(["zone", "crate"] if classes else [])
	var ignored_3d: Array[CollisionObject3D] = []
	var ignored_2d: Array[CollisionObject2D] = []
	if exclude_wall:
		ignored_3d.append($Arena3D/Wall as CollisionObject3D)
		ignored_2d.append($Arena2D/Wall as CollisionObject2D)
	for sensor: Node in [_sensor_3d, _sensor_2d]:
		sensor.set("ray_count", ray_count)
		sensor.set("spread_degrees", spread_degrees)
		sensor.set("collision_mask", collision_mask)
		sensor.set("collide_with_areas", collide_with_areas)
		sensor.set("collide_with_bodies", collide_with_bodies)
		sensor.set("exclude_parent", exclude_parent)
		sensor.set("hit_class_groups", groups)
	_sensor_3d.exclude = ignored_3d
	_sensor_2d.exclude = ignored_2d
	_sensor_3d.level = level
	_sensor_3d.level_height = 1.0
	# Turn the bodies, and tell the physics servers now (node transforms reach them next frame).
	_body_3d.rotation = Vector3(-deg_to_rad(pitch_degrees), -deg_to_rad(yaw_degrees), 0.0)
	PhysicsServer3D.body_set_state(_body_3d.get_rid(), PhysicsServer3D.BODY_STATE_TRANSFORM,
			_body_3d.global_transform)
	_body_2d.rotation = deg_to_rad(yaw_degrees)
	PhysicsServer2D.body_set_state(_body_2d.get_rid(), PhysicsServer2D.BODY_STATE_TRANSFORM,
			_body_2d.global_transform)


func get_state() -> PackedFloat32Array:
	_state.fill(-1.0)
	_sensor_3d.sense()
	_sensor_2d.sense()
	_state[2 * SLOT] = _sensor_3d.write_to(_state, 0)
	_state[2 * SLOT + 1] = _sensor_2d.write_to(_state, SLOT)
	_state[2 * SLOT + 2] = _sensor_3d.get_child_count(true)
	return _state
