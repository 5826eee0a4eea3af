class_name RLAgent
extends Node
## Base class of every env instance scene: the root node of the scene extends it.
##
## The simulation controller instances the scene N times and drives the batch: per step it calls
## apply_action() once per instance, lets `action_repeat` physics ticks run, then calls
## get_state() once per instance. Override the methods below; keep per-tick script work out of
## them where you can (store the action, let the physics engine do the rest).
##
## Call end_episode() when the episode ends by itself (goal, crash). It may be called during the
## physics ticks or from inside get_state(): the controller reads the flag after get_state().
## The time limit (truncation) is the controller's job.

## Emitted when an episode ends: status 1 = terminated (end_episode()), 2 = truncated (time limit).
signal episode_ended(status: int)

const STATUS_TERMINATED: int = 1
const STATUS_TRUNCATED: int = 2

## 0..N-1, set before the instance enters the tree; place the instance apart from the others.
var instance_index: int = 0
## N, the number of instances in this process.
var n_instances: int = 1
## True in play mode: enable your camera and read the keyboard.
var human_control: bool = false
## Seed of the current episode (set before every reset_episode()).
var episode_seed: int = 0
## Seeded with episode_seed before every reset_episode(); draw all episode randomness from it.
var rng: RandomNumberGenerator = RandomNumberGenerator.new()
## Scene options of the current episode (read-only; apply your own defaults).
var options: Dictionary = {}

var _terminated: bool = false


## Names of the raw state floats, in order. Called once, at hello.
func state_names() -> PackedStringArray:
	push_error("%s must override state_names()" % get_path())
	return PackedStringArray()


## Floats per action. Called once, at hello.
func action_size() -> int:
	push_error("%s must override action_size()" % get_path())
	return 0


## Puts the instance in the first state of a new episode: reposition, don't re-instantiate.
func reset_episode() -> void:
	pass


## Stores the action; it holds for every physics tick of the step.
func apply_action(_action: PackedFloat32Array) -> void:
	pass


## Returns state_names().size() floats.
func get_state() -> PackedFloat32Array:
	push_error("%s must override get_state()" % get_path())
	return PackedFloat32Array()


## Play mode: reads the keyboard and returns an action (called every physics tick).
func human_action() -> PackedFloat32Array:
	var action: PackedFloat32Array = PackedFloat32Array()
	action.resize(action_size())
	return action


## Play mode helper for human_action(): 1.0 while a key of `positive` is held, -1.0 for one of
## `negative`, 0.0 for both or neither (physical keys, so WASD works on any layout).
static func key_axis(negative: Array[Key], positive: Array[Key]) -> float:
	return float(_any_key_held(positive)) - float(_any_key_held(negative))


static func _any_key_held(keys: Array[Key]) -> bool:
	for key: Key in keys:
		if Input.is_physical_key_pressed(key):
			return true
	return false


## Play mode: a short readout shown in the HUD (called every frame).
func hud_text() -> String:
	return ""


## Ends the episode from the scene (goal, crash): the step gets the terminated bit.
func end_episode() -> void:
	if _terminated:
		return
	_terminated = true
	episode_ended.emit(STATUS_TERMINATED)


## True once end_episode() was called in the current episode.
func is_episode_terminated() -> bool:
	return _terminated


## Controller use: starts an episode with its seed and options, then calls reset_episode().
func begin_episode(seed_value: int, episode_options: Dictionary) -> void:
	_terminated = false
	episode_seed = seed_value
	rng.seed = seed_value
	options = episode_options
	reset_episode()


## Controller use: the episode hit the time limit.
func notify_truncated() -> void:
	episode_ended.emit(STATUS_TRUNCATED)
