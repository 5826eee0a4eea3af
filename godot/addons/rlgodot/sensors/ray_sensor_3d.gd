class_name RaySensor3D
extends Node3D
## A fan or ring of rays for an agent's state: how far the nearest collider is along each ray,
## normalised to [0, 1] (1 = nothing within `length`), and optionally what it is.
##
## Put it in the agent's scene (a child of the body it rides on: that body is then ignored) and
## set its exports. It casts only when asked: call sense() once per decision (in
## RLAgent.get_state()) or once per tick, then read `distances` (and `hit_classes`) or copy them
## into the agent's state with write_to(); state_names() names those floats. One query object is
## reused for every ray; nothing is allocated per ray by the sensor (the engine's intersect_ray()
## still returns a Dictionary per ray).
##
## Ray i points at angle a(i) clockwise (seen from above, +y up) from the node's forward axis
## (-z, Godot's Vector3.FORWARD). spread_degrees = 360: a(i) = 360 * i / ray_count, all around
## with no duplicate ray (ray 0 straight ahead). Less: a fan centred on the forward axis with
## both edges included, a(i) = spread * (i / (ray_count - 1) - 0.5), from the left edge to the
## right (one ray: straight ahead). The rays lie in the node's xz plane and follow its full
## transform, unless `level` keeps them horizontal.
##
## When the agent is watched (RLAgent.watched: play mode, a window, offscreen frames) and
## debug_draw is on, the rays of the last sense() are drawn as lines (orange up to a hit, grey
## when nothing is within length). Unwatched (headless training) nothing is built or drawn.

# The readings' bookkeeping, the ray angles, the hit classes and the state layout, shared with
# RaySensor2D: this node casts and draws.
const RayReadings := preload("res://addons/rlgodot/sensors/ray_readings.gd")

## Rays cast by sense().
@export_range(1, 1024) var ray_count: int = 16:
	set(value):
		ray_count = maxi(value, 1)
		_update_directions()
## Angle covered, degrees: 360 = all around (evenly spaced, no duplicate ray); less = a fan
## centred on the forward axis (-z), both edges included.
@export_range(0.0, 360.0, 0.1, "suffix:°") var spread_degrees: float = 360.0:
	set(value):
		spread_degrees = clampf(value, 0.0, 360.0)
		_update_directions()
## Ray length, m: a collider farther away reads 1.0, as does no collider at all.
@export_range(0.01, 1000.0, 0.01, "or_greater", "suffix:m") var length: float = 10.0:
	set(value):
		length = maxf(value, 0.001)
## The physics layers the rays see.
@export_flags_3d_physics var collision_mask: int = 1
## See physics bodies (static, rigid, character, vehicle).
@export var collide_with_bodies: bool = true
## See Area3Ds too.
@export var collide_with_areas: bool = false
## Ignore the parent node when it is a CollisionObject3D (the body the sensor rides on).
@export var exclude_parent: bool = true:
	set(value):
		exclude_parent = value
		_update_exclude()
## Optional hit class per ray, in `hit_classes`: 0 = no hit, or a collider in none of these
## groups; k = a collider in group hit_class_groups[k - 1] (the first listed group it belongs
## to). Raw integers (not normalised): one-hot them in the observation if you like. Empty = no
## classes (state_size() = ray_count).
@export var hit_class_groups: PackedStringArray = PackedStringArray():
	set(value):
		hit_class_groups = value
		_readings.groups = value
## Keep the rays level: horizontal, in the plane y = level_height (world), starting at the node's
## global x and z and turned by its heading only (its forward axis projected on the horizontal
## plane), whatever its pitch and roll: a planar scanner on a vehicle that tilts on flat ground.
@export var level: bool = false
## Height (world y, m) of the ray plane when `level` is on.
@export var level_height: float = 0.0
## Draw the rays while the agent is watched (never when headless or unwatched).
@export var debug_draw: bool = true

## Per ray: distance to the first hit / length, in [0, 1]; 1.0 = nothing within length (also
## before the first sense()). Filled by sense(); the same array every call: read it, never
## assign it.
var distances: PackedFloat32Array = PackedFloat32Array()
## Per ray: the hit class (see hit_class_groups), 0.0 when there are no groups. Filled by sense()
## like `distances`.
var hit_classes: PackedFloat32Array = PackedFloat32Array()
## More bodies or areas the rays ignore (besides the parent with exclude_parent).
var exclude: Array[CollisionObject3D] = []:
	set(value):
		exclude = value
		_update_exclude()

# Works on `distances` and `hit_classes` themselves (packed arrays are shared by reference).
var _readings: RayReadings = RayReadings.new(distances, hit_classes)
var _query: PhysicsRayQueryParameters3D = PhysicsRayQueryParameters3D.new()
var _directions: PackedVector3Array = PackedVector3Array()
var _ends: PackedVector3Array = PackedVector3Array()
var _origin: Vector3 = Vector3.ZERO
var _lines: ImmediateMesh = null
var _line_material: StandardMaterial3D = null


func _init() -> void:
	_update_directions()


func _enter_tree() -> void:
	_update_exclude()


func _ready() -> void:
	if debug_draw and RayReadings.agent_watched(self):
		_build_lines()


## Casts every ray from the node's current transform and fills `distances` and `hit_classes`.
## Call it when the state is read (once per decision) or every tick, as the agent needs.
func sense() -> void:
	var space: PhysicsDirectSpaceState3D = get_world_3d().direct_space_state
	var xform: Transform3D = global_transform
	var origin: Vector3 = xform.origin
	if level:
		origin.y = level_height
	# The query's setter methods: a direct call, where property syntax looks the name up.
	_query.set_from(origin)
	_query.set_collision_mask(collision_mask)
	_query.set_collide_with_bodies(collide_with_bodies)
	_query.set_collide_with_areas(collide_with_areas)
	var classify: bool = not hit_class_groups.is_empty()
	_readings.clear()
	var drawing: bool = _lines != null
	for i: int in ray_count:
		var direction: Vector3 = xform.basis * _directions[i]
		if level:
			direction.y = 0.0
		var end: Vector3 = origin + direction.normalized() * length
		_query.set_to(end)
		var hit: Dictionary = space.intersect_ray(_query)
		if not hit.is_empty():
			var point: Vector3 = hit["position"]
			distances[i] = minf(origin.distance_to(point) / length, 1.0)
			if classify:
				hit_classes[i] = _readings.hit_class(hit)
			end = point
		if drawing:
			_ends[i] = end
	if drawing:
		_origin = origin
		_draw_lines()


## Floats this sensor adds to a state: ray_count, twice that with hit_class_groups.
func state_size() -> int:
	return _readings.state_size()


## Names of the floats write_to() writes: "<prefix>_<i>" per ray, then "<prefix>_class_<i>" per
## ray when hit_class_groups is set.
func state_names(prefix: String) -> PackedStringArray:
	return _readings.state_names(prefix)


## Copies the last sense() into `state` from index `offset` (distances, then the classes when
## hit_class_groups is set); returns the index after the last float written. `state` must be
## large enough: offset + state_size().
func write_to(state: PackedFloat32Array, offset: int) -> int:
	return _readings.write_to(state, offset)


## Direction of ray `i` in the node's frame (unit length, y = 0).
func ray_direction(i: int) -> Vector3:
	return _directions[i]


func _update_directions() -> void:
	_readings.set_rays(ray_count, spread_degrees)
	var angles: PackedFloat64Array = _readings.angles
	_directions.resize(ray_count)
	for i: int in ray_count:
		# Clockwise from -z seen from above: +x (right) at 90 degrees.
		_directions[i] = Vector3(sin(angles[i]), 0.0, -cos(angles[i]))
	_ends.resize(ray_count)


func _update_exclude() -> void:
	var rids: Array[RID] = []
	if exclude_parent and is_inside_tree():
		var parent: CollisionObject3D = get_parent() as CollisionObject3D
		if parent != null:
			rids.append(parent.get_rid())
	for body: CollisionObject3D in exclude:
		if body != null:
			rids.append(body.get_rid())
	_query.exclude = rids


## The line mesh (watched only): an internal child, so duplicate() of the body leaves it out.
func _build_lines() -> void:
	_lines = ImmediateMesh.new()
	_line_material = StandardMaterial3D.new()
	_line_material.shading_mode = BaseMaterial3D.SHADING_MODE_UNSHADED
	_line_material.vertex_color_use_as_albedo = true
	_line_material.transparency = BaseMaterial3D.TRANSPARENCY_ALPHA
	var view: MeshInstance3D = MeshInstance3D.new()
	view.mesh = _lines
	view.top_level = true  # vertices in world coordinates
	view.cast_shadow = GeometryInstance3D.SHADOW_CASTING_SETTING_OFF
	add_child(view, false, INTERNAL_MODE_BACK)
	view.global_transform = Transform3D.IDENTITY


func _draw_lines() -> void:
	_lines.clear_surfaces()
	_lines.surface_begin(Mesh.PRIMITIVE_LINES, _line_material)
	for i: int in ray_count:
		_lines.surface_set_color(
				RayReadings.HIT_COLOR if distances[i] < 1.0 else RayReadings.MISS_COLOR)
		_lines.surface_add_vertex(_origin)
		_lines.surface_add_vertex(_ends[i])
	_lines.surface_end()
