extends RLAgent
## Test-only scene (tests/test_server_errors.py): raises a GDScript error on purpose. A step
## whose action is > 0.5 calls a method on null in apply_action(); a reset with the option
## fail_reset does the same in reset_episode(), and fail_ready (a hello option) in _ready().
## Otherwise it integrates the action.

@export var fail_reset: bool = false
@export var fail_ready: bool = false

var _x: float = 0.0
var _missing: Node = null


func _ready() -> void:
	if fail_ready:
		_missing.set_name("ready_fails_here")


func state_names() -> PackedStringArray:
	return PackedStringArray(["x"])


func action_size() -> int:
	return 1


func reset_episode() -> void:
	_x = 0.0
	if fail_reset:
		_missing.set_name("reset_fails_here")


func apply_action(action: PackedFloat32Array) -> void:
	_x += action[0]
	if action[0] > 0.5:
		_missing.set_name("step_fails_here")


func get_state() -> PackedFloat32Array:
	return PackedFloat32Array([_x])
