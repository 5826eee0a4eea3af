extends Node2D
## Shows the wind: flags on poles along the course stream out in the gust's direction and
## flutter faster the harder it blows (in calm air they hang limp), and streaks of air fly
## across the view while a gust blows, forwards for a tailwind, backwards for a headwind.
## Stepped by simulated time; its own random numbers.

const CourseProfile := preload("res://envs/motorcycle/look/course_profile.gd")

## Metres between flags along the course, and the first flag's x.
const FLAG_EVERY: float = 14.0
const FIRST_FLAG: float = 7.0
const POLE_HEIGHT: float = 2.9
const FLAG_LENGTH: float = 1.0
const FLAG_HEIGHT: float = 0.6
const FLAG_SEGMENTS: int = 10
## Wind (m/s^2) at which flags stream fully out and the streaks are strongest.
const FULL_WIND: float = 1.0
## How fast the shown strength follows the wind, 1/s.
const STRENGTH_RATE: float = 4.0
const STREAKS: int = 30
const FLAG_COLORS: PackedColorArray = [
	Color(0.9, 0.12, 0.1), Color(1.0, 0.82, 0.1), Color(0.1, 0.35, 0.85), Color(0.97, 0.97, 0.97)]

var _course: CourseProfile = null
var _strength: float = 0.0
var _direction: float = 1.0
var _phase: float = 0.0
var _view_center: Vector2 = Vector2.ZERO
var _view_size_m: Vector2 = Vector2(22.0, 12.0)
var _streak_at: PackedVector2Array = PackedVector2Array()
var _streak_length: PackedFloat32Array = PackedFloat32Array()
var _streak_alpha: PackedFloat32Array = PackedFloat32Array()
var _rng: RandomNumberGenerator = RandomNumberGenerator.new()
var _streaks: Node2D = Node2D.new()


func _init() -> void:
	name = "Wind"
	z_index = -2
	_streaks.name = "Streaks"
	_streaks.z_as_relative = false
	_streaks.z_index = 3
	_streaks.draw.connect(_draw_streaks)
	add_child(_streaks)


## Starts an episode on `course`: calm flags, fresh streaks (the same for the same seed).
func clear(course: CourseProfile, seed_value: int) -> void:
	_course = course
	_rng.seed = seed_value
	_strength = 0.0
	_direction = 1.0
	_phase = 0.0
	_streak_at.clear()
	_streak_length.clear()
	_streak_alpha.clear()
	for k: int in STREAKS:
		_streak_at.append(Vector2(_rng.randf_range(-0.5, 0.5), _rng.randf_range(-0.5, 0.5)))
		_streak_length.append(_rng.randf_range(0.8, 2.4))
		_streak_alpha.append(_rng.randf_range(0.35, 1.0))


## Follows `wind` (m/s^2, + = tailwind) over `delta` simulated seconds (0: snap) for a view
## centred on `view_center` (pixels), `view_size_m` large; redraws.
func step(delta: float, wind: float, view_center: Vector2, view_size_m: Vector2) -> void:
	_view_center = view_center
	_view_size_m = view_size_m
	var target: float = clampf(absf(wind) / FULL_WIND, 0.0, 1.0)
	if absf(wind) > 0.001:
		_direction = signf(wind)
	_strength = target if delta <= 0.0 else lerpf(_strength, target, 1.0 - exp(-STRENGTH_RATE * delta))
	_phase += delta * (1.5 + 7.0 * _strength)
	# streaks live in view units (-0.5..0.5 across), flying at a speed relative to the view
	var speed: float = _direction * (9.0 + 14.0 * _strength) / view_size_m.x
	for k: int in _streak_at.size():
		var p: Vector2 = _streak_at[k]
		p.x += speed * delta * (0.7 + 0.3 * _streak_alpha[k])
		if p.x > 0.6:
			p = Vector2(-0.6, _rng.randf_range(-0.5, 0.5))
		elif p.x < -0.6:
			p = Vector2(0.6, _rng.randf_range(-0.5, 0.5))
		_streak_at[k] = p
	queue_redraw()
	_streaks.queue_redraw()


func _draw() -> void:
	if _course == null:
		return
	var half_width: float = _view_size_m.x * 0.5 + FLAG_LENGTH + 1.0
	var center_x: float = _view_center.x / _course.ppm
	var first: int = ceili((center_x - half_width - FIRST_FLAG) / FLAG_EVERY)
	var last: int = floori((center_x + half_width - FIRST_FLAG) / FLAG_EVERY)
	for k: int in range(maxi(first, 0), last + 1):
		var x: float = FIRST_FLAG + FLAG_EVERY * float(k)
		if x > _course.last_x() - 1.0 or absf(x - _course.finish) < 3.0:
			continue
		_draw_flag(x, k)


func _draw_flag(x: float, k: int) -> void:
	var s: float = _course.ppm
	var ground: Vector2 = _course.ground_px(x)
	var top: Vector2 = ground + Vector2(0.0, -POLE_HEIGHT * s)
	draw_line(ground + Vector2(0.0, 0.2 * s), top, Color(0.85, 0.85, 0.88), 0.06 * s)
	draw_circle(top, 0.05 * s, Color(0.95, 0.8, 0.2))
	# the cloth's top edge, segment by segment, from limp (hanging down, a little downwind) to
	# streaming out downwind, with a travelling wave that grows with the strength; the bottom
	# edge follows it FLAG_HEIGHT lower (the hoist stays along the pole)
	var limp: Vector2 = Vector2(_direction * 0.35, 1.0).normalized()
	var out: Vector2 = Vector2(_direction, -0.05).normalized()
	var main: Vector2 = limp.lerp(out, sqrt(_strength)).normalized()
	var upper: PackedVector2Array = PackedVector2Array([top + Vector2(0.0, 0.03 * s)])
	var shades: PackedFloat32Array = PackedFloat32Array([0.0])
	var amplitude: float = 0.1 + 0.35 * _strength
	for j: int in FLAG_SEGMENTS:
		var u: float = float(j + 1) / float(FLAG_SEGMENTS)
		var wave: float = sin(_phase * TAU - u * 6.0 + float(k) * 1.7)
		var dir: Vector2 = main.rotated(wave * amplitude * u)
		upper.append(upper[j] + dir * FLAG_LENGTH / float(FLAG_SEGMENTS) * s)
		shades.append(cos(_phase * TAU - u * 6.0 + float(k) * 1.7) * u)
	# one quad per segment (draw_primitive: no triangulation, so a twisted cloth cannot fail)
	var color: Color = FLAG_COLORS[k % FLAG_COLORS.size()]
	var lower: PackedVector2Array = PackedVector2Array()
	var tints: PackedColorArray = PackedColorArray()
	for j: int in upper.size():
		var u: float = float(j) / float(FLAG_SEGMENTS)
		lower.append(upper[j] + Vector2(0.0, FLAG_HEIGHT * (1.0 - 0.3 * u) * s))
		tints.append(color.lightened(0.2 * maxf(shades[j], 0.0)).darkened(0.25 * maxf(-shades[j], 0.0)))
	for j: int in FLAG_SEGMENTS:
		draw_primitive(PackedVector2Array([upper[j], upper[j + 1], lower[j + 1], lower[j]]),
				PackedColorArray([tints[j], tints[j + 1], tints[j + 1], tints[j]]), PackedVector2Array())


func _draw_streaks() -> void:
	if _course == null or _strength < 0.03:
		return
	var s: float = _course.ppm
	for k: int in _streak_at.size():
		var alpha: float = _streak_alpha[k] * _strength * 0.85
		var head: Vector2 = _view_center + Vector2(_streak_at[k].x * _view_size_m.x,
				_streak_at[k].y * _view_size_m.y) * s
		var length: float = _streak_length[k] * (0.6 + 0.9 * _strength) * s
		var bend: float = sin(_phase * 2.0 + float(k)) * 0.08 * s
		var points: PackedVector2Array = PackedVector2Array([
				head - Vector2(_direction * length, bend), head - Vector2(_direction * length * 0.5, -bend * 0.5),
				head])
		var colors: PackedColorArray = PackedColorArray([
				Color(1.0, 1.0, 1.0, 0.0), Color(1.0, 1.0, 1.0, alpha * 0.6), Color(1.0, 1.0, 1.0, alpha)])
		_streaks.draw_polyline_colors(points, colors, 0.05 * s)
