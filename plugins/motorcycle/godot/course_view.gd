extends Node2D
## Draws the course and the bike of a watched instance (hidden, never drawn, when unwatched); the
## agent's sync_view() asks for each redraw.

const GROUND_COLOR: Color = Color(0.42, 0.3, 0.2)
const GRASS_COLOR: Color = Color(0.3, 0.65, 0.25)
const OIL_COLOR: Color = Color(0.08, 0.08, 0.1)
const SKY_DEPTH: float = 8.0
const WHEEL_RADIUS: float = 0.32
const HEAD_RADIUS: float = 0.16

## The bodies to draw: chassis, rear wheel, front wheel.
var bodies: Array[RigidBody2D] = []

var _points: PackedVector2Array = PackedVector2Array()
var _oil_lines: Array[PackedVector2Array] = []
var _finish_x: float = 0.0
var _finish_y: float = 0.0
var _ppm: float = 100.0


## Stores the course polyline (heights in m, y up, `dx` apart from -start_back) in pixels.
func setup(heights: PackedFloat32Array, start_back: float, dx: float,
		oil_start: PackedFloat32Array, oil_end: PackedFloat32Array, finish: float,
		ppm: float) -> void:
	if not visible:
		return
	_ppm = ppm
	_points = PackedVector2Array()
	for i: int in heights.size():
		_points.append(Vector2((float(i) * dx - start_back) * ppm, -heights[i] * ppm))
	_oil_lines.clear()
	for p: int in oil_start.size():
		var line: PackedVector2Array = PackedVector2Array()
		for i: int in heights.size():
			var x: float = float(i) * dx - start_back
			if x >= oil_start[p] and x <= oil_end[p]:
				line.append(_points[i] + Vector2(0.0, -2.0))
		if line.size() >= 2:
			_oil_lines.append(line)
	_finish_x = finish * ppm
	var index: int = clampi(int((finish + start_back) / dx), 0, heights.size() - 1)
	_finish_y = -heights[index] * ppm
	queue_redraw()


func _draw() -> void:
	if _points.size() < 2:
		return
	var fill: PackedVector2Array = _points.duplicate()
	var bottom: float = SKY_DEPTH * _ppm
	fill.append(Vector2(_points[_points.size() - 1].x, bottom))
	fill.append(Vector2(_points[0].x, bottom))
	draw_colored_polygon(fill, GROUND_COLOR)
	draw_polyline(_points, GRASS_COLOR, 8.0)
	for line: PackedVector2Array in _oil_lines:
		draw_polyline(line, OIL_COLOR, 10.0)
	_draw_finish()
	if bodies.size() == 3:
		_draw_bike()


func _draw_finish() -> void:
	var square: float = 0.25 * _ppm
	for row: int in 10:
		for col: int in 2:
			var dark: bool = (row + col) % 2 == 0
			var corner: Vector2 = Vector2(_finish_x + col * square, _finish_y - (row + 1) * square)
			draw_rect(Rect2(corner, Vector2(square, square)), Color.BLACK if dark else Color.WHITE)


func _draw_bike() -> void:
	var chassis: RigidBody2D = bodies[0]
	for w: int in [1, 2]:
		var wheel: RigidBody2D = bodies[w]
		var r: float = WHEEL_RADIUS * _ppm
		draw_circle(wheel.position, r, Color(0.1, 0.1, 0.1))
		draw_circle(wheel.position, r * 0.6, Color(0.6, 0.6, 0.65))
		var spoke: Vector2 = Vector2(r * 0.6, 0.0).rotated(wheel.rotation)
		draw_line(wheel.position - spoke, wheel.position + spoke, Color(0.2, 0.2, 0.2), 4.0)
		draw_line(chassis.position, wheel.position, Color(0.7, 0.7, 0.7), 6.0)
	draw_set_transform(chassis.position, chassis.rotation)
	var s: float = _ppm
	draw_rect(Rect2(Vector2(-0.65, -0.15) * s, Vector2(1.3, 0.3) * s), Color(0.85, 0.15, 0.1))
	draw_line(Vector2(-0.2, -0.2) * s, Vector2(-0.15, -0.75) * s, Color(0.1, 0.3, 0.8), 14.0)
	draw_line(Vector2(-0.15, -0.65) * s, Vector2(0.45, -0.35) * s, Color(0.1, 0.3, 0.8), 8.0)
	draw_circle(Vector2(-0.15, -0.95) * s, HEAD_RADIUS * s, Color(1.0, 0.85, 0.1))
	draw_set_transform(Vector2.ZERO, 0.0)
