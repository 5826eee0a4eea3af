extends RefCounted
## The speed of an attached game (RLServer): simulated time runs at `factor()` x wall time,
## while every physics tick still simulates exactly 1 / physics_hz seconds.
##
## Without --fixed-fps Godot syncs physics to wall time: it runs physics_ticks_per_second ticks
## per second, each advancing time_scale / physics_ticks_per_second seconds. time_scale alone
## would enlarge that step (other physics); raising both by the factor keeps it at
## 1 / physics_hz. max_physics_steps_per_frame bounds the ticks of one frame: it is set from
## the measured cost of a tick so that a frame's physics takes about FRAME_BUDGET_USEC, which
## keeps the window responsive when the simulation cannot keep up (the game then runs as fast
## as the machine and the trainer allow). "max" is MAX_FACTOR: always that case.
##
## The engine settings found when the object is made are put back by restore().

const Protocol := preload("res://addons/rlgodot/net/protocol.gd")

## Speed levels, x real time, that faster() and slower() step through; 0.0 is "max".
const LEVELS: PackedFloat32Array = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 0.0]
## The factor of "max": the engine is asked for far more ticks than any scene manages.
const MAX_FACTOR: float = Protocol.MAX_REALTIME_FACTOR
## Wall time the physics of one frame may take before the frame ends (and may draw), usec.
const FRAME_BUDGET_USEC: float = 25000.0
const MIN_STEPS_PER_FRAME: int = 8
const MAX_STEPS_PER_FRAME: int = 100000
## Frame rate caps: at a finite speed (a window needs no more) and while no trainer is
## connected (a waiting game leaves the CPU to starting trainers). While the trainer is busy
## the server's wait for its request paces the frames instead.
const RUNNING_MAX_FPS: int = 60
const NO_TRAINER_MAX_FPS: int = 30
## Weight of the newest frame in the running mean of the cost of a tick.
const COST_SMOOTHING: float = 0.2

## Physics ticks per simulated second of the session.
var physics_hz: int = 60
## The session's Engine.time_scale (the hello's config.time_scale; 1 leaves the physics as is).
var time_scale: float = 1.0
## Index into LEVELS.
var level: int = LEVELS.size() - 1

var _saved_ticks: int = Engine.physics_ticks_per_second
var _saved_scale: float = Engine.time_scale
var _saved_steps: int = Engine.max_physics_steps_per_frame
var _saved_max_fps: int = Engine.max_fps
var _tick_usec: float = 0.0


## Picks the level nearest to `factor` x real time (0 or less: max).
func set_factor(factor: float) -> void:
	if factor <= 0.0:
		level = LEVELS.size() - 1
		return
	var best: int = 0
	for i: int in LEVELS.size() - 1:
		if absf(log(LEVELS[i] / factor)) < absf(log(LEVELS[best] / factor)):
			best = i
	level = best


func faster() -> void:
	level = mini(level + 1, LEVELS.size() - 1)


func slower() -> void:
	level = maxi(level - 1, 0)


func is_max() -> bool:
	return LEVELS[level] <= 0.0


## The target: simulated seconds per wall second.
func factor() -> float:
	return MAX_FACTOR if is_max() else LEVELS[level]


## "max", "x4", "x0.25".
func label() -> String:
	if is_max():
		return "max"
	var value: float = LEVELS[level]
	return "x%d" % int(value) if value == floorf(value) else "x%s" % str(value)


## Sets the engine for stepping at the current speed.
func apply_running() -> void:
	var ticks: int = maxi(1, roundi(physics_hz * factor()))
	Engine.physics_ticks_per_second = ticks
	Engine.time_scale = time_scale * float(ticks) / float(physics_hz)
	Engine.max_physics_steps_per_frame = _steps_per_frame()
	Engine.max_fps = 0 if is_max() else _capped_fps(RUNNING_MAX_FPS)


## Sets the engine for a pause of the trainer (the tree is paused: nothing is simulated).
func apply_paused() -> void:
	Engine.physics_ticks_per_second = physics_hz
	Engine.time_scale = time_scale
	Engine.max_fps = _saved_max_fps


## Sets the engine while no trainer is connected: the game's own settings, at most
## NO_TRAINER_MAX_FPS frames per second (a waiting game leaves the CPU to starting trainers).
func apply_no_trainer() -> void:
	restore()
	Engine.max_fps = _capped_fps(NO_TRAINER_MAX_FPS)


## Puts back the engine settings found when this object was made.
func restore() -> void:
	Engine.physics_ticks_per_second = _saved_ticks
	Engine.time_scale = _saved_scale
	Engine.max_physics_steps_per_frame = _saved_steps
	Engine.max_fps = _saved_max_fps


## After a frame that ran `ticks` physics ticks in `frame_usec` of wall time: updates the cost
## of a tick and the frame's tick limit from it.
func measure(frame_usec: int, ticks: int) -> void:
	if ticks <= 0 or frame_usec <= 0:
		return
	var cost: float = float(frame_usec) / float(ticks)
	_tick_usec = cost if _tick_usec <= 0.0 else lerpf(_tick_usec, cost, COST_SMOOTHING)
	Engine.max_physics_steps_per_frame = _steps_per_frame()


func _steps_per_frame() -> int:
	if _tick_usec <= 0.0:
		return MIN_STEPS_PER_FRAME
	return clampi(roundi(FRAME_BUDGET_USEC / _tick_usec), MIN_STEPS_PER_FRAME, MAX_STEPS_PER_FRAME)


## `fps`, or the project's own cap when that is lower.
func _capped_fps(fps: int) -> int:
	return fps if _saved_max_fps <= 0 else mini(fps, _saved_max_fps)
