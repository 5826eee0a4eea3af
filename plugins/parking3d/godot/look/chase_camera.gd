extends Camera3D
## A chase camera behind and above a car that follows its heading smoothly and never enters
## geometry: a spring arm against the car park's known boxes (walls, pillars, lamps, trees,
## parked cars), in the camera's parent frame, with no physics query.
##
## The arm starts at a pivot above the car (higher than every wall and parked car) and points
## back along the car's heading, tilted up by a pitch. Each frame the pitch is the lowest from
## BASE_PITCH up to MAX_PITCH whose lines of sight from the car (its roof, its tail) to the
## camera pass no box, so the camera rises over a wall behind the car instead of looking at its
## back; the heading and the pitch follow with a lag. Then, unsmoothed, the arm is shortened to stop MARGIN before
## the first box it meets, so even a lagging camera is never inside anything.

## Arm length from the pivot, m.
const DISTANCE: float = 7.0
## Pivot height above the ground, m (above the 2 m walls and every parked car).
const PIVOT_HEIGHT: float = 2.6
const BASE_PITCH: float = 17.0 * PI / 180.0
const MAX_PITCH: float = 78.0 * PI / 180.0
const PITCH_STEP: float = 4.0 * PI / 180.0
## Where the camera looks: this far ahead of the car's centre, this high.
const LOOK_AHEAD: float = 1.0
const LOOK_HEIGHT: float = 0.6
## Lines of sight the pitch search keeps clear: from the car's centre at its roof line, and
## from its tail (this far behind the centre) at bumper height, so a wall behind the car hides
## none of it.
const SIGHT_HEIGHT: float = 1.0
const TAIL_REACH: float = 1.6
const TAIL_HEIGHT: float = 0.5
## Clearance kept from every box, m (more than the near plane).
const MARGIN: float = 0.35
## Shortest arm when boxes crowd the camera, m.
const MIN_ARM: float = 1.5
## Follow rates, 1/s: heading; pitch going up (fast, to clear a wall) and down.
const YAW_RATE: float = 3.0
const PITCH_UP_RATE: float = 6.0
const PITCH_DOWN_RATE: float = 1.5

## Boxes the camera keeps out of, in the parent's frame: the fixed ones (walls, pillars ...).
var fixed_obstacles: Array[AABB] = []
## Boxes that change per episode (parked cars), same frame.
var episode_obstacles: Array[AABB] = []

var _yaw: float = 0.0
var _pitch: float = BASE_PITCH


func _init() -> void:
	fov = 60.0
	near = 0.1
	far = 250.0


## Moves the camera after a car at `target` (its transform in the parent's frame, +z
## forward); `delta` simulated seconds since the last call, 0 = snap without smoothing.
func follow(target: Transform3D, delta: float) -> void:
	var forward: Vector3 = target.basis.z
	var heading: float = atan2(forward.x, forward.z)
	var car: Vector3 = target.origin
	var pivot: Vector3 = Vector3(car.x, PIVOT_HEIGHT, car.z)
	var sight: Vector3 = Vector3(car.x, SIGHT_HEIGHT, car.z)
	var tail: Vector3 = car - Vector3(sin(heading), 0.0, cos(heading)) * TAIL_REACH
	tail.y = TAIL_HEIGHT
	if delta <= 0.0:
		_yaw = heading
	else:
		_yaw = wrapf(_yaw + wrapf(heading - _yaw, -PI, PI) * _rate(YAW_RATE, delta), -PI, PI)
	var wanted: float = MAX_PITCH
	var pitch: float = BASE_PITCH
	while pitch < MAX_PITCH:
		var candidate: Vector3 = pivot + _arm(_yaw, pitch)
		if _first_hit(sight, candidate, 0.05) >= 1.0 and _first_hit(tail, candidate, 0.05) >= 1.0:
			wanted = pitch
			break
		pitch += PITCH_STEP
	if delta <= 0.0:
		_pitch = wanted
	else:
		var rate: float = PITCH_UP_RATE if wanted > _pitch else PITCH_DOWN_RATE
		_pitch = lerpf(_pitch, wanted, _rate(rate, delta))
	var arm: Vector3 = _arm(_yaw, _pitch)
	var reach: float = _first_hit(pivot, pivot + arm, MARGIN)
	if reach < 1.0:
		arm *= maxf(reach - 0.02, MIN_ARM / DISTANCE)
	var look: Vector3 = car + Vector3(sin(heading), 0.0, cos(heading)) * LOOK_AHEAD
	look.y = LOOK_HEIGHT
	# In the parent's frame (look_at_from_position() would take global coordinates).
	var at: Vector3 = pivot + arm
	transform = Transform3D(Basis.looking_at(look - at, Vector3.UP), at)


## Fraction of the segment from `from` to `to` before it enters any box grown by `margin`
## (1.0 = it meets none). Boxes that already hold `from` are ignored.
func _first_hit(from: Vector3, to: Vector3, margin: float) -> float:
	return minf(_first_hit_in(fixed_obstacles, from, to, margin),
			_first_hit_in(episode_obstacles, from, to, margin))


func _first_hit_in(boxes: Array[AABB], from: Vector3, to: Vector3, margin: float) -> float:
	var nearest: float = 1.0
	var length: float = maxf(from.distance_to(to), 1.0e-6)
	for box: AABB in boxes:
		var grown: AABB = box.grow(margin)
		if grown.has_point(from):
			continue
		var hit: Variant = grown.intersects_segment(from, to)
		if hit != null:
			var point: Vector3 = hit
			nearest = minf(nearest, from.distance_to(point) / length)
	return nearest


## The arm from the pivot: behind a car heading `yaw`, raised by `pitch`.
func _arm(yaw: float, pitch: float) -> Vector3:
	var back: Vector3 = -Vector3(sin(yaw), 0.0, cos(yaw))
	return (back * cos(pitch) + Vector3.UP * sin(pitch)) * DISTANCE


## Share of the remaining gap closed in `delta` s at `rate` per second (frame-rate independent).
func _rate(rate: float, delta: float) -> float:
	return 1.0 - exp(-rate * delta)
