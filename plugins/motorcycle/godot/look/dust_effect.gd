extends Node2D
## Dust and smoke, a small pool of puffs stepped by simulated time (not by frames, so offscreen
## captures show the same puffs at the same moments): roost thrown back by a rear wheel that
## spins on the ground (black droplets on oil), bursts where a wheel lands and where the rider
## hits the ground, and exhaust smoke under throttle. Its own random numbers: the episode's
## generator belongs to the simulation.

const CourseProfile := preload("res://envs/motorcycle/look/course_profile.gd")

const MAX_PUFFS: int = 220
## Roost: puffs per second at full wheel slip (m/s of the tyre's surface over the ground's) and
## the slip that counts as full.
const ROOST_RATE: float = 70.0
const FULL_SLIP: float = 2.5
## Puffs per second from a driven wheel that grips, at full throttle and speed.
const TRAIL_RATE: float = 18.0
const EXHAUST_RATE: float = 16.0
## A landing throws a burst when the wheel comes down at this speed or faster, m/s.
const LANDING_SPEED: float = 1.5
const DUST: Color = Color(0.68, 0.52, 0.34)
const OIL: Color = Color(0.05, 0.05, 0.06)
const SMOKE: Color = Color(0.78, 0.78, 0.8)

## Per puff: position and velocity (pixels, pixels/s), age and life (s), radius (m), colour,
## gravity (m/s^2).
var _position: PackedVector2Array = PackedVector2Array()
var _velocity: PackedVector2Array = PackedVector2Array()
var _age: PackedFloat32Array = PackedFloat32Array()
var _life: PackedFloat32Array = PackedFloat32Array()
var _radius: PackedFloat32Array = PackedFloat32Array()
var _color: PackedColorArray = PackedColorArray()
var _gravity: PackedFloat32Array = PackedFloat32Array()
var _rng: RandomNumberGenerator = RandomNumberGenerator.new()
var _ppm: float = 100.0
var _wheel_radius: float = 0.32
var _roost_due: float = 0.0
var _exhaust_due: float = 0.0
var _airborne: PackedFloat32Array = PackedFloat32Array([0.0, 0.0])
var _was_crashed: bool = false


func _init() -> void:
	name = "Dust"
	z_index = 1


func setup(ppm: float, wheel_radius: float) -> void:
	_ppm = ppm
	_wheel_radius = wheel_radius


## Empties the pool for a new episode (the same puffs for the same episode seed).
func clear(seed_value: int) -> void:
	_position.clear()
	_velocity.clear()
	_age.clear()
	_life.clear()
	_radius.clear()
	_color.clear()
	_gravity.clear()
	_rng.seed = seed_value
	_roost_due = 0.0
	_exhaust_due = 0.0
	_airborne = PackedFloat32Array([0.0, 0.0])
	_was_crashed = false
	queue_redraw()


## Emits for the current state, moves the puffs `delta` simulated seconds on, redraws.
func step(delta: float, course: CourseProfile, rear: RigidBody2D, front: RigidBody2D,
		throttle: float, crashed: bool, head: Vector2, exhaust_tip: Vector2) -> void:
	_age_puffs(delta)
	if delta > 0.0:
		_emit_roost(delta, course, rear, throttle)
		var wheels: Array[RigidBody2D] = [rear, front]
		_emit_landings(delta, course, wheels)
		if throttle > 0.15 and not crashed:
			_exhaust_due += EXHAUST_RATE * throttle * delta
			while _exhaust_due >= 1.0:
				_exhaust_due -= 1.0
				var drift: Vector2 = Vector2(_rng.randf_range(-0.6, -0.2), _rng.randf_range(-0.5, -0.2))
				_add(exhaust_tip, drift * _ppm, 0.06, _rng.randf_range(0.5, 0.9), SMOKE, -0.6,
						_rng.randf() * delta)
	if crashed and not _was_crashed:
		var ground: Vector2 = course.ground_px(course.to_m(head).x)
		for _k: int in 26:
			var throw: Vector2 = Vector2(_rng.randf_range(-2.5, 2.5), _rng.randf_range(-3.0, -0.5))
			_add(ground, throw * _ppm, _rng.randf_range(0.07, 0.15), _rng.randf_range(0.8, 1.5),
					DUST, 3.0, _rng.randf_range(0.0, 0.2))
	_was_crashed = crashed
	queue_redraw()


func _emit_roost(delta: float, course: CourseProfile, rear: RigidBody2D, throttle: float) -> void:
	if rear.get_contact_count() == 0:
		return
	var hub_m: Vector2 = course.to_m(rear.position)
	var ground_speed: float = rear.linear_velocity.x / _ppm
	var surface_speed: float = rear.angular_velocity * _wheel_radius
	var slip: float = surface_speed - ground_speed
	var on_oil: bool = course.on_oil(hub_m.x)
	var rate: float = ROOST_RATE * clampf(absf(slip) / FULL_SLIP, 0.0, 1.0)
	rate += TRAIL_RATE * clampf(throttle, 0.0, 1.0) * clampf(absf(ground_speed) / 8.0, 0.0, 1.0)
	_roost_due += rate * delta
	var contact: Vector2 = course.ground_px(hub_m.x)
	var backwards: float = -signf(surface_speed) if absf(surface_speed) > 0.1 else -1.0
	while _roost_due >= 1.0:
		_roost_due -= 1.0
		var speed: float = _rng.randf_range(1.0, 2.5) + 0.5 * absf(slip)
		var throw: Vector2 = Vector2(backwards * speed, -_rng.randf_range(0.6, 2.2))
		var start: Vector2 = contact + Vector2(backwards * _wheel_radius * 0.4 * _ppm, -0.04 * _ppm)
		if on_oil:
			_add(start, throw * _ppm, _rng.randf_range(0.025, 0.05), _rng.randf_range(0.4, 0.7),
					OIL, 9.8, _rng.randf() * delta)
		else:
			_add(start, throw * _ppm, _rng.randf_range(0.06, 0.12), _rng.randf_range(0.6, 1.2),
					DUST, 1.5, _rng.randf() * delta)


func _emit_landings(delta: float, course: CourseProfile, wheels: Array[RigidBody2D]) -> void:
	for w: int in wheels.size():
		var wheel: RigidBody2D = wheels[w]
		if wheel.get_contact_count() == 0:
			_airborne[w] += delta
			continue
		var falling: float = wheel.linear_velocity.y / _ppm
		if _airborne[w] > 0.15 and falling > LANDING_SPEED:
			var contact: Vector2 = course.ground_px(course.to_m(wheel.position).x)
			var count: int = clampi(int(falling * 5.0), 6, 24)
			for k: int in count:
				var side: float = -1.0 if k % 2 == 0 else 1.0
				var throw: Vector2 = Vector2(side * _rng.randf_range(0.8, 2.6), -_rng.randf_range(0.2, 1.2))
				_add(contact, throw * _ppm, _rng.randf_range(0.07, 0.14), _rng.randf_range(0.6, 1.1),
						DUST, 1.0, 0.0)
		_airborne[w] = 0.0


## Adds one puff, already `head_start` seconds old (spreads puffs emitted in one step).
func _add(at: Vector2, velocity: Vector2, radius: float, life: float, color: Color,
		gravity: float, head_start: float) -> void:
	if _position.size() >= MAX_PUFFS:
		return
	_position.append(at + velocity * head_start)
	_velocity.append(velocity)
	_age.append(head_start)
	_life.append(life)
	_radius.append(radius)
	_color.append(color)
	_gravity.append(gravity)


func _age_puffs(delta: float) -> void:
	if delta <= 0.0:
		return
	var drag: float = exp(-2.2 * delta)
	var i: int = 0
	while i < _position.size():
		_age[i] += delta
		if _age[i] >= _life[i]:
			_remove(i)
			continue
		_velocity[i] = _velocity[i] * drag + Vector2(0.0, _gravity[i] * _ppm * delta)
		_position[i] += _velocity[i] * delta
		i += 1


func _remove(i: int) -> void:
	_position.remove_at(i)
	_velocity.remove_at(i)
	_age.remove_at(i)
	_life.remove_at(i)
	_radius.remove_at(i)
	_color.remove_at(i)
	_gravity.remove_at(i)


func _draw() -> void:
	for i: int in _position.size():
		var t: float = _age[i] / _life[i]
		var fade: float = pow(1.0 - t, 1.5)
		var grow: float = 1.0 + 1.8 * t if _gravity[i] < 5.0 else 1.0
		var r: float = _radius[i] * grow * _ppm
		var c: Color = _color[i]
		draw_circle(_position[i], r, Color(c, 0.6 * fade))
		draw_circle(_position[i] + Vector2(-0.2, -0.25) * r, r * 0.6, Color(c.lightened(0.15), 0.4 * fade))
