extends RefCounted
## The in-engine benchmark (`bench` request): `steps` steps of the whole batch with random
## actions, no I/O, timed by Godot's clock; with `capture` every step also captures the camera
## sensors as a `step` would (the driver does it before next()). The driver calls start(), then
## next() after every finished step until it returns false, then reads result().

const EnvBatch := preload("res://addons/rlgodot/sim/env_batch.gd")
const Protocol := preload("res://addons/rlgodot/net/protocol.gd")

## Distinct random action batches a bench cycles through (generated once, outside the timing).
const ACTION_VARIANTS: int = 8

## The steps capture the cameras (set by start(); false for a scene without cameras).
var capture: bool = false

var _batch: EnvBatch = null
var _left: int = 0
var _steps: int = 0
var _episodes: int = 0
var _start_usec: int = 0
var _actions: PackedFloat32Array = PackedFloat32Array()


## True from start() until the last step has finished.
func is_running() -> bool:
	return _left > 0


## Draws the action batches, starts the clock and begins the first step; `with_capture`: the
## steps capture the cameras, if the scene has any.
func start(batch: EnvBatch, steps: int, with_capture: bool) -> void:
	_batch = batch
	capture = with_capture and not batch.cameras.is_empty()
	var rng: RandomNumberGenerator = RandomNumberGenerator.new()
	rng.seed = 0
	_actions.resize(batch.n_envs * batch.action_size * ACTION_VARIANTS)
	for k: int in _actions.size():
		_actions[k] = rng.randf_range(-1.0, 1.0)
	_steps = steps
	_left = steps
	_episodes = 0
	_start_usec = Time.get_ticks_usec()
	batch.begin_step(_actions, 0)


## One step has finished: counts episode ends, begins the next step; false after the last.
func next() -> bool:
	var ended: int = Protocol.STATUS_TERMINATED | Protocol.STATUS_TRUNCATED
	var status: PackedByteArray = _batch.status
	for i: int in status.size():
		if status[i] & ended:
			_episodes += 1
	_left -= 1
	if _left <= 0:
		return false
	var variant: int = (_steps - _left) % ACTION_VARIANTS
	_batch.begin_step(_actions, variant * _batch.n_envs * _batch.action_size)
	return true


## The bench_result reply.
func result() -> Dictionary:
	var seconds: float = (Time.get_ticks_usec() - _start_usec) / 1e6
	return {"type": Protocol.TYPE_BENCH_RESULT, "steps": _steps, "n_envs": _batch.n_envs,
			"action_repeat": _batch.action_repeat, "seconds": seconds, "episodes": _episodes,
			"captured": capture}
