extends Node3D
## A car built from primitives: a body (lower body with wheel arches, glasshouse, lights,
## bumpers, plates, mirrors) in one of three styles and four wheels with tyres, rims and
## spokes, sized to given outer dimensions. Looks only: it has no physics.
##
## The node's frame is the frame of whatever it dresses (a VehicleBody3D's or a parked-car
## box's): configure() takes where the ground is in that frame. Body meshes are built once per
## style and size and shared by every car of the process; a car's colour is a material
## override on its paint surface, so repainting or restyling costs no new mesh.

const MeshBuilder := preload("res://envs/parking3d/look/mesh_builder.gd")

enum Style { HATCHBACK, SALOON, VAN }

## Material slots of a body mesh; every style uses all of them, so slot = surface index.
enum Slot { PAINT, GLASS, TRIM, HEADLIGHT, TAILLIGHT, PLATE }
const SLOT_COUNT: int = 6
const WHEEL_SEGMENTS: int = 18
const SPOKES: int = 5
## Emission of the tail lights: driving, braking.
const TAIL_GLOW: float = 0.6
const BRAKE_GLOW: float = 4.0

static var _body_meshes: Dictionary = {}
static var _wheel_meshes: Dictionary = {}
static var _shared: Array[Material] = []

var _body: MeshInstance3D = MeshInstance3D.new()
var _wheels: Array[MeshInstance3D] = []
var _tail_material: StandardMaterial3D = null
var _braking: bool = false


func _init() -> void:
	add_child(_body)
	for i: int in 4:
		var wheel: MeshInstance3D = MeshInstance3D.new()
		_wheels.append(wheel)
		add_child(wheel)


## Shapes the car: `style`, outer `length` (z) and `width` (x), axles `wheelbase` apart and
## wheel centres `track` apart, wheels of `wheel_radius` and `wheel_width`; the ground is at
## y = `ground_y` in the node's frame, the car centred on its origin in x and z. Wheels stand
## at rest on the ground until set_wheel_transform() moves them.
func configure(style: Style, length: float, width: float, wheelbase: float, track: float,
		wheel_radius: float, wheel_width: float, ground_y: float) -> void:
	_body.mesh = _body_mesh(style, length, width, wheelbase, wheel_radius)
	_body.position = Vector3(0.0, ground_y, 0.0)
	var wheel_mesh: ArrayMesh = _wheel_mesh(wheel_radius, wheel_width)
	for i: int in 4:
		_wheels[i].mesh = wheel_mesh
		var x: float = track * 0.5 * (1.0 if i % 2 == 0 else -1.0)
		var z: float = wheelbase * 0.5 * (1.0 if i < 2 else -1.0)
		_wheels[i].transform = Transform3D(Basis.IDENTITY, Vector3(x, ground_y + wheel_radius, z))


## Paints the body (`paint` replaces the paint surface's material).
func set_paint(paint: Material) -> void:
	_body.set_surface_override_material(Slot.PAINT, paint)


## Places wheel i (0 front left, 1 front right, 2 rear left, 3 rear right; left = +x) at
## `xform` in the node's frame: a VehicleWheel3D's transform, which holds its steering angle,
## its spin and its suspension travel.
func set_wheel_transform(i: int, xform: Transform3D) -> void:
	_wheels[i].transform = xform


## Brake lights on or off (this car gets a tail-light material of its own on first use).
func set_braking(braking: bool) -> void:
	if braking == _braking:
		return
	_braking = braking
	if _tail_material == null:
		_tail_material = (_materials()[Slot.TAILLIGHT] as StandardMaterial3D).duplicate() as StandardMaterial3D
		_body.set_surface_override_material(Slot.TAILLIGHT, _tail_material)
	_tail_material.emission_energy_multiplier = BRAKE_GLOW if braking else TAIL_GLOW


## Height of the roof of `style` above the ground, m (the van's rails included).
static func roof_height(style: Style) -> float:
	match style:
		Style.VAN:
			return 1.86
		Style.SALOON:
			return 1.42
	return 1.45


## A car paint: glossy, a little metallic.
static func paint_material(color: Color) -> StandardMaterial3D:
	var material: StandardMaterial3D = MeshBuilder.surface(color, 0.3, 0.35)
	material.metallic_specular = 0.6
	return material


## The shared materials, by Slot (the paint slot's is a neutral grey, overridden per car).
static func _materials() -> Array[Material]:
	if not _shared.is_empty():
		return _shared
	var paint: StandardMaterial3D = paint_material(Color(0.6, 0.6, 0.62))
	var glass: StandardMaterial3D = MeshBuilder.surface(Color(0.06, 0.08, 0.11), 0.08, 0.6)
	var trim: StandardMaterial3D = MeshBuilder.surface(Color(0.07, 0.07, 0.08), 0.75)
	var headlight: StandardMaterial3D = MeshBuilder.glowing(
			Color(0.9, 0.92, 0.95), Color(1.0, 0.96, 0.85), 0.8)
	var taillight: StandardMaterial3D = MeshBuilder.glowing(
			Color(0.55, 0.03, 0.03), Color(1.0, 0.08, 0.05), TAIL_GLOW)
	var plate: StandardMaterial3D = MeshBuilder.surface(Color(0.92, 0.9, 0.8), 0.5)
	var materials: Array[Material] = [paint, glass, trim, headlight, taillight, plate]
	_shared = materials
	return _shared


static func _body_mesh(style: Style, length: float, width: float, wheelbase: float,
		wheel_radius: float) -> ArrayMesh:
	var key: String = "%d %.3f %.3f %.3f %.3f" % [style, length, width, wheelbase, wheel_radius]
	if _body_meshes.has(key):
		return _body_meshes[key]
	var builder: MeshBuilder = MeshBuilder.new(_materials())
	var half_length: float = length * 0.5
	var half_width: float = width * 0.5
	var lower: PackedVector2Array = _lower_profile(style, half_length, wheelbase, wheel_radius)
	builder.loft(lower, half_width, half_width - 0.03, 0.06, Slot.PAINT, Slot.PAINT, Slot.PAINT,
			Slot.TRIM, Slot.PAINT)
	var glasshouse: PackedVector2Array = _glasshouse_profile(style, half_length)
	var taper: float = 0.14 if style == Style.VAN else 0.2
	var glass_low: float = half_width - 0.07
	var glass_high: float = half_width - taper
	builder.loft(glasshouse, glass_low, glass_high, 0.045, Slot.GLASS, Slot.PAINT, Slot.PAINT,
			Slot.GLASS, Slot.GLASS)
	_add_pillars(builder, style, glasshouse, glass_low, glass_high)
	_add_details(builder, style, lower, glasshouse, half_width)
	var mesh: ArrayMesh = builder.commit()
	if mesh.get_surface_count() != SLOT_COUNT:
		push_error("car body of style %d has %d surfaces, expected %d" % [style, mesh.get_surface_count(), SLOT_COUNT])
	_body_meshes[key] = mesh
	return mesh


## Side silhouette below the windows ((z, y), counter-clockwise, ground y = 0): sill with two
## wheel arches, nose, bonnet, belt line, boot or tail.
static func _lower_profile(style: Style, h: float, wheelbase: float, radius: float) -> PackedVector2Array:
	var sill: float = 0.24 if style != Style.VAN else 0.28
	var points: PackedVector2Array = PackedVector2Array()
	points.append(Vector2(-h + 0.1, sill))
	for axle: float in [-wheelbase * 0.5, wheelbase * 0.5]:
		_append_arch(points, axle, radius, radius + 0.05, sill)
	points.append(Vector2(h - 0.1, sill))
	match style:
		Style.HATCHBACK:
			points.append_array([Vector2(h - 0.01, 0.36), Vector2(h, 0.52), Vector2(h - 0.05, 0.72),
					Vector2(h - 0.3, 0.86), Vector2(h - 0.95, 0.95), Vector2(-h + 0.3, 0.98),
					Vector2(-h + 0.06, 0.93), Vector2(-h, 0.76), Vector2(-h, 0.42), Vector2(-h + 0.03, 0.31)])
		Style.SALOON:
			points.append_array([Vector2(h - 0.01, 0.36), Vector2(h, 0.52), Vector2(h - 0.05, 0.71),
					Vector2(h - 0.35, 0.85), Vector2(h - 1.15, 0.95), Vector2(-h + 0.95, 0.98),
					Vector2(-h + 0.25, 0.98), Vector2(-h + 0.04, 0.93), Vector2(-h, 0.74),
					Vector2(-h, 0.42), Vector2(-h + 0.03, 0.31)])
		_:
			points.append_array([Vector2(h - 0.01, 0.42), Vector2(h, 0.62), Vector2(h - 0.06, 0.82),
					Vector2(h - 0.45, 0.95), Vector2(h - 0.95, 1.03), Vector2(-h + 0.06, 1.05),
					Vector2(-h, 0.95), Vector2(-h, 0.46), Vector2(-h + 0.03, 0.35)])
	return points


## The arch over a wheel at z = `axle` (centre `radius` above the ground), cut up from the sill.
static func _append_arch(points: PackedVector2Array, axle: float, radius: float, arch: float,
		sill: float) -> void:
	var lift: float = clampf((radius - sill) / arch, -0.95, 0.95)
	var start: float = PI + asin(lift)
	var end: float = -asin(lift)
	var steps: int = 10
	for k: int in steps + 1:
		var angle: float = lerpf(start, end, float(k) / float(steps))
		points.append(Vector2(axle + arch * cos(angle), radius + arch * sin(angle)))


## The glasshouse silhouette ((z, y), counter-clockwise), its base hidden in the lower body.
static func _glasshouse_profile(style: Style, h: float) -> PackedVector2Array:
	match style:
		Style.HATCHBACK:
			return PackedVector2Array([Vector2(-h + 0.14, 0.9), Vector2(h - 0.98, 0.9),
					Vector2(h - 1.72, 1.38), Vector2(h - 1.95, 1.44), Vector2(-h + 0.6, 1.45),
					Vector2(-h + 0.38, 1.41)])
		Style.SALOON:
			return PackedVector2Array([Vector2(-h + 0.88, 0.9), Vector2(h - 1.18, 0.9),
					Vector2(h - 1.92, 1.37), Vector2(h - 2.15, 1.42), Vector2(-h + 1.6, 1.42),
					Vector2(-h + 1.38, 1.38)])
		_:
			return PackedVector2Array([Vector2(-h + 0.08, 1.0), Vector2(h - 0.98, 1.0),
					Vector2(h - 1.5, 1.68), Vector2(h - 1.7, 1.76), Vector2(-h + 0.2, 1.78),
					Vector2(-h + 0.1, 1.72)])


## Painted pillars between the side windows, leaning with the glasshouse's sides.
static func _add_pillars(builder: MeshBuilder, style: Style, glasshouse: PackedVector2Array,
		low_half_width: float, high_half_width: float) -> void:
	var bottom: float = glasshouse[0].y
	var top: float = bottom
	for point: Vector2 in glasshouse:
		top = maxf(top, point.y)
	var height: float = top - bottom
	var lean: float = atan2(low_half_width - high_half_width, height)
	var front: float = glasshouse[1].x
	var back: float = glasshouse[0].x
	var places: Array[float] = [lerpf(back, front, 0.5)]
	if style == Style.VAN:
		places = [lerpf(back, front, 0.62), lerpf(back, front, 0.3)]
	var mid_half_width: float = (low_half_width + high_half_width) * 0.5
	for z: float in places:
		for side: float in [-1.0, 1.0]:
			var center: Vector3 = Vector3(side * (mid_half_width + 0.012), bottom + height * 0.5, z)
			builder.box(Slot.PAINT, center, Vector3(0.03, height * 1.02, 0.09),
					Basis(Vector3.BACK, side * lean))


## Lights, grille, bumpers, plates, mirrors (and roof rails on the van), placed on the
## profile's nose and tail.
static func _add_details(builder: MeshBuilder, style: Style, lower: PackedVector2Array,
		glasshouse: PackedVector2Array, half_width: float) -> void:
	var head_y: float = 0.8 if style == Style.VAN else 0.64
	var tail_y: float = 0.86 if style == Style.VAN else 0.8
	var bumper_y: float = 0.4 if style == Style.VAN else 0.33
	var plate_y: float = bumper_y + 0.14
	var nose: float = MeshBuilder.profile_end_at(lower, head_y, true)
	var tail: float = MeshBuilder.profile_end_at(lower, tail_y, false)
	for side: float in [-1.0, 1.0]:
		var x: float = side * (half_width - 0.27)
		builder.box(Slot.HEADLIGHT, Vector3(x, head_y, nose - 0.025), Vector3(0.36, 0.1, 0.08))
		builder.box(Slot.TAILLIGHT, Vector3(side * (half_width - 0.2), tail_y, tail + 0.025),
				Vector3(0.3, 0.13, 0.08))
		# Door mirrors, at the foot of the windscreen.
		var mirror_z: float = glasshouse[1].x - 0.12
		builder.box(Slot.PAINT, Vector3(side * (half_width + 0.04), glasshouse[1].y + 0.12, mirror_z),
				Vector3(0.14, 0.1, 0.16))
		builder.box(Slot.TRIM, Vector3(side * (half_width - 0.04), glasshouse[1].y + 0.1, mirror_z),
				Vector3(0.1, 0.04, 0.06))
	var grille_y: float = head_y - 0.02
	var grille_z: float = MeshBuilder.profile_end_at(lower, grille_y, true)
	builder.box(Slot.TRIM, Vector3(0.0, grille_y, grille_z - 0.02), Vector3(half_width * 2.0 - 0.95, 0.11, 0.06))
	for front: bool in [true, false]:
		var end: float = MeshBuilder.profile_end_at(lower, bumper_y, front)
		var out: float = 1.0 if front else -1.0
		builder.box(Slot.TRIM, Vector3(0.0, bumper_y, end - out * 0.05),
				Vector3(half_width * 2.0 - 0.06, 0.15, 0.12))
		var plate_end: float = MeshBuilder.profile_end_at(lower, plate_y, front)
		builder.box(Slot.PLATE, Vector3(0.0, plate_y, plate_end - out * 0.005), Vector3(0.52, 0.11, 0.03))
	if style == Style.VAN:
		var roof: float = glasshouse[4].y
		for side: float in [-1.0, 1.0]:
			builder.box(Slot.TRIM, Vector3(side * (half_width - 0.28), roof + 0.04,
					(glasshouse[3].x + glasshouse[4].x) * 0.5),
					Vector3(0.05, 0.06, (glasshouse[3].x - glasshouse[4].x) * 0.9))


static func _wheel_mesh(radius: float, width: float) -> ArrayMesh:
	var key: String = "%.3f %.3f" % [radius, width]
	if _wheel_meshes.has(key):
		return _wheel_meshes[key]
	var tyre: StandardMaterial3D = MeshBuilder.surface(Color(0.05, 0.05, 0.055), 0.9)
	var rim: StandardMaterial3D = MeshBuilder.surface(Color(0.72, 0.73, 0.75), 0.3, 0.7)
	var materials: Array[Material] = [tyre, rim, _materials()[Slot.TRIM]]
	var builder: MeshBuilder = MeshBuilder.new(materials)
	builder.cylinder(0, Vector3.ZERO, Vector3.RIGHT, radius, width, WHEEL_SEGMENTS)
	var rim_radius: float = radius * 0.64
	builder.cylinder(1, Vector3.ZERO, Vector3.RIGHT, rim_radius, width + 0.01, WHEEL_SEGMENTS)
	for side: float in [-1.0, 1.0]:
		var face: float = side * (width * 0.5 + 0.008)
		for k: int in SPOKES:
			var angle: float = TAU * float(k) / float(SPOKES)
			var along: Vector3 = Vector3(0.0, cos(angle), sin(angle))
			builder.box(2, Vector3(face, 0.0, 0.0) + along * rim_radius * 0.5,
					Vector3(0.012, rim_radius * 0.95, 0.045), Basis(Vector3.RIGHT, angle))
		builder.cylinder(2, Vector3(face, 0.0, 0.0), Vector3.RIGHT, rim_radius * 0.25, 0.02, 10)
	var mesh: ArrayMesh = builder.commit()
	_wheel_meshes[key] = mesh
	return mesh
