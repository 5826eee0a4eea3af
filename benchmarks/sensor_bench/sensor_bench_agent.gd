extends RLAgent
## Benchmark scene (benchmarks/ray_sensors.py): one RaySensor2D and one RaySensor3D per
## instance, each on a turret in the middle of a walled room with four pillars, so some rays hit
## and some reach their length. The action turns both turrets; get_state() senses as the option
## `sensing` says and returns the first distance of each sensor.

## Rays of each sensor.
@export_range(1, 1024) var rays: int
## Which sensors get_state() casts: 0 none, 1 the 2D one, 2 the 3D one, 3 both.
@export_range(0, 3) var sensing: int

var _state: PackedFloat32Array = PackedFloat32Array([1.0, 1.0])
var _turn: float = 0.0

@onready var _turret_2d: Node2D = $Room2D/Turret as Node2D
@onready var _turret_3d: Node3D = $Room3D/Turret as Node3D
@onready var _sensor_2d: RaySensor2D = $Room2D/Turret/RaySensor2D as RaySensor2D
@onready var _sensor_3d: RaySensor3D = $Room3D/Turret/RaySensor3D as RaySensor3D


func _enter_tree() -> void:
	# Each instance's rooms in a cell of their own, before the walls enter the physics spaces.
	(get_node("Room2D") as Node2D).position = grid_position(Vector2.ONE * 1000.0)
	var cell: Vector2 = grid_position(Vector2.ONE * 20.0)
	(get_node("Room3D") as Node3D).position = Vector3(cell.x, 0.0, cell.y)


func state_names() -> PackedStringArray:
	return PackedStringArray(["ray2d_0", "ray3d_0"])


func action_size() -> int:
	return 1


func reset_episode() -> void:
	_sensor_2d.ray_count = rays
	_sensor_3d.ray_count = rays
	_turn = 0.0


func apply_action(action: PackedFloat32Array) -> void:
	_turn += action[0] * 0.1
	_turret_2d.rotation = _turn
	_turret_3d.rotation.y = _turn


func get_state() -> PackedFloat32Array:
	if sensing & 1:
		_sensor_2d.sense()
		_state[0] = _sensor_2d.distances[0]
	if sensing & 2:
		_sensor_3d.sense()
		_state[1] = _sensor_3d.distances[0]
	return _state
