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

const HIT_COLOR: Color = Color(1.0, 0.45, 0.1)
const MISS_COLOR: Color = Color(0.75, 0.75, 0.75, 0.6)
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
@export_flags_2d_physics var collision_mask: int = 1:
	set(value):
		collision_mask = value
		_query.collision_mask = value
## See physics bodies (static, rigid, character).
@export var collide_with_bodies: bool = true:
	set(value):
		collide_with_bodies = value
		_query.collide_with_bodies = value
## See Area2Ds too.
@export var collide_with_areas: bool = false:
	set(value):
		collide_with_areas = value
		_query.collide_with_areas = value
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
		hit_classes.fill(0.0)
## Draw the rays while the agent is watched (never when headless or unwatched).
@export var debug_draw: bool = true

## Per ray: distance to the first hit / length, in [0, 1]; 1.0 = nothing within length (also
## before the first sense()). Filled by sense(); the same array every call.
var distances: PackedFloat32Array = PackedFloat32Array()
## Per ray: the hit class (see hit_class_groups), 0.0 when there are no groups. Filled by sense().
var hit_classes: PackedFloat32Array = PackedFloat32Array()
## More bodies or areas the rays ignore (besides the parent with exclude_parent).
var exclude: Array[CollisionObject2D] = []:
	set(value):
		exclude = value
		_update_exclude()

var _query: PhysicsRayQueryParameters2D = PhysicsRayQueryParameters2D.new()
var _directions: PackedVector2Array = PackedVector2Array()
var _ends: PackedVector2Array = PackedVector2Array()
var _origin: Vector2 = Vector2.ZERO
var _drawing: bool = false


func _init() -> void:
	_update_directions()
	_query.collision_mask = collision_mask
	_query.collide_with_bodies = collide_with_bodies
	_query.collide_with_areas = collide_with_areas


func _enter_tree() -> void:
	_update_exclude()


func _ready() -> void:
	_drawing = debug_draw and _agent_watched()


func _draw() -> void:
	if not _drawing:
		return
	# The ends are global points of the last sense(): draw them in global coordinates.
	draw_set_transform_matrix(global_transform.affine_inverse())
	for i: int in ray_count:
		var color: Color = HIT_COLOR if distances[i] < 1.0 else MISS_COLOR
		draw_line(_origin, _ends[i], color, LINE_WIDTH)


## Casts every ray from the node's current transform and fills `distances` and `hit_classes`.
## Call it when the state is read (once per decision) or every tick, as the agent needs.
func sense() -> void:
	var space: PhysicsDirectSpaceState2D = get_world_2d().direct_space_state
	var xform: Transform2D = global_transform
	var origin: Vector2 = xform.origin
	_query.from = origin
	var classify: bool = not hit_class_groups.is_empty()
	for i: int in ray_count:
		var end: Vector2 = origin + xform.basis_xform(_directions[i]).normalized() * length
		_query.to = end
		var hit: Dictionary = space.intersect_ray(_query)
		if hit.is_empty():
			distances[i] = 1.0
			if classify:
				hit_classes[i] = 0.0
		else:
			var point: Vector2 = hit["position"]
			distances[i] = minf(origin.distance_to(point) / length, 1.0)
			if classify:
				var collider: Object = hit["collider"]
				hit_classes[i] = _class_of(collider as Node)
			end = point
		if _drawing:
			_ends[i] = end
	if _drawing:
		_origin = origin
		queue_redraw()


## Floats this sensor adds to a state: ray_count, twice that with hit_class_groups.
func state_size() -> int:
	return ray_count * (2 if not hit_class_groups.is_empty() else 1)


## Names of the floats write_to() writes: "<prefix>_<i>" per ray, then "<prefix>_class_<i>" per
## ray when hit_class_groups is set.
func state_names(prefix: String) -> PackedStringArray:
	var names: PackedStringArray = PackedStringArray()
	for i: int in ray_count:
		names.append("%s_%d" % [prefix, i])
	if not hit_class_groups.is_empty():
		for i: int in ray_count:
			names.append("%s_class_%d" % [prefix, i])
	return names


## Copies the last sense() into `state` from index `offset` (distances, then the classes when
## hit_class_groups is set); returns the index after the last float written. `state` must be
## large enough: offset + state_size().
func write_to(state: PackedFloat32Array, offset: int) -> int:
	for i: int in ray_count:
		state[offset + i] = distances[i]
	var next: int = offset + ray_count
	if not hit_class_groups.is_empty():
		for i: int in ray_count:
			state[next + i] = hit_classes[i]
		next += ray_count
	return next


## Direction of ray `i` in the node's frame (unit length).
func ray_direction(i: int) -> Vector2:
	return _directions[i]


func _update_directions() -> void:
	_directions.resize(ray_count)
	for i: int in ray_count:
		var angle: float = 0.0
		if spread_degrees >= 360.0:
			angle = TAU * float(i) / float(ray_count)
		elif ray_count > 1:
			angle = deg_to_rad(spread_degrees) * (float(i) / float(ray_count - 1) - 0.5)
		# Clockwise on screen from +x: +y (down) at 90 degrees.
		_directions[i] = Vector2(cos(angle), sin(angle))
	distances.resize(ray_count)
	distances.fill(1.0)
	hit_classes.resize(ray_count)
	hit_classes.fill(0.0)
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


## The hit class of `collider` (0.0 for null: a collider already freed).
func _class_of(collider: Node) -> float:
	if collider == null:
		return 0.0
	for k: int in hit_class_groups.size():
		if collider.is_in_group(hit_class_groups[k]):
			return float(k + 1)
	return 0.0


func _agent_watched() -> bool:
	var node: Node = get_parent()
	while node != null:
		var agent: RLAgent = node as RLAgent
		if agent != null:
			return agent.watched
		node = node.get_parent()
	return false
