extends RefCounted
## What RaySensor2D and RaySensor3D share: their readings' bookkeeping, the ray angles, the hit
## classes, and the readings' layout in a state (state_size(), state_names(), write_to()). Each
## sensor owns one and keeps what depends on 2D or 3D: its query, the ray directions (from
## `angles`), the casting loop and the drawing.
##
## It works on the sensor's own `distances` and `hit_classes` arrays, given to new() (packed
## arrays are shared by reference: neither side replaces them, both only resize, fill and index
## them). sense() calls clear(), then writes each hit into those arrays itself (a method call per
## ray would cost more than the write), asking hit_class() when `groups` is set.

const HIT_COLOR: Color = Color(1.0, 0.45, 0.1)
const MISS_COLOR: Color = Color(0.75, 0.75, 0.75, 0.6)

## Per ray: distance to the first hit / the sensor's length, in [0, 1]; 1.0 = nothing within
## it. The sensor's `distances` array itself (see new()).
var distances: PackedFloat32Array
## Per ray: the hit class, 0.0 for no hit, no listed group or no `groups`. The sensor's
## `hit_classes` array itself (see new()).
var hit_classes: PackedFloat32Array
## Per ray: its angle in radians, clockwise from the sensor's forward axis (set_rays()).
var angles: PackedFloat64Array = PackedFloat64Array()
## The hit-class groups (the sensor's hit_class_groups): a collider in groups[k - 1] is class k.
## Setting them zeroes `hit_classes`.
var groups: PackedStringArray = PackedStringArray():
	set(value):
		groups = value
		hit_classes.fill(0.0)


## True when the sensor `sensor` belongs to an RLAgent that is watched (RLAgent.watched): its
## nearest RLAgent ancestor.
static func agent_watched(sensor: Node) -> bool:
	var node: Node = sensor.get_parent()
	while node != null:
		var agent: RLAgent = node as RLAgent
		if agent != null:
			return agent.watched
		node = node.get_parent()
	return false


## `sensor_distances` and `sensor_classes`: the sensor's arrays, which this fills.
func _init(sensor_distances: PackedFloat32Array, sensor_classes: PackedFloat32Array) -> void:
	distances = sensor_distances
	hit_classes = sensor_classes


## Lays out `count` rays over `spread_degrees`: 360 = all around with no duplicate ray, a(i) =
## 360 * i / count; less = a fan centred on the forward axis with both edges included, a(i) =
## spread * (i / (count - 1) - 0.5) (one ray: straight ahead). Fills `angles`; every reading
## becomes a miss (distance 1.0, class 0.0).
func set_rays(count: int, spread_degrees: float) -> void:
	angles.resize(count)
	for i: int in count:
		var angle: float = 0.0
		if spread_degrees >= 360.0:
			angle = TAU * float(i) / float(count)
		elif count > 1:
			angle = deg_to_rad(spread_degrees) * (float(i) / float(count - 1) - 0.5)
		angles[i] = angle
	distances.resize(count)
	hit_classes.resize(count)
	clear()


## Every reading a miss: distance 1.0, class 0.0 (a sense() starts with this).
func clear() -> void:
	distances.fill(1.0)
	hit_classes.fill(0.0)


## The hit class of `hit`, a non-empty intersect_ray() result: k when its collider is in
## groups[k - 1] (the first listed group it is in), 0.0 when in none or already freed.
func hit_class(hit: Dictionary) -> float:
	var collider: Object = hit["collider"]
	var node: Node = collider as Node
	if node == null:
		return 0.0
	for k: int in groups.size():
		if node.is_in_group(groups[k]):
			return float(k + 1)
	return 0.0


## Floats the readings fill in a state: one per ray, twice that with `groups`.
func state_size() -> int:
	return distances.size() * (2 if not groups.is_empty() else 1)


## Names of the floats write_to() writes: "<prefix>_<i>" per ray, then "<prefix>_class_<i>" per
## ray when `groups` is set.
func state_names(prefix: String) -> PackedStringArray:
	var count: int = distances.size()
	var names: PackedStringArray = PackedStringArray()
	for i: int in count:
		names.append("%s_%d" % [prefix, i])
	if not groups.is_empty():
		for i: int in count:
			names.append("%s_class_%d" % [prefix, i])
	return names


## Copies the readings into `state` from index `offset` (distances, then the classes when
## `groups` is set); returns the index after the last float written. `state` must be large
## enough: offset + state_size().
func write_to(state: PackedFloat32Array, offset: int) -> int:
	var count: int = distances.size()
	for i: int in count:
		state[offset + i] = distances[i]
	var next: int = offset + count
	if not groups.is_empty():
		for i: int in count:
			state[next + i] = hit_classes[i]
		next += count
	return next
