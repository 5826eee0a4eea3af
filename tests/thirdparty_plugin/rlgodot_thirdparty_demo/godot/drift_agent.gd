extends RLAgent
## A point on [-1, 1] pushed by a seeded drift; the action pushes back. Leaving the line ends it.

## Largest drift speed per second (each episode draws one in +- this).
@export_range(0.0, 2.0) var drift_scale: float

var _position: float = 0.0
var _drift: float = 0.0
var _push: float = 0.0


func state_names() -> PackedStringArray:
	return PackedStringArray(["position", "drift"])


func action_size() -> int:
	return 1


func reset_episode() -> void:
	_position = rng.randf_range(-0.5, 0.5)
	_drift = rng.randf_range(-drift_scale, drift_scale)
	_push = 0.0


func apply_action(action: PackedFloat32Array) -> void:
	_push = clampf(action[0], -1.0, 1.0)


func get_state() -> PackedFloat32Array:
	return PackedFloat32Array([_position, _drift])


func human_action() -> PackedFloat32Array:
	return PackedFloat32Array([Input.get_axis("ui_left", "ui_right")])


func _physics_process(delta: float) -> void:
	if is_episode_terminated():
		return
	_position += (_drift + _push) * delta
	if absf(_position) > 1.0:
		_position = clampf(_position, -1.0, 1.0)
		end_episode()
