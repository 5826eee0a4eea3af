extends RLAgent
## ball: push a ball across a walled top-down arena into a target circle.
##
## | | |
## |---|---|
## | action (2) | force direction x, y: each clamped to [-1, 1], the vector limited to length 1, times max_force |
## | state (7) | ball_x, ball_y (m, from the arena centre, y grows down the screen), ball_vx, ball_vy (m/s), target_x, target_y (m), reached (0/1) |
## | terminated | the ball centre is within target_radius of the target centre at the end of a step (checked in get_state(), every action_repeat ticks) |
## | truncated | by the batch (max_episode_steps) |
##
## Square arena of half-size 5 m, no gravity. Ball: radius 0.25 m, 1 kg, linear damping 2 /s,
## so with the default max_force of 8 N it tops out near 3.9 m/s and crosses the arena corner to
## corner in about 3.7 s. Each episode draws the ball start (at rest) and the target from `rng`,
## both at least 0.5 m from the walls and at least min_start_distance apart.
##
## Options: the @export properties below (values and defaults come from the Python EnvSpec).
##
## Version history: v0 first version.

const ArenaView := preload("res://envs/ball/arena_view.gd")

const PIXELS_PER_METRE: float = 50.0
const ARENA_HALF_SIZE: float = 5.0
const WALL_MARGIN: float = 0.5
const INSTANCE_SPACING: float = 12.0
## Watched arenas are spread wider, so a wide view never shows a neighbour's arena.
const WATCHED_SPACING_FACTOR: float = 3.0
const PLACEMENT_ATTEMPTS: int = 1000
const STATE_NAMES: PackedStringArray = [
	"ball_x", "ball_y", "ball_vx", "ball_vy", "target_x", "target_y", "reached"]

## Metres from the target centre that count as reached.
@export_range(0.01, 50.0) var target_radius: float
## Minimum metres between the start and the target (the farthest pair drawn when unreachable).
@export_range(0.0, 12.0) var min_start_distance: float
## Force of a full action, newtons (the ball has 1 kg mass).
@export_range(0.0, 100.0) var max_force: float

var _target: Vector2 = Vector2.ZERO
var _force_scale: float = 0.0
var _state: PackedFloat32Array = PackedFloat32Array()

@onready var _arena: ArenaView = $Arena as ArenaView
@onready var _ball: RigidBody2D = $Arena/Ball as RigidBody2D
@onready var _camera: Camera2D = $Arena/Camera as Camera2D


func _enter_tree() -> void:
	# Place the arena before its bodies enter the physics space: N arenas created on top of each
	# other at the origin would make every broadphase insert (and the first step) pay O(N) pairs.
	var arena: Node2D = get_node("Arena") as Node2D
	var spacing: float = INSTANCE_SPACING * (WATCHED_SPACING_FACTOR if watched else 1.0)
	arena.position = grid_position(Vector2.ONE * spacing * PIXELS_PER_METRE)


func _ready() -> void:
	_state.resize(STATE_NAMES.size())
	_camera.enabled = watched
	_arena.visible = watched
	if watched:
		_camera.make_current()


func state_names() -> PackedStringArray:
	return STATE_NAMES


func action_size() -> int:
	return 2


func reset_episode() -> void:
	_force_scale = max_force * PIXELS_PER_METRE
	var limit: float = ARENA_HALF_SIZE - WALL_MARGIN
	var start: Vector2 = Vector2.ZERO
	var target: Vector2 = Vector2.ZERO
	var best: float = -1.0
	# Rejection sampling; an unreachable min_start_distance keeps the farthest pair drawn.
	for attempt: int in PLACEMENT_ATTEMPTS:
		var s: Vector2 = Vector2(rng.randf_range(-limit, limit), rng.randf_range(-limit, limit))
		var t: Vector2 = Vector2(rng.randf_range(-limit, limit), rng.randf_range(-limit, limit))
		var d: float = s.distance_to(t)
		if d > best:
			best = d
			start = s
			target = t
		if d >= min_start_distance:
			break
	_target = target
	_ball.constant_force = Vector2.ZERO
	_ball.linear_velocity = Vector2.ZERO
	_ball.angular_velocity = 0.0
	_ball.position = start * PIXELS_PER_METRE
	# The node defers its transform to the physics server; set it there now as well.
	PhysicsServer2D.body_set_state(_ball.get_rid(), PhysicsServer2D.BODY_STATE_TRANSFORM,
			_ball.global_transform)
	_arena.target_position = target * PIXELS_PER_METRE
	_arena.target_radius = target_radius * PIXELS_PER_METRE


func apply_action(action: PackedFloat32Array) -> void:
	var push: Vector2 = Vector2(action[0], action[1])
	if not push.is_finite():
		push = Vector2.ZERO
	push = push.clamp(-Vector2.ONE, Vector2.ONE).limit_length(1.0)
	_ball.constant_force = push * _force_scale


func get_state() -> PackedFloat32Array:
	var position_m: Vector2 = _ball.position / PIXELS_PER_METRE
	var velocity_m: Vector2 = _ball.linear_velocity / PIXELS_PER_METRE
	var reached: bool = position_m.distance_to(_target) <= target_radius
	if reached:
		end_episode("on target")
	_state[0] = position_m.x
	_state[1] = position_m.y
	_state[2] = velocity_m.x
	_state[3] = velocity_m.y
	_state[4] = _target.x
	_state[5] = _target.y
	_state[6] = 1.0 if reached else 0.0
	return _state


func human_action() -> PackedFloat32Array:
	var push_x: float = key_axis([KEY_LEFT, KEY_A], [KEY_RIGHT, KEY_D])
	var push_y: float = key_axis([KEY_UP, KEY_W], [KEY_DOWN, KEY_S])
	return PackedFloat32Array([push_x, push_y])


## Frames the whole arena in the view, whatever its size; redraws it.
func sync_view(_delta: float) -> void:
	var view_size: Vector2 = get_viewport().get_visible_rect().size
	var framed_px: float = (2.0 * ARENA_HALF_SIZE + 1.5) * PIXELS_PER_METRE
	_camera.zoom = Vector2.ONE * minf(view_size.x, view_size.y) / framed_px
	_arena.queue_redraw()


func key_help() -> String:
	return "arrows/WASD push"


func hud_text() -> String:
	var position_m: Vector2 = _ball.position / PIXELS_PER_METRE
	var speed: float = _ball.linear_velocity.length() / PIXELS_PER_METRE
	return "distance to target %.2f m   speed %.2f m/s" % [
		position_m.distance_to(_target), speed]

