extends RLAgent
## The null env: no bodies, no per-tick work; eight signals of the episode's seed and step count.

const SIGNALS: int = 8

var _phase: float = 0.0
var _steps: int = 0
var _state: PackedFloat32Array = PackedFloat32Array()


func _ready() -> void:
	_state.resize(SIGNALS)


func state_names() -> PackedStringArray:
	var names: PackedStringArray = PackedStringArray()
	for k: int in SIGNALS:
		names.append("signal_%d" % k)
	return names


func action_size() -> int:
	return 2


func reset_episode() -> void:
	_phase = rng.randf_range(0.0, TAU)
	_steps = 0


func apply_action(_action: PackedFloat32Array) -> void:
	_steps += 1


func get_state() -> PackedFloat32Array:
	var t: float = _phase + _steps * 0.01
	for k: int in SIGNALS:
		_state[k] = sin(t * (k + 1))
	return _state
