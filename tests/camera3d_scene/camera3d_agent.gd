extends RLAgent
## Test-only scene (tests/test_pixels.py): a CameraSensor3D watching a box on a floor.
##
## The arena (a floor, a light, a sky (WorldEnvironment), a red box at the origin, a Camera3D
## "Eye" 6 m behind and 3 m above it, looking at the box) is placed apart from the other
## instances. Actions move the box (action 0) and the Eye (action 1) along x by 0.5 m per unit
## per step; the state is their x.
## camera3d.tscn's sensor looks through the Eye (camera_path) at 48 x 32 RGB, stack 2;
## camera3d_own.tscn's looks from where it stands (its own transform, the Eye's start);
## camera3d_bad_path.tscn's camera_path names the box, which is no Camera3D.

const STEP_METRES: float = 0.5
const INSTANCE_SPACING: float = 100.0
const STATE_NAMES: PackedStringArray = ["box_x", "eye_x"]

var _state: PackedFloat32Array = PackedFloat32Array()
var _push: Vector2 = Vector2.ZERO

@onready var _box: Node3D = $Arena/Box as Node3D
@onready var _eye: Camera3D = $Arena/Eye as Camera3D


func _enter_tree() -> void:
	var arena: Node3D = get_node("Arena") as Node3D
	var spot: Vector2 = grid_position(Vector2.ONE * INSTANCE_SPACING)
	arena.position = Vector3(spot.x, 0.0, spot.y)


func _ready() -> void:
	_state.resize(STATE_NAMES.size())


func state_names() -> PackedStringArray:
	return STATE_NAMES


func action_size() -> int:
	return 2


func reset_episode() -> void:
	_box.position.x = 0.0
	_eye.position.x = 0.0


func apply_action(action: PackedFloat32Array) -> void:
	_push = Vector2(action[0], action[1])


func get_state() -> PackedFloat32Array:
	# Moved once per step (not per tick): the sensor sees the positions of the decision point.
	_box.position.x += STEP_METRES * _push.x
	_eye.position.x += STEP_METRES * _push.y
	_push = Vector2.ZERO
	_state[0] = _box.position.x
	_state[1] = _eye.position.x
	return _state
