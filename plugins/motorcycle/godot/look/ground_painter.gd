extends Node2D
## Paints the course of an episode: the soil (ground.gdshader) and the grass edge with its oil
## patches (turf.gdshader) as two meshes built once per reset, and the trackside props drawn
## behind them: start and finish gates, distance boards, oil warning signs, tyre barriers at the
## course's ends. Nothing here moves during an episode: it is redrawn only by paint().

const CourseProfile := preload("res://envs/motorcycle/look/course_profile.gd")
const GROUND_SHADER: Shader = preload("res://envs/motorcycle/look/ground.gdshader")
const TURF_SHADER: Shader = preload("res://envs/motorcycle/look/turf.gdshader")

## Soil below the lowest point of the course, m.
const GROUND_DEPTH: float = 16.0
## Flat ground drawn beyond both ends of the course, m.
const ENDS: float = 40.0
## Grass blades above the surface and turf below it, m.
const BLADE_HEIGHT: float = 0.14
const TURF_DEPTH: float = 0.2
## Metres between distance boards.
const BOARD_EVERY: float = 25.0
## Warning signs stand this far before an oil patch, m.
const SIGN_BEFORE: float = 3.0
const POST_COLOR: Color = Color(0.93, 0.93, 0.95)
const POST_SHADE: Color = Color(0.62, 0.64, 0.7)
const BANNER_RED: Color = Color(0.86, 0.12, 0.12)
const BANNER_BLUE: Color = Color(0.1, 0.3, 0.75)
const BOARD_COLOR: Color = Color(0.98, 0.84, 0.12)
const TYRE_COLOR: Color = Color(0.1, 0.1, 0.11)

var _course: CourseProfile = null
var _ground: MeshInstance2D = MeshInstance2D.new()
var _turf: MeshInstance2D = MeshInstance2D.new()
var _font: Font = ThemeDB.fallback_font


func _init() -> void:
	name = "Ground"
	z_index = -2
	var ground_material: ShaderMaterial = ShaderMaterial.new()
	ground_material.shader = GROUND_SHADER
	_ground.material = ground_material
	_ground.z_index = 1
	add_child(_ground)
	var turf_material: ShaderMaterial = ShaderMaterial.new()
	turf_material.shader = TURF_SHADER
	turf_material.set_shader_parameter("blade_height", BLADE_HEIGHT)
	turf_material.set_shader_parameter("turf_depth", TURF_DEPTH)
	_turf.material = turf_material
	_turf.z_index = 1
	add_child(_turf)


## Builds the meshes and props of `course`.
func paint(course: CourseProfile) -> void:
	_course = course
	var xs: PackedFloat32Array = PackedFloat32Array()
	var tops: PackedFloat32Array = PackedFloat32Array()
	var lowest: float = INF
	xs.append(course.first_x() - ENDS)
	tops.append(course.heights[0])
	for i: int in course.heights.size():
		xs.append(course.first_x() + float(i) * course.dx)
		tops.append(course.heights[i])
		lowest = minf(lowest, course.heights[i])
	xs.append(course.last_x() + ENDS)
	tops.append(course.heights[course.heights.size() - 1])
	var bottom: float = lowest - GROUND_DEPTH
	var n: int = xs.size()
	var soil_top: PackedVector2Array = PackedVector2Array()
	var soil_bottom: PackedVector2Array = PackedVector2Array()
	var soil_uv_top: PackedFloat32Array = PackedFloat32Array()
	var soil_uv_bottom: PackedFloat32Array = PackedFloat32Array()
	var turf_top: PackedVector2Array = PackedVector2Array()
	var turf_bottom: PackedVector2Array = PackedVector2Array()
	var turf_uv_top: PackedFloat32Array = PackedFloat32Array()
	var turf_uv_bottom: PackedFloat32Array = PackedFloat32Array()
	var oil: PackedColorArray = PackedColorArray()
	for i: int in n:
		soil_top.append(course.to_px(Vector2(xs[i], tops[i])))
		soil_bottom.append(course.to_px(Vector2(xs[i], bottom)))
		soil_uv_top.append(0.0)
		soil_uv_bottom.append(tops[i] - bottom)
		turf_top.append(course.to_px(Vector2(xs[i], tops[i] + BLADE_HEIGHT)))
		turf_bottom.append(course.to_px(Vector2(xs[i], tops[i] - TURF_DEPTH)))
		turf_uv_top.append(0.0)
		turf_uv_bottom.append(BLADE_HEIGHT + TURF_DEPTH)
		oil.append(Color.WHITE if course.on_oil(xs[i]) else Color.BLACK)
	_ground.mesh = _band(xs, soil_top, soil_bottom, soil_uv_top, soil_uv_bottom, PackedColorArray())
	_turf.mesh = _band(xs, turf_top, turf_bottom, turf_uv_top, turf_uv_bottom, oil)
	queue_redraw()


## A strip of quads between `top` and `bottom` (pixels), UV x = course metres, UV y as given;
## vertex colours (top and bottom alike) when `colors` is not empty.
func _band(xs: PackedFloat32Array, top: PackedVector2Array, bottom: PackedVector2Array,
		uv_top: PackedFloat32Array, uv_bottom: PackedFloat32Array,
		colors: PackedColorArray) -> ArrayMesh:
	var vertices: PackedVector2Array = PackedVector2Array()
	var uvs: PackedVector2Array = PackedVector2Array()
	var vertex_colors: PackedColorArray = PackedColorArray()
	var indices: PackedInt32Array = PackedInt32Array()
	for i: int in xs.size():
		vertices.append(top[i])
		vertices.append(bottom[i])
		uvs.append(Vector2(xs[i], uv_top[i]))
		uvs.append(Vector2(xs[i], uv_bottom[i]))
		if not colors.is_empty():
			vertex_colors.append(colors[i])
			vertex_colors.append(colors[i])
		if i > 0:
			var a: int = 2 * i - 2
			indices.append_array(PackedInt32Array([a, a + 1, a + 2, a + 2, a + 1, a + 3]))
	var arrays: Array = []
	arrays.resize(Mesh.ARRAY_MAX)
	arrays[Mesh.ARRAY_VERTEX] = vertices
	arrays[Mesh.ARRAY_TEX_UV] = uvs
	if not vertex_colors.is_empty():
		arrays[Mesh.ARRAY_COLOR] = vertex_colors
	arrays[Mesh.ARRAY_INDEX] = indices
	var mesh: ArrayMesh = ArrayMesh.new()
	mesh.add_surface_from_arrays(Mesh.PRIMITIVE_TRIANGLES, arrays)
	return mesh


func _draw() -> void:
	if _course == null:
		return
	_draw_barrier(_course.first_x() - 0.3)
	_draw_barrier(_course.last_x() + 0.3)
	var board: float = BOARD_EVERY
	while board < _course.finish - 4.0:
		_draw_board(board, "%d m" % int(board))
		board += BOARD_EVERY
	for p: int in _course.oil_start.size():
		_draw_oil_sign(_course.oil_start[p] - SIGN_BEFORE)
	_draw_gate(0.0, "START", BANNER_BLUE, false)
	_draw_gate(_course.finish, "FINISH", BANNER_RED, true)


## An arch over the course at x (m): two posts, a banner with `label`; `checkered` adds a
## chequered band on the banner and a chequered line across the ground.
func _draw_gate(x: float, label: String, color: Color, checkered: bool) -> void:
	var s: float = _course.ppm
	var half_span: float = 1.6
	var height: float = 3.6
	var ground_left: float = _course.height_at(x - half_span)
	var ground_right: float = _course.height_at(x + half_span)
	var top: float = maxf(ground_left, ground_right) + height
	for post_x: float in PackedFloat32Array([x - half_span, x + half_span]):
		var base: Vector2 = _course.to_px(Vector2(post_x, _course.height_at(post_x) - 0.3))
		var head: Vector2 = _course.to_px(Vector2(post_x, top))
		draw_line(base, head, POST_SHADE, 0.2 * s)
		draw_line(base + Vector2(-0.04, 0.0) * s, head + Vector2(-0.04, 0.0) * s, POST_COLOR, 0.1 * s)
	var banner: Rect2 = Rect2(_course.to_px(Vector2(x - half_span - 0.25, top + 0.1)),
			Vector2(2.0 * half_span + 0.5, 0.85) * s)
	draw_rect(banner, color)
	if checkered:
		var square: float = 0.125 * s
		var columns: int = int(banner.size.x / square)
		for row: int in 2:
			for col: int in columns:
				var color_cell: Color = Color.BLACK if (row + col) % 2 == 0 else Color.WHITE
				var corner: Vector2 = banner.position + Vector2(col * square, row * square)
				draw_rect(Rect2(corner, Vector2(square, square)), color_cell)
				draw_rect(Rect2(corner + Vector2(0.0, banner.size.y - 2.0 * square),
						Vector2(square, square)), color_cell)
		# the finish line across the ground: a chequered post at the line itself
		for row: int in 8:
			for col: int in 2:
				var dark: bool = (row + col) % 2 == 0
				var cell: Vector2 = _course.to_px(Vector2(x - 0.125 + 0.125 * col,
						_course.height_at(x) + 0.125 * (row + 1)))
				draw_rect(Rect2(cell, Vector2(0.125, 0.125) * s), Color.BLACK if dark else Color.WHITE)
	draw_rect(banner, Color(0.0, 0.0, 0.0, 0.5), false, 0.04 * s)
	var font_size: int = int(0.34 * s)
	var baseline: Vector2 = banner.position + Vector2(0.0, banner.size.y * 0.5 + 0.12 * s)
	draw_string_outline(_font, baseline, label, HORIZONTAL_ALIGNMENT_CENTER, banner.size.x,
			font_size, int(0.08 * s), Color(0.0, 0.0, 0.0, 0.6))
	draw_string(_font, baseline, label, HORIZONTAL_ALIGNMENT_CENTER, banner.size.x, font_size,
			Color.WHITE)


## A distance board on a post at x (m).
func _draw_board(x: float, label: String) -> void:
	var s: float = _course.ppm
	var base: Vector2 = _course.ground_px(x) + Vector2(0.0, 0.2 * s)
	var head: Vector2 = base + Vector2(0.0, -1.5 * s)
	draw_line(base, head, Color(0.35, 0.25, 0.15), 0.08 * s)
	var board: Rect2 = Rect2(head + Vector2(-0.45, -0.35) * s, Vector2(0.9, 0.4) * s)
	draw_rect(board, BOARD_COLOR)
	draw_rect(board, Color(0.1, 0.1, 0.1), false, 0.035 * s)
	draw_string(_font, board.position + Vector2(0.0, 0.3 * s), label, HORIZONTAL_ALIGNMENT_CENTER,
			board.size.x, int(0.26 * s), Color(0.1, 0.1, 0.1))


## A warning sign (a triangle with "!") on a post at x (m).
func _draw_oil_sign(x: float) -> void:
	var s: float = _course.ppm
	var base: Vector2 = _course.ground_px(x) + Vector2(0.0, 0.2 * s)
	var head: Vector2 = base + Vector2(0.0, -1.4 * s)
	draw_line(base, head, POST_SHADE, 0.07 * s)
	var outer: PackedVector2Array = PackedVector2Array([
			head + Vector2(0.0, -0.62) * s, head + Vector2(0.36, 0.0) * s,
			head + Vector2(-0.36, 0.0) * s])
	var inner: PackedVector2Array = PackedVector2Array([
			head + Vector2(0.0, -0.52) * s, head + Vector2(0.28, -0.05) * s,
			head + Vector2(-0.28, -0.05) * s])
	draw_colored_polygon(outer, BANNER_RED)
	draw_colored_polygon(inner, BOARD_COLOR)
	draw_string(_font, head + Vector2(-0.3, -0.1) * s, "!", HORIZONTAL_ALIGNMENT_CENTER, 0.6 * s,
			int(0.36 * s), Color(0.05, 0.05, 0.05))


## A stack of tyres at x (m), where the course's invisible end walls stand.
func _draw_barrier(x: float) -> void:
	var s: float = _course.ppm
	var ground: Vector2 = _course.ground_px(x)
	var radius: float = 0.3 * s
	for row: int in 4:
		var center: Vector2 = ground + Vector2(0.0, -radius * (1.0 + 1.5 * row))
		draw_rect(Rect2(center - Vector2(radius, radius * 0.8), Vector2(2.0 * radius, 1.6 * radius)),
				TYRE_COLOR)
		draw_line(center - Vector2(radius, 0.0), center + Vector2(radius, 0.0),
				Color(0.25, 0.25, 0.27), 0.06 * s)
		if row % 2 == 0:
			draw_rect(Rect2(center - Vector2(radius, radius * 0.2), Vector2(2.0 * radius, radius * 0.4)),
					Color(0.9, 0.9, 0.9))
