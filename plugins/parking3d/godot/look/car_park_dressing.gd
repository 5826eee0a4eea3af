extends Node3D
## The car park around the cars of one watched instance: asphalt with painted bay lines and
## bay numbers, kerbs, the walls' concrete, pillars, lamp posts with their lights, a pavement,
## a lawn and trees outside, and the highlight of the target bay. Looks only: nothing here
## collides. Whatever a car can reach is drawn where a collision box already is (the walls,
## whose faces the pillars continue flush) or lies flat on the floor (paint, 10 cm kerbs in the
## strip between the bays' ends and the walls); the rest stands outside the walls.
##
## Frame: the lot's (y up, the floor's top at y = 0). obstacles() lists the boxes a camera
## must keep out of.

const MeshBuilder := preload("res://envs/parking3d/look/mesh_builder.gd")

enum Slot { CONCRETE, COPING, BAND, KERB, METAL, LAMP, TRUNK, LEAVES, LEAVES_DARK }
const LINE_WIDTH: float = 0.12
## Pillar centres along the walls that run along x, and along z (m).
const PILLARS_ALONG_X: PackedFloat32Array = [-12.0, -6.0, 0.0, 6.0, 12.0]
const PILLARS_ALONG_Z: PackedFloat32Array = [-5.0, 0.0, 5.0]
## Lamp posts stand on these pillars of the walls along x.
const LAMPS_AT_X: PackedFloat32Array = [-12.0, 0.0, 12.0]
const PILLAR_WIDTH: float = 0.6
const PILLAR_DEPTH_OUTSIDE: float = 0.3
const PILLAR_HEIGHT: float = 2.6
const LAMP_HEIGHT: float = 5.0
const LAMP_REACH: float = 1.5
const KERB_WIDTH: float = 0.2
const KERB_HEIGHT: float = 0.1
const PAVEMENT_WIDTH: float = 2.0
const TREE_OFFSET: float = 8.5
## Depth of the surfaces' procedural grain (0 = flat colour).
const GRAIN: float = 0.16
const NUMBER_COLOR: Color = Color(0.95, 0.95, 0.92, 0.9)
const TARGET_COLOR: Color = Color(0.25, 1.0, 0.4)

static var _noise: ImageTexture = null

var _obstacles: Array[AABB] = []
var _numbers: Array[Label3D] = []
var _highlight: MeshInstance3D = MeshInstance3D.new()
var _bay_centers: PackedVector3Array = PackedVector3Array()
var _target: int = -1


## Builds everything: `lot_half` = the walls' centre lines (x, z); `walls` are the wall
## collision boxes; bays of `bay_size` (width x, depth z) at `bay_centers` (their
## rows on either side of the aisle along x); `cell` is the square of ground each instance owns.
func build(lot_half: Vector2, walls: Array[AABB], bay_centers: PackedVector3Array,
		bay_size: Vector2, cell: float) -> void:
	_bay_centers = bay_centers
	_build_ground(walls, cell)
	_build_paint(bay_centers, bay_size)
	_build_structure(lot_half, walls)
	_build_trees(lot_half)
	_build_highlight(bay_size)


## Boxes a camera must stay out of: walls, pillars, lamp posts and heads, tree crowns.
func obstacles() -> Array[AABB]:
	return _obstacles


## Marks bay `bay` as the target (its number turns green, its floor glows).
func highlight_bay(bay: int) -> void:
	if _target >= 0:
		_numbers[_target].modulate = NUMBER_COLOR
	_target = bay
	_numbers[bay].modulate = TARGET_COLOR
	_highlight.position = Vector3(_bay_centers[bay].x, 0.0, _bay_centers[bay].z)


func _build_ground(walls: Array[AABB], cell: float) -> void:
	var outer: AABB = walls[0]
	for wall: AABB in walls:
		outer = outer.merge(wall)
	var asphalt: MeshInstance3D = _slab(Vector3(outer.size.x, 0.05, outer.size.z), Vector3(0.0, -0.025, 0.0),
			_textured(Color(0.24, 0.245, 0.26), 0.22, 0.92))
	asphalt.name = "Asphalt"
	# Pavement: four strips around the walls, then the lawn out to the cell's edge.
	var pavement: StandardMaterial3D = _textured(Color(0.62, 0.6, 0.56), 0.5, 0.85)
	var width: float = outer.size.x + 2.0 * PAVEMENT_WIDTH
	for side: float in [-1.0, 1.0]:
		_slab(Vector3(width, 0.05, PAVEMENT_WIDTH),
				Vector3(0.0, -0.025, side * (outer.size.z * 0.5 + PAVEMENT_WIDTH * 0.5)), pavement)
		_slab(Vector3(PAVEMENT_WIDTH, 0.05, outer.size.z),
				Vector3(side * (outer.size.x * 0.5 + PAVEMENT_WIDTH * 0.5), -0.025, 0.0), pavement)
	_slab(Vector3(cell, 0.05, cell), Vector3(0.0, -0.045, 0.0), _textured(Color(0.3, 0.45, 0.2), 0.12, 0.95))


## Bay lines (with a tee towards the aisle), a dashed centre line and the bay numbers.
func _build_paint(bay_centers: PackedVector3Array, bay_size: Vector2) -> void:
	var paint: StandardMaterial3D = MeshBuilder.surface(Color(0.92, 0.92, 0.88), 0.7)
	var materials: Array[Material] = [paint]
	var builder: MeshBuilder = MeshBuilder.new(materials)
	var drawn: Dictionary = {}
	var aisle_edge: float = INF
	var left: float = INF
	var right: float = -INF
	for center: Vector3 in bay_centers:
		aisle_edge = minf(aisle_edge, absf(center.z) - bay_size.y * 0.5)
		left = minf(left, center.x - bay_size.x * 0.5)
		right = maxf(right, center.x + bay_size.x * 0.5)
		var side: float = signf(center.z)
		for edge: float in [-0.5, 0.5]:
			var x: float = center.x + edge * bay_size.x
			var key: Vector2i = Vector2i(roundi(x * 100.0), int(side))
			if drawn.has(key):
				continue  # the line between two bays, already painted
			drawn[key] = true
			builder.box(0, Vector3(x, 0.004, center.z), Vector3(LINE_WIDTH, 0.008, bay_size.y))
			builder.box(0, Vector3(x, 0.004, center.z - side * (bay_size.y * 0.5 - LINE_WIDTH * 0.5)),
					Vector3(0.5, 0.008, LINE_WIDTH))
	# Back line of each row.
	for side: float in [-1.0, 1.0]:
		var far: float = side * (aisle_edge + bay_size.y - LINE_WIDTH * 0.5)
		builder.box(0, Vector3((left + right) * 0.5, 0.004, far), Vector3(right - left + LINE_WIDTH, 0.008, LINE_WIDTH))
	var x0: float = left + 0.5
	while x0 + 1.2 <= right - 0.5:
		builder.box(0, Vector3(x0 + 0.6, 0.004, 0.0), Vector3(1.2, 0.008, LINE_WIDTH))
		x0 += 2.4
	var lines: MeshInstance3D = MeshInstance3D.new()
	lines.name = "Lines"
	lines.mesh = builder.commit()
	lines.cast_shadow = GeometryInstance3D.SHADOW_CASTING_SETTING_OFF
	add_child(lines)
	for i: int in bay_centers.size():
		var center: Vector3 = bay_centers[i]
		var side: float = signf(center.z)
		var label: Label3D = Label3D.new()
		label.text = str(i)
		label.font_size = 96
		label.pixel_size = 0.0055
		label.modulate = NUMBER_COLOR
		label.outline_size = 0
		label.shaded = true
		label.cast_shadow = GeometryInstance3D.SHADOW_CASTING_SETTING_OFF
		# Flat on the floor near the aisle, upright for someone in the aisle facing the bay.
		var facing: Basis = Basis(Vector3.UP, 0.0 if side < 0.0 else PI)
		label.transform = Transform3D(facing * Basis(Vector3.RIGHT, -PI * 0.5),
				Vector3(center.x, 0.008, side * (aisle_edge + 0.4)))
		add_child(label)
		_numbers.append(label)


## Walls (concrete from the collision boxes, cut where pillars stand), coping, a painted band,
## pillars (flush with the walls' inner faces, thicker outwards), kerbs and lamp posts.
func _build_structure(lot_half: Vector2, walls: Array[AABB]) -> void:
	var builder: MeshBuilder = MeshBuilder.new(_structure_materials())
	var wall_height: float = walls[0].end.y
	for wall: AABB in walls:
		var along_x: bool = wall.size.x > wall.size.z
		var thickness: float = wall.size.z if along_x else wall.size.x
		var center: Vector3 = wall.get_center()
		var outward: float = signf(center.z if along_x else center.x)
		var face: float = (center.z if along_x else center.x) - outward * thickness * 0.5
		var depth: float = thickness + PILLAR_DEPTH_OUTSIDE
		# The other walls' inner faces: where this wall's inside ends.
		var extent: float = (lot_half.x if along_x else lot_half.y) - thickness * 0.5
		var spots: PackedFloat32Array = PILLARS_ALONG_X if along_x else PILLARS_ALONG_Z
		var cuts: Array[Vector2] = []
		for spot: float in spots:
			cuts.append(Vector2(spot - PILLAR_WIDTH * 0.5, spot + PILLAR_WIDTH * 0.5))
		var corners: Array[Vector2] = [Vector2(-extent - depth, -extent), Vector2(extent, extent + depth)]
		var deep: Vector2 = Vector2(minf(face, face + outward * depth), maxf(face, face + outward * depth))
		# Walls along x carry the corner pillars; walls along z only stop short of them.
		var standing: Array[Vector2] = cuts.duplicate()
		if along_x:
			standing.append_array(corners)
		for cut: Vector2 in standing:
			var box: AABB = AABB(Vector3(cut.x, 0.0, deep.x), Vector3(cut.y - cut.x, PILLAR_HEIGHT, depth))
			if not along_x:
				box = AABB(Vector3(deep.x, 0.0, cut.x), Vector3(depth, PILLAR_HEIGHT, cut.y - cut.x))
			builder.box(Slot.CONCRETE, box.get_center(), box.size)
			builder.box(Slot.COPING, box.get_center() + Vector3(0.0, box.size.y * 0.5 + 0.04, 0.0),
					Vector3(box.size.x + 0.08, 0.08, box.size.z + 0.08))
			_obstacles.append(box.grow(0.04))
		cuts.append_array(corners)
		_add_wall_pieces(builder, wall, along_x, cuts, wall_height)
		_obstacles.append(wall)
		# Kerb along the wall's foot, inside the lot, between the other walls' kerbs.
		var kerb: float = face - outward * KERB_WIDTH * 0.5
		if along_x:
			builder.box(Slot.KERB, Vector3(0.0, KERB_HEIGHT * 0.5, kerb), Vector3(2.0 * extent, KERB_HEIGHT, KERB_WIDTH))
		else:
			var other: float = lot_half.y - thickness * 0.5 - KERB_WIDTH
			builder.box(Slot.KERB, Vector3(kerb, KERB_HEIGHT * 0.5, 0.0), Vector3(KERB_WIDTH, KERB_HEIGHT, 2.0 * other))
	_add_lamps(builder, walls)
	var structure: MeshInstance3D = MeshInstance3D.new()
	structure.name = "Structure"
	structure.mesh = builder.commit()
	add_child(structure)


## The wall's concrete between the cuts (pillars), with a coping on top and a painted band on
## the inner face.
func _add_wall_pieces(builder: MeshBuilder, wall: AABB, along_x: bool, cuts: Array[Vector2],
		height: float) -> void:
	var low: float = wall.position.x if along_x else wall.position.z
	var high: float = wall.end.x if along_x else wall.end.z
	var sorted: Array[Vector2] = cuts.duplicate()
	sorted.sort_custom(_starts_before)
	var start: float = low
	var pieces: Array[Vector2] = []
	for cut: Vector2 in sorted:
		if cut.x > start:
			pieces.append(Vector2(start, minf(cut.x, high)))
		start = maxf(start, cut.y)
	if start < high:
		pieces.append(Vector2(start, high))
	var center: Vector3 = wall.get_center()
	var inward: float = -signf(center.z if along_x else center.x)
	var thickness: float = wall.size.z if along_x else wall.size.x
	for piece: Vector2 in pieces:
		if piece.y - piece.x < 0.01:
			continue
		var middle: float = (piece.x + piece.y) * 0.5
		var length: float = piece.y - piece.x
		var at: Vector3 = Vector3(middle, height * 0.5, center.z) if along_x else Vector3(center.x, height * 0.5, middle)
		var size: Vector3 = Vector3(length, height, thickness) if along_x else Vector3(thickness, height, length)
		builder.box(Slot.CONCRETE, at, size)
		var coping: Vector3 = Vector3(length, 0.08, thickness + 0.08) if along_x else Vector3(thickness + 0.08, 0.08, length)
		builder.box(Slot.COPING, Vector3(at.x, height + 0.04, at.z), coping)
		var band_at: Vector3 = at
		band_at.y = 0.95
		var band: Vector3 = Vector3(length, 0.3, 0.01) if along_x else Vector3(0.01, 0.3, length)
		if along_x:
			band_at.z = center.z + inward * (thickness * 0.5 + 0.004)
		else:
			band_at.x = center.x + inward * (thickness * 0.5 + 0.004)
		builder.box(Slot.BAND, band_at, band)


## Lamp posts on the middle and end pillars of the walls along x: a pole, an arm over the lot
## and a glowing head with a warm light under it.
func _add_lamps(builder: MeshBuilder, walls: Array[AABB]) -> void:
	for wall: AABB in walls:
		if wall.size.x <= wall.size.z:
			continue
		var center: Vector3 = wall.get_center()
		var outward: float = signf(center.z)
		var pole_z: float = center.z + outward * PILLAR_DEPTH_OUTSIDE * 0.5
		for x: float in LAMPS_AT_X:
			var pole: AABB = AABB(Vector3(x - 0.09, PILLAR_HEIGHT, pole_z - 0.09), Vector3(0.18, LAMP_HEIGHT - PILLAR_HEIGHT + 0.1, 0.18))
			builder.cylinder(Slot.METAL, pole.get_center(), Vector3.UP, 0.08, pole.size.y, 10)
			var head_z: float = pole_z - outward * LAMP_REACH
			var arm: AABB = AABB(Vector3(x - 0.05, LAMP_HEIGHT - 0.05, minf(pole_z, head_z)), Vector3(0.1, 0.1, LAMP_REACH))
			builder.box(Slot.METAL, arm.get_center(), arm.size)
			var head: AABB = AABB(Vector3(x - 0.25, LAMP_HEIGHT - 0.16, head_z - 0.18), Vector3(0.5, 0.14, 0.36))
			builder.box(Slot.METAL, head.get_center() + Vector3(0.0, 0.03, 0.0), head.size - Vector3(0.0, 0.06, 0.0))
			builder.box(Slot.LAMP, head.get_center() - Vector3(0.0, 0.05, 0.0), Vector3(0.44, 0.04, 0.3))
			_obstacles.append_array([pole, arm, head])
			var light: OmniLight3D = OmniLight3D.new()
			light.light_color = Color(1.0, 0.86, 0.62)
			light.light_energy = 1.6
			light.omni_range = 11.0
			light.omni_attenuation = 1.2
			light.shadow_enabled = false
			light.position = Vector3(x, LAMP_HEIGHT - 0.45, head_z)
			add_child(light)


## A ring of low-poly trees on the lawn, far enough from the walls that a chase camera never
## reaches them (they are obstacles anyway).
func _build_trees(lot_half: Vector2) -> void:
	var builder: MeshBuilder = MeshBuilder.new(_structure_materials())
	var spots: PackedVector2Array = PackedVector2Array()
	for k: int in 7:
		var x: float = -21.0 + 7.0 * float(k) + (1.3 if k % 2 == 0 else -0.9)
		spots.append(Vector2(x, -(lot_half.y + TREE_OFFSET) - (1.2 if k % 3 == 0 else 0.0)))
		spots.append(Vector2(x + 2.1, lot_half.y + TREE_OFFSET + (1.0 if k % 3 == 1 else 0.0)))
	for k: int in 3:
		var z: float = -7.0 + 7.0 * float(k)
		spots.append(Vector2(-(lot_half.x + TREE_OFFSET), z + 1.1))
		spots.append(Vector2(lot_half.x + TREE_OFFSET, z - 0.8))
	for k: int in spots.size():
		var spot: Vector2 = spots[k]
		var height: float = 2.6 + 0.5 * float(k % 3)
		var crown: float = 1.9 + 0.35 * float((k * 7) % 4)
		builder.cylinder(Slot.TRUNK, Vector3(spot.x, height * 0.5, spot.y), Vector3.UP, 0.2, height, 8)
		var crown_center: Vector3 = Vector3(spot.x, height + crown * 0.7, spot.y)
		builder.sphere(Slot.LEAVES if k % 2 == 0 else Slot.LEAVES_DARK, crown_center,
				Vector3(crown, crown * 0.9, crown), 5, 8)
		_obstacles.append(AABB(crown_center - Vector3.ONE * crown, Vector3.ONE * crown * 2.0))
		_obstacles.append(AABB(Vector3(spot.x - 0.2, 0.0, spot.y - 0.2), Vector3(0.4, height, 0.4)))
	var trees: MeshInstance3D = MeshInstance3D.new()
	trees.name = "Trees"
	trees.mesh = builder.commit()
	add_child(trees)


## A translucent green fill and a bright outline inside the lines of a bay, moved by
## highlight_bay().
func _build_highlight(bay_size: Vector2) -> void:
	var fill: StandardMaterial3D = StandardMaterial3D.new()
	fill.shading_mode = BaseMaterial3D.SHADING_MODE_UNSHADED
	fill.transparency = BaseMaterial3D.TRANSPARENCY_ALPHA
	fill.albedo_color = Color(0.2, 0.9, 0.35, 0.28)
	var edge: StandardMaterial3D = StandardMaterial3D.new()
	edge.shading_mode = BaseMaterial3D.SHADING_MODE_UNSHADED
	edge.albedo_color = TARGET_COLOR
	var materials: Array[Material] = [fill, edge]
	var builder: MeshBuilder = MeshBuilder.new(materials)
	var inner: Vector2 = bay_size - Vector2(0.5, 0.5)
	builder.box(0, Vector3(0.0, 0.006, 0.0), Vector3(inner.x, 0.004, inner.y))
	for side: float in [-1.0, 1.0]:
		builder.box(1, Vector3(side * (inner.x * 0.5 - 0.05), 0.01, 0.0), Vector3(0.1, 0.004, inner.y))
		builder.box(1, Vector3(0.0, 0.01, side * (inner.y * 0.5 - 0.05)), Vector3(inner.x, 0.004, 0.1))
	_highlight.name = "Target"
	_highlight.mesh = builder.commit()
	_highlight.cast_shadow = GeometryInstance3D.SHADOW_CASTING_SETTING_OFF
	add_child(_highlight)


func _starts_before(a: Vector2, b: Vector2) -> bool:
	return a.x < b.x


func _slab(size: Vector3, where: Vector3, material: Material) -> MeshInstance3D:
	var materials: Array[Material] = [material]
	var builder: MeshBuilder = MeshBuilder.new(materials)
	builder.box(0, where, size)
	var node: MeshInstance3D = MeshInstance3D.new()
	node.mesh = builder.commit()
	node.cast_shadow = GeometryInstance3D.SHADOW_CASTING_SETTING_OFF
	add_child(node)
	return node


func _structure_materials() -> Array[Material]:
	var concrete: StandardMaterial3D = _textured(Color(0.55, 0.54, 0.52), 1.1, 0.9)
	var coping: StandardMaterial3D = _textured(Color(0.45, 0.45, 0.44), 1.1, 0.9)
	var band: StandardMaterial3D = MeshBuilder.surface(Color(0.1, 0.42, 0.62), 0.6)
	var kerb: StandardMaterial3D = _textured(Color(0.85, 0.72, 0.2), 0.3, 0.8)
	var metal: StandardMaterial3D = MeshBuilder.surface(Color(0.25, 0.27, 0.3), 0.4, 0.6)
	var lamp: StandardMaterial3D = MeshBuilder.glowing(
			Color(1.0, 0.95, 0.8), Color(1.0, 0.88, 0.62), 2.0)
	var trunk: StandardMaterial3D = MeshBuilder.surface(Color(0.33, 0.24, 0.16), 0.9)
	var leaves: StandardMaterial3D = _textured(Color(0.27, 0.5, 0.2), 0.5, 0.9)
	var leaves_dark: StandardMaterial3D = _textured(Color(0.2, 0.4, 0.17), 0.5, 0.9)
	var materials: Array[Material] = [concrete, coping, band, kerb, metal, lamp, trunk, leaves, leaves_dark]
	return materials


## A matte material with a subtle procedural grain (world-space triplanar, so meshes need no
## UVs): `color` times the grain texture, `scale` repeats per metre.
func _textured(color: Color, scale: float, roughness: float) -> StandardMaterial3D:
	var material: StandardMaterial3D = MeshBuilder.surface(color, roughness)
	material.albedo_texture = _grain_texture()
	material.uv1_triplanar = true
	material.uv1_world_triplanar = true
	material.uv1_scale = Vector3.ONE * scale
	return material


## The grain: seamless noise between 1 - GRAIN and 1, computed once per process (no file,
## nothing downloaded).
static func _grain_texture() -> ImageTexture:
	if _noise != null:
		return _noise
	var noise: FastNoiseLite = FastNoiseLite.new()
	noise.seed = 11
	noise.frequency = 0.06
	noise.fractal_octaves = 4
	var image: Image = noise.get_seamless_image(128, 128)
	image.convert(Image.FORMAT_RGB8)
	for y: int in image.get_height():
		for x: int in image.get_width():
			var value: float = 1.0 - GRAIN + GRAIN * image.get_pixel(x, y).r
			image.set_pixel(x, y, Color(value, value, value))
	image.generate_mipmaps()
	_noise = ImageTexture.create_from_image(image)
	return _noise
