extends RefCounted
## Collects triangles into material slots and commits them as one ArrayMesh, one surface per
## slot that received triangles (in slot order): a car body or the car park's concrete in a few
## draw calls instead of one node per primitive.
##
## Every helper takes or derives the outward side of what it adds and orders the vertices for
## Godot's front faces (clockwise seen from outside), so callers never think about winding.
## Normals are flat per face, except the round sides of cylinders and spheres and the gentle
## bends of a loft, which are smooth.

## Adjacent loft edges closer than this (cosine of the angle between their normals) share a
## smoothed normal at their common point; sharper corners stay crisp.
const SMOOTH_COS: float = 0.82

var _tools: Array[SurfaceTool] = []
var _materials: Array[Material] = []
var _used: PackedByteArray = PackedByteArray()


## A plain lit material: `color`, `roughness` and `metallic` (StandardMaterial3D's defaults
## otherwise: roughness 1, metallic 0).
static func surface(color: Color, roughness: float = 1.0, metallic: float = 0.0) -> StandardMaterial3D:
	var material: StandardMaterial3D = StandardMaterial3D.new()
	material.albedo_color = color
	material.roughness = roughness
	material.metallic = metallic
	return material


## A lamp's material: `color` lit, glowing `emission` at `energy`.
static func glowing(color: Color, emission: Color, energy: float) -> StandardMaterial3D:
	var material: StandardMaterial3D = surface(color)
	material.emission_enabled = true
	material.emission = emission
	material.emission_energy_multiplier = energy
	return material


## One slot per material; a helper's `slot` is an index into `materials`.
func _init(materials: Array[Material]) -> void:
	for material: Material in materials:
		var tool: SurfaceTool = SurfaceTool.new()
		tool.begin(Mesh.PRIMITIVE_TRIANGLES)
		_tools.append(tool)
		_materials.append(material)
		_used.append(0)


## True when slot `slot` received at least one triangle (its surface exists after commit()).
func has_triangles(slot: int) -> bool:
	return _used[slot] != 0


## The mesh: one surface per used slot, in slot order, each with its slot's material.
func commit() -> ArrayMesh:
	var mesh: ArrayMesh = ArrayMesh.new()
	for slot: int in _tools.size():
		if _used[slot] == 0:
			continue
		_tools[slot].commit(mesh)
		mesh.surface_set_material(mesh.get_surface_count() - 1, _materials[slot])
	return mesh


## One flat triangle whose front faces the side `outward` points to.
func triangle(slot: int, a: Vector3, b: Vector3, c: Vector3, outward: Vector3) -> void:
	var normal: Vector3 = (b - a).cross(c - a)
	if normal.length_squared() < 1.0e-14:
		return
	if normal.dot(outward) < 0.0:
		normal = -normal
		var swap: Vector3 = b
		b = c
		c = swap
	normal = normal.normalized()
	_add(slot, a, b, c, normal, normal, normal)


## A quad a-b-c-d (corners in order around it), flat, facing `outward`.
func quad(slot: int, a: Vector3, b: Vector3, c: Vector3, d: Vector3, outward: Vector3) -> void:
	triangle(slot, a, b, c, outward)
	triangle(slot, a, c, d, outward)


## A box of `size` centred at `center`, turned by `basis`.
func box(slot: int, center: Vector3, size: Vector3, basis: Basis = Basis.IDENTITY) -> void:
	var half: Vector3 = size * 0.5
	for axis: int in 3:
		var u: int = (axis + 1) % 3
		var v: int = (axis + 2) % 3
		for side: float in [-1.0, 1.0]:
			var corners: Array[Vector3] = []
			for corner: Vector2 in [Vector2(-1, -1), Vector2(1, -1), Vector2(1, 1), Vector2(-1, 1)]:
				var local: Vector3 = Vector3.ZERO
				local[axis] = side * half[axis]
				local[u] = corner.x * half[u]
				local[v] = corner.y * half[v]
				corners.append(center + basis * local)
			var normal: Vector3 = Vector3.ZERO
			normal[axis] = side
			quad(slot, corners[0], corners[1], corners[2], corners[3], basis * normal)


## A closed cylinder around `axis` (unit) through `center`; smooth sides, flat caps in
## `cap_slot` (-1 = same slot as the sides).
func cylinder(slot: int, center: Vector3, axis: Vector3, radius: float, length: float,
		segments: int, cap_slot: int = -1) -> void:
	var caps: int = slot if cap_slot < 0 else cap_slot
	var u: Vector3 = axis.cross(Vector3.UP if absf(axis.y) < 0.9 else Vector3.RIGHT).normalized()
	var v: Vector3 = axis.cross(u)
	var top: Vector3 = center + axis * (length * 0.5)
	var bottom: Vector3 = center - axis * (length * 0.5)
	for k: int in segments:
		var a0: float = TAU * float(k) / float(segments)
		var a1: float = TAU * float(k + 1) / float(segments)
		var r0: Vector3 = u * cos(a0) + v * sin(a0)
		var r1: Vector3 = u * cos(a1) + v * sin(a1)
		_smooth_quad(slot, bottom + r0 * radius, bottom + r1 * radius, top + r1 * radius,
				top + r0 * radius, r0, r1, r1, r0)
		triangle(caps, top, top + r0 * radius, top + r1 * radius, axis)
		triangle(caps, bottom, bottom + r1 * radius, bottom + r0 * radius, -axis)


## A low-poly sphere (`rings` bands of `segments` faces), smooth.
func sphere(slot: int, center: Vector3, radius: Vector3, rings: int, segments: int) -> void:
	for ring: int in rings:
		var p0: float = PI * float(ring) / float(rings) - PI * 0.5
		var p1: float = PI * float(ring + 1) / float(rings) - PI * 0.5
		for k: int in segments:
			var a0: float = TAU * float(k) / float(segments)
			var a1: float = TAU * float(k + 1) / float(segments)
			var n00: Vector3 = _sphere_normal(p0, a0)
			var n01: Vector3 = _sphere_normal(p0, a1)
			var n11: Vector3 = _sphere_normal(p1, a1)
			var n10: Vector3 = _sphere_normal(p1, a0)
			_smooth_quad(slot, center + n00 * radius, center + n01 * radius,
					center + n11 * radius, center + n10 * radius, n00, n01, n11, n10)


## A body panel: the side profile `profile` (points (z, y), counter-clockwise with z to the
## right and y up; concave is fine, e.g. wheel arches cut into the sill) extruded across x.
## Its half width goes linearly from `half_width_bottom` at the profile's lowest point to
## `half_width_top` at its highest, and its side edges are chamfered `bevel` wide. Slots: the
## two flat sides, the chamfers, and the band around the profile by the way each edge faces:
## up (the roof, a bonnet), down (the underside, wheel wells) or sideways (nose, tail, glass).
func loft(profile: PackedVector2Array, half_width_bottom: float, half_width_top: float,
		bevel: float, side_slot: int, bevel_slot: int, up_slot: int, down_slot: int,
		other_slot: int) -> void:
	var count: int = profile.size()
	var low: float = INF
	var high: float = -INF
	for point: Vector2 in profile:
		low = minf(low, point.y)
		high = maxf(high, point.y)
	var span: float = maxf(high - low, 1.0e-6)
	# Outward normal of edge k (from point k to k + 1) in the (z, y) plane.
	var edge_normals: PackedVector2Array = PackedVector2Array()
	for k: int in count:
		var d: Vector2 = (profile[(k + 1) % count] - profile[k]).normalized()
		edge_normals.append(Vector2(d.y, -d.x))
	var inset: PackedVector2Array = PackedVector2Array()
	var point_normals: PackedVector2Array = PackedVector2Array()
	var smooth: PackedByteArray = PackedByteArray()
	for k: int in count:
		var before: Vector2 = edge_normals[(k + count - 1) % count]
		var after: Vector2 = edge_normals[k]
		var miter: Vector2 = (before + after).normalized()
		var stretch: float = maxf(miter.dot(after), 0.35)
		inset.append(profile[k] - miter * (bevel / stretch))
		point_normals.append(miter)
		smooth.append(1 if before.dot(after) > SMOOTH_COS else 0)
	for side: float in [-1.0, 1.0]:
		var outward: Vector3 = Vector3(side, 0.0, 0.0)
		var triangles: PackedInt32Array = triangulate(inset)
		for t: int in range(0, triangles.size(), 3):
			triangle(side_slot,
					_loft_point(inset[triangles[t]], side, 0.0, low, span, half_width_bottom, half_width_top),
					_loft_point(inset[triangles[t + 1]], side, 0.0, low, span, half_width_bottom, half_width_top),
					_loft_point(inset[triangles[t + 2]], side, 0.0, low, span, half_width_bottom, half_width_top),
					outward)
	for k: int in count:
		var j: int = (k + 1) % count
		var n2: Vector2 = edge_normals[k]
		var normal: Vector3 = Vector3(0.0, n2.y, n2.x)
		var slot: int = other_slot
		if n2.y > 0.9:
			slot = up_slot
		elif n2.y < -0.3:
			slot = down_slot
		var nk: Vector2 = point_normals[k] if smooth[k] == 1 else n2
		var nj: Vector2 = point_normals[j] if smooth[j] == 1 else n2
		var normal_k: Vector3 = Vector3(0.0, nk.y, nk.x)
		var normal_j: Vector3 = Vector3(0.0, nj.y, nj.x)
		var pk_right: Vector3 = _loft_point(profile[k], 1.0, bevel, low, span, half_width_bottom, half_width_top)
		var pj_right: Vector3 = _loft_point(profile[j], 1.0, bevel, low, span, half_width_bottom, half_width_top)
		var pk_left: Vector3 = _loft_point(profile[k], -1.0, bevel, low, span, half_width_bottom, half_width_top)
		var pj_left: Vector3 = _loft_point(profile[j], -1.0, bevel, low, span, half_width_bottom, half_width_top)
		_smooth_quad(slot, pk_left, pj_left, pj_right, pk_right, normal_k, normal_j, normal_j, normal_k,
				normal)
		for side: float in [-1.0, 1.0]:
			var edge_k: Vector3 = pk_right if side > 0.0 else pk_left
			var edge_j: Vector3 = pj_right if side > 0.0 else pj_left
			var cap_k: Vector3 = _loft_point(inset[k], side, 0.0, low, span, half_width_bottom, half_width_top)
			var cap_j: Vector3 = _loft_point(inset[j], side, 0.0, low, span, half_width_bottom, half_width_top)
			quad(bevel_slot, edge_k, edge_j, cap_j, cap_k, normal + Vector3(side * 0.8, 0.0, 0.0))


## Triangles (index triples) covering the simple polygon `polygon`, by ear clipping. Unlike
## Geometry2D.triangulate_polygon(), which gives up on some nearly collinear runs of points
## (a long flat roof or sill after an inset), it drops such points instead of failing.
static func triangulate(polygon: PackedVector2Array) -> PackedInt32Array:
	var result: PackedInt32Array = PackedInt32Array()
	var left: Array[int] = []
	var area: float = 0.0
	for k: int in polygon.size():
		left.append(k)
		area += polygon[k].cross(polygon[(k + 1) % polygon.size()])
	if area < 0.0:
		left.reverse()
	while left.size() > 3:
		var count: int = left.size()
		var ear: int = -1
		var flattest: int = -1
		var flattest_turn: float = INF
		for i: int in count:
			var a: Vector2 = polygon[left[(i + count - 1) % count]]
			var b: Vector2 = polygon[left[i]]
			var c: Vector2 = polygon[left[(i + 1) % count]]
			var turn: float = (b - a).cross(c - b)
			if absf(turn) < flattest_turn:
				flattest_turn = absf(turn)
				flattest = i
			if turn > 1.0e-9 and not _holds_another(polygon, left, i, a, b, c):
				ear = i
				break
		if ear < 0:
			if flattest_turn > 1.0e-6:
				break  # not a simple polygon: leave the rest open rather than cover too much
			left.remove_at(flattest)  # a point on a straight run: dropping it loses no area
			continue
		result.append_array([left[(ear + count - 1) % count], left[ear], left[(ear + 1) % count]])
		left.remove_at(ear)
	if left.size() == 3:
		result.append_array([left[0], left[1], left[2]])
	return result


## True when a remaining point other than the corners lies strictly inside the
## counter-clockwise triangle a-b-c (points on its edges do not block an ear).
static func _holds_another(polygon: PackedVector2Array, left: Array[int], i: int, a: Vector2,
		b: Vector2, c: Vector2) -> bool:
	var count: int = left.size()
	for j: int in count:
		if j == i or j == (i + 1) % count or j == (i + count - 1) % count:
			continue
		var p: Vector2 = polygon[left[j]]
		if (b - a).cross(p - a) > 1.0e-9 and (c - b).cross(p - b) > 1.0e-9 and (a - c).cross(p - c) > 1.0e-9:
			return true
	return false


## The profile's largest z (`front` true) or smallest z at height y, or NAN when the profile
## does not reach y: where a headlight or a tail light sits on the nose or the tail.
static func profile_end_at(profile: PackedVector2Array, y: float, front: bool) -> float:
	var best: float = NAN
	var count: int = profile.size()
	for k: int in count:
		var a: Vector2 = profile[k]
		var b: Vector2 = profile[(k + 1) % count]
		if (a.y - y) * (b.y - y) > 0.0 or a.y == b.y:
			continue
		var z: float = lerpf(a.x, b.x, (y - a.y) / (b.y - a.y))
		if is_nan(best) or (front and z > best) or (not front and z < best):
			best = z
	return best


func _loft_point(point: Vector2, side: float, bevel: float, low: float, span: float,
		half_width_bottom: float, half_width_top: float) -> Vector3:
	var half_width: float = lerpf(half_width_bottom, half_width_top, (point.y - low) / span)
	return Vector3(side * (half_width - bevel), point.y, point.x)


func _sphere_normal(pitch: float, angle: float) -> Vector3:
	return Vector3(cos(pitch) * cos(angle), sin(pitch), cos(pitch) * sin(angle))


## A quad with a normal per corner; `outward` (default: the corners' mean normal) picks the
## front side.
func _smooth_quad(slot: int, a: Vector3, b: Vector3, c: Vector3, d: Vector3, na: Vector3,
		nb: Vector3, nc: Vector3, nd: Vector3, outward: Vector3 = Vector3.ZERO) -> void:
	var side: Vector3 = outward if outward != Vector3.ZERO else na + nb + nc + nd
	_smooth_triangle(slot, a, b, c, na, nb, nc, side)
	_smooth_triangle(slot, a, c, d, na, nc, nd, side)


func _smooth_triangle(slot: int, a: Vector3, b: Vector3, c: Vector3, na: Vector3, nb: Vector3,
		nc: Vector3, outward: Vector3) -> void:
	var face: Vector3 = (b - a).cross(c - a)
	if face.length_squared() < 1.0e-14:
		return
	if face.dot(outward) < 0.0:
		_add(slot, a, c, b, na.normalized(), nc.normalized(), nb.normalized())
	else:
		_add(slot, a, b, c, na.normalized(), nb.normalized(), nc.normalized())


## Emits a triangle whose (b - a) x (c - a) points outward: counter-clockwise seen from
## outside, so it goes in as a, c, b (Godot's front faces are clockwise).
func _add(slot: int, a: Vector3, b: Vector3, c: Vector3, na: Vector3, nb: Vector3, nc: Vector3) -> void:
	var tool: SurfaceTool = _tools[slot]
	tool.set_normal(na)
	tool.add_vertex(a)
	tool.set_normal(nc)
	tool.add_vertex(c)
	tool.set_normal(nb)
	tool.add_vertex(b)
	_used[slot] = 1
