class_name RaySensor2D
extends Node2D
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
## Ray i points at angle a(i) clockwise on screen (y down) from the node's forward axis (+x, the
## direction of its rotation). spread_degrees = 360: a(i) = 360 * i / ray_count, all around
## with no duplicate ray (ray 0 straight ahead). Less: a fan centred on the forward axis with
## both edges included, a(i) = spread * (i / (ray_count - 1) - 0.5), from the left edge (as seen
## facing forward) to the right (one ray: straight ahead). The rays follow the node's global
## transform (position and rotation; its scale does not change their length).
##
## When the agent is watched (RLAgent.watched: play mode, a window, offscreen frames) and
## debug_draw is on, the rays of the last sense() are drawn as lines (orange up to a hit, grey
## when nothing is within length). Unwatched (headless training) nothing is drawn.

# The readings' bookkeeping, the ray angles, the hit classes and the state layout, shared with
# RaySensor3D: this node casts and draws.
const RayReadings := preload("res://addons/rlgodot/sensors/ray_readings.gd")

const LINE_WIDTH: float = -1.0

## Rays cast by sense().
@export_range(1, 1024) var ray_count: int = 16:
	set(value):
		ray_count = maxi(value, 1)
		_update_directions()
## Angle covered, degrees: 360 = all around (evenly spaced, no duplicate ray); less = a fan
## centred on the forward axis (+x), both edges included.
@export_range(0.0, 360.0, 0.1, "suffix:°") var spread_degrees: float = 360.0:
	set(value):
		spread_degrees = clampf(value, 0.0, 360.0)
		_update_directions()
## Ray length, pixels (world units): a collider farther away reads 1.0, as does no collider.
@export_range(0.1, 100000.0, 0.1, "or_greater", "suffix:px") var length: float = 500.0:
	set(value):
		length = maxf(value, 0.001)
## The physics layers the rays see.
@export_flags_2d_physics var collision_mask: int = 1
## See physics bodies (static, rigid, character).
@export var collide_with_bodies: bool = true
## See Area2Ds too.
@export var collide_with_areas: bool = false
## Ignore the parent node when it is a CollisionObject2D (the body the sensor rides on).
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
var exclude: Array[CollisionObject2D] = []:
	set(value):
		exclude = value
		_update_exclude()

# Works on `distances` and `hit_classes` themselves (packed arrays are shared by reference).
var _readings: RayReadings = RayReadings.new(distances, hit_classes)
var _query: PhysicsRayQueryParameters2D = PhysicsRayQueryParameters2D.new()
var _directions: PackedVector2Array = PackedVector2Array()
var _ends: PackedVector2Array = PackedVector2Array()
var _origin: Vector2 = Vector2.ZERO
var _drawing: bool = false


func _init() -> void:
	_update_directions()


func _enter_tree() -> void:
	_update_exclude()


func _ready() -> void:
	_drawing = debug_draw and RayReadings.agent_watched(self)


func _draw() -> void:
	if not _drawing:
		return
	# The ends are global points of the last sense(): draw them in global coordinates.
	draw_set_transform_matrix(global_transform.affine_inverse())
	for i: int in ray_count:
		var color: Color = RayReadings.HIT_COLOR if distances[i] < 1.0 else RayReadings.MISS_COLOR
		draw_line(_origin, _ends[i], color, LINE_WIDTH)


## Casts every ray from the node's current transform and fills `distances` and `hit_classes`.
## Call it when the state is read (once per decision) or every tick, as the agent needs.
func sense() -> void:
	var space: PhysicsDirectSpaceState2D = get_world_2d().direct_space_state
	var xform: Transform2D = global_transform
	var origin: Vector2 = xform.origin
	# The query's setter methods: a direct call, where property syntax looks the name up.
	_query.set_from(origin)
	_query.set_collision_mask(collision_mask)
	_query.set_collide_with_bodies(collide_with_bodies)
	_query.set_collide_with_areas(collide_with_areas)
	var classify: bool = not hit_class_groups.is_empty()
	_readings.clear()
	for i: int in ray_count:
		var end: Vector2 = origin + xform.basis_xform(_directions[i]).normalized() * length
		_query.set_to(end)
		var hit: Dictionary = space.intersect_ray(_query)
		if not hit.is_empty():
			var point: Vector2 = hit["position"]
			distances[i] = minf(origin.distance_to(point) / length, 1.0)
			if classify:
				hit_classes[i] = _readings.hit_class(hit)
			end = point
		if _drawing:
			_ends[i] = end
	if _drawing:
		_origin = origin
		queue_redraw()


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


## Direction of ray `i` in the node's frame (unit length).
func ray_direction(i: int) -> Vector2:
	return _directions[i]


func _update_directions() -> void:
	_readings.set_rays(ray_count, spread_degrees)
	var angles: PackedFloat64Array = _readings.angles
	_directions.resize(ray_count)
	for i: int in ray_count:
		# Clockwise on screen from +x: +y (down) at 90 degrees.
		_directions[i] = Vector2(cos(angles[i]), sin(angles[i]))
	_ends.resize(ray_count)


func _update_exclude() -> void:
	var rids: Array[RID] = []
	if exclude_parent and is_inside_tree():
		var parent: CollisionObject2D = get_parent() as CollisionObject2D
		if parent != null:
			rids.append(parent.get_rid())
	for body: CollisionObject2D in exclude:
		if body != null:
			rids.append(body.get_rid())
	_query.exclude = rids
