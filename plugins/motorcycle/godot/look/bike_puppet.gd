extends Node2D
## Draws the bike and its rider from the three bodies, in the chassis's frame (metres, x
## forward, y down): wheels with knobbly tyres and spokes that turn with the bodies, a swingarm
## and shock that follow the rear wheel, telescopic forks that shorten as the front wheel pushes
## up (the wheels hang on soft joints: that travel is the suspension), plastics, and a rider in
## the attack position whose hips, knees and elbows follow the lean (two-bone IK from pegs and
## grips), with the helmet exactly where the physical head is; a soft shadow on the ground
## below.

const CourseProfile := preload("res://envs/motorcycle/look/course_profile.gd")

## Fork: the top clamp (chassis frame, m) and the lengths of the upper tubes and lower legs.
const FORK_TOP: Vector2 = Vector2(0.5, -0.3)
const FORK_UPPER: float = 0.42
const FORK_LOWER: float = 0.42
const SWINGARM_PIVOT: Vector2 = Vector2(-0.16, 0.2)
const SHOCK_TOP: Vector2 = Vector2(-0.2, -0.14)
## Share of the swingarm, from the pivot, where the shock meets it.
const SHOCK_MOUNT: float = 0.38
const PEG: Vector2 = Vector2(-0.1, 0.3)
const GRIP: Vector2 = Vector2(0.36, -0.43)
const EXHAUST_TIP: Vector2 = Vector2(-0.93, -0.2)
## Rider's hips at lean 0, full lean back (+1) and full lean forward (-1).
const HIP_NEUTRAL: Vector2 = Vector2(-0.42, -0.36)
const HIP_BACK: Vector2 = Vector2(-0.6, -0.27)
const HIP_FORWARD: Vector2 = Vector2(-0.28, -0.43)
const THIGH: float = 0.43
const SHIN: float = 0.43
const UPPER_ARM: float = 0.33
const FOREARM: float = 0.31
## How fast the drawn lean follows the action, 1/s.
const LEAN_RATE: float = 10.0

const BIKE_MAIN: Color = Color(1.0, 0.42, 0.0)
const BIKE_WHITE: Color = Color(0.96, 0.96, 0.97)
const BIKE_DARK: Color = Color(0.12, 0.12, 0.14)
const METAL: Color = Color(0.72, 0.74, 0.78)
const METAL_DARK: Color = Color(0.38, 0.39, 0.43)
const GOLD: Color = Color(0.93, 0.7, 0.18)
const SPRING: Color = Color(0.95, 0.8, 0.1)
const TYRE: Color = Color(0.1, 0.1, 0.1)
const JERSEY: Color = Color(0.1, 0.33, 0.85)
const JERSEY_TRIM: Color = Color(1.0, 0.85, 0.1)
const PANTS: Color = Color(0.14, 0.17, 0.3)
const BOOT: Color = Color(0.16, 0.16, 0.18)
const HELMET: Color = Color(1.0, 0.85, 0.1)
const GOGGLES: Color = Color(0.15, 0.2, 0.28)

var _course: CourseProfile = null
var _chassis: RigidBody2D = null
var _rear: RigidBody2D = null
var _front: RigidBody2D = null
var _ppm: float = 100.0
var _wheel_radius: float = 0.32
var _head: Vector2 = Vector2(-0.15, -0.95)
var _head_radius: float = 0.16
var _lean: float = 0.0
var _number: String = "7"


func _init() -> void:
	name = "Bike"


## The bodies to draw and the physical sizes (m) the drawing must match; `course` (updated in
## place at each reset) places the shadow.
func attach(course: CourseProfile, chassis: RigidBody2D, rear: RigidBody2D, front: RigidBody2D,
		ppm: float, wheel_radius: float, head_offset: Vector2, head_radius: float) -> void:
	_course = course
	_chassis = chassis
	_rear = rear
	_front = front
	_ppm = ppm
	_wheel_radius = wheel_radius
	_head = head_offset
	_head_radius = head_radius


## Updates the rider's lean (the action's, smoothed over `delta` simulated seconds; 0 snaps)
## and redraws.
func pose(delta: float, lean: float) -> void:
	_lean = lean if delta <= 0.0 else lerpf(_lean, lean, 1.0 - exp(-LEAN_RATE * delta))
	queue_redraw()


## Where the exhaust ends, in the World's pixels.
func exhaust_tip() -> Vector2:
	return _chassis.transform * (EXHAUST_TIP * _ppm)


func _draw() -> void:
	if _chassis == null:
		return
	var to_local: Transform2D = _chassis.transform.affine_inverse()
	var rear_hub: Vector2 = (to_local * _rear.position) / _ppm
	var front_hub: Vector2 = (to_local * _front.position) / _ppm
	var rear_turn: float = _rear.rotation - _chassis.rotation
	var front_turn: float = _front.rotation - _chassis.rotation
	_draw_shadow()
	draw_set_transform(_chassis.position, _chassis.rotation, Vector2(_ppm, _ppm))
	var hip: Vector2 = _hip()
	var shoulder: Vector2 = _shoulder(hip)
	# far side first, darker: arm and leg behind the bike
	_draw_leg(hip + Vector2(0.03, -0.02), PEG + Vector2(0.04, -0.02), 0.62)
	_draw_arm(shoulder + Vector2(0.03, -0.01), GRIP + Vector2(0.03, -0.02), 0.62)
	_draw_wheel(rear_hub, rear_turn, _rear.angular_velocity, false)
	_draw_wheel(front_hub, front_turn, _front.angular_velocity, true)
	_draw_swingarm(rear_hub)
	_draw_engine()
	_draw_fork(front_hub)
	_draw_body()
	_draw_leg(hip, PEG, 1.0)
	_draw_torso(hip, shoulder)
	_draw_helmet()
	_draw_arm(shoulder, GRIP, 1.0)
	draw_set_transform(Vector2.ZERO, 0.0, Vector2.ONE)


## A flat dark ellipse on the ground under the bike, fainter the higher the bike flies.
func _draw_shadow() -> void:
	var at: Vector2 = _course.to_m(_chassis.position)
	var ground: float = _course.height_at(at.x)
	var alpha: float = 0.28 * clampf(1.0 - (at.y - ground - 0.7) / 3.0, 0.0, 1.0)
	if alpha <= 0.0:
		return
	var tilt: float = -atan(_course.slope_at(at.x))
	draw_set_transform(_course.to_px(Vector2(at.x, ground)), tilt, Vector2(1.0, 0.1))
	draw_circle(Vector2.ZERO, 0.85 * _ppm, Color(0.0, 0.0, 0.0, alpha))
	draw_set_transform(Vector2.ZERO, 0.0, Vector2.ONE)


func _hip() -> Vector2:
	if _lean >= 0.0:
		return HIP_NEUTRAL.lerp(HIP_BACK, _lean)
	return HIP_NEUTRAL.lerp(HIP_FORWARD, -_lean)


func _shoulder(hip: Vector2) -> Vector2:
	# The neck stays under the helmet; the shoulders sit between it and the hips.
	var neck: Vector2 = _head + Vector2(-0.04, _head_radius + 0.03)
	return neck + (hip - neck).normalized() * 0.07


## The middle joint of a two-bone chain from `root` to `tip` (lengths a, b); `bend` +1 or -1
## picks the side the joint bends to.
static func _joint(root: Vector2, tip: Vector2, a: float, b: float, bend: float) -> Vector2:
	var span: Vector2 = tip - root
	var d: float = clampf(span.length(), absf(a - b) + 0.001, a + b - 0.001)
	var cos_root: float = clampf((a * a + d * d - b * b) / (2.0 * a * d), -1.0, 1.0)
	return root + span.normalized().rotated(bend * acos(cos_root)) * a


func _draw_wheel(hub: Vector2, turn: float, spin: float, front: bool) -> void:
	var r: float = _wheel_radius
	draw_circle(hub, r, TYRE)
	# knobs around the tyre, turning with it
	for k: int in 18:
		var angle: float = turn + TAU * float(k) / 18.0
		var out: Vector2 = Vector2.from_angle(angle)
		draw_line(hub + out * (r - 0.03), hub + out * (r + 0.012), Color(0.2, 0.2, 0.21), 0.05)
	draw_circle(hub, r * 0.74, METAL_DARK)
	draw_circle(hub, r * 0.68, Color(0.24, 0.25, 0.28))
	# spokes fade into a blur as the wheel spins up
	var blur: float = clampf(absf(spin) / 40.0, 0.0, 1.0)
	var spoke_color: Color = Color(METAL, 1.0 - 0.75 * blur)
	for k: int in 12:
		var angle: float = turn + TAU * float(k) / 12.0
		var out: Vector2 = Vector2.from_angle(angle) * r * 0.68
		draw_line(hub + Vector2.from_angle(angle + 0.5) * 0.04, hub + out, spoke_color, 0.012)
	if blur > 0.0:
		draw_circle(hub, r * 0.6, Color(METAL, 0.25 * blur))
	if front:
		draw_circle(hub, 0.11, Color(0.55, 0.56, 0.6))
		draw_circle(hub, 0.07, Color(0.3, 0.3, 0.33))
	else:
		draw_circle(hub, 0.1, Color(0.3, 0.3, 0.33))
		for k: int in 10:
			var angle: float = turn + TAU * float(k) / 10.0
			draw_circle(hub + Vector2.from_angle(angle) * 0.1, 0.014, Color(0.3, 0.3, 0.33))
	draw_circle(hub, 0.04, METAL)


func _draw_swingarm(rear_hub: Vector2) -> void:
	var mount: Vector2 = SWINGARM_PIVOT.lerp(rear_hub, SHOCK_MOUNT)
	# the chain, from the countershaft sprocket to the rear sprocket
	var sprocket: Vector2 = Vector2(0.0, 0.06)
	var along: Vector2 = (rear_hub - sprocket).normalized()
	var normal: Vector2 = along.orthogonal()
	draw_line(sprocket + normal * 0.05, rear_hub + normal * 0.1, Color(0.2, 0.2, 0.2), 0.02)
	draw_line(sprocket - normal * 0.05, rear_hub - normal * 0.1, Color(0.2, 0.2, 0.2), 0.02)
	# the shock: body, spring coils between its ends
	var axis: Vector2 = mount - SHOCK_TOP
	draw_line(SHOCK_TOP, mount, METAL_DARK, 0.05)
	var coils: int = 7
	var side: Vector2 = axis.orthogonal().normalized() * 0.045
	var points: PackedVector2Array = PackedVector2Array()
	for k: int in coils * 2 + 1:
		var u: float = 0.12 + 0.6 * float(k) / float(coils * 2)
		points.append(SHOCK_TOP + axis * u + side * (1.0 if k % 2 == 0 else -1.0))
	draw_polyline(points, SPRING, 0.022)
	draw_circle(SHOCK_TOP, 0.03, METAL)
	# the swingarm, tapered from the pivot to the axle
	var dir: Vector2 = (rear_hub - SWINGARM_PIVOT).normalized()
	var up: Vector2 = dir.orthogonal()
	var arm: PackedVector2Array = PackedVector2Array([
			SWINGARM_PIVOT + up * 0.055, rear_hub + up * 0.035, rear_hub - up * 0.035,
			SWINGARM_PIVOT - up * 0.065])
	draw_colored_polygon(arm, METAL)
	draw_line(SWINGARM_PIVOT + up * 0.055, rear_hub + up * 0.035, METAL_DARK, 0.012)
	draw_circle(SWINGARM_PIVOT, 0.045, METAL_DARK)
	draw_circle(rear_hub, 0.035, METAL_DARK)


func _draw_engine() -> void:
	var frame: PackedVector2Array = PackedVector2Array([
			Vector2(0.5, -0.22), Vector2(0.32, 0.12), Vector2(0.15, 0.36), Vector2(-0.1, 0.36),
			SWINGARM_PIVOT, Vector2(-0.2, -0.12), Vector2(0.48, -0.3)])
	draw_polyline(frame, METAL_DARK, 0.045)
	# radiator behind the shroud, then the engine: cylinder fins, clutch cover
	draw_rect(Rect2(Vector2(0.2, -0.12), Vector2(0.22, 0.22)), Color(0.16, 0.16, 0.18))
	for k: int in 5:
		var y: float = -0.1 + 0.045 * float(k)
		draw_line(Vector2(0.21, y), Vector2(0.41, y), Color(0.3, 0.3, 0.33), 0.012)
	var block: PackedVector2Array = PackedVector2Array([
			Vector2(-0.1, 0.0), Vector2(0.22, -0.04), Vector2(0.3, 0.18), Vector2(0.18, 0.36),
			Vector2(-0.06, 0.34), Vector2(-0.14, 0.18)])
	draw_colored_polygon(block, Color(0.22, 0.22, 0.25))
	for k: int in 4:
		var y: float = 0.0 + 0.04 * float(k)
		draw_line(Vector2(0.02, y), Vector2(0.24, y - 0.02), Color(0.48, 0.49, 0.53), 0.016)
	draw_circle(Vector2(0.05, 0.22), 0.085, Color(0.55, 0.56, 0.6))
	draw_circle(Vector2(0.05, 0.22), 0.05, Color(0.38, 0.39, 0.43))
	# exhaust: the header loops under the engine, the silencer runs under the seat
	var header: PackedVector2Array = PackedVector2Array([
			Vector2(0.24, 0.0), Vector2(0.36, 0.12), Vector2(0.3, 0.3), Vector2(0.1, 0.3),
			Vector2(-0.14, 0.05), Vector2(-0.32, -0.1)])
	draw_polyline(header, Color(0.66, 0.6, 0.55), 0.045)
	var silencer: PackedVector2Array = PackedVector2Array([
			Vector2(-0.3, -0.16), Vector2(-0.9, -0.25), Vector2(-0.92, -0.14), Vector2(-0.32, -0.06)])
	draw_colored_polygon(silencer, METAL)
	draw_line(Vector2(-0.89, -0.25), Vector2(-0.91, -0.14), BIKE_DARK, 0.05)
	draw_line(Vector2(-0.38, -0.12), Vector2(-0.76, -0.18), BIKE_MAIN, 0.025)


func _draw_fork(front_hub: Vector2) -> void:
	var axis: Vector2 = (front_hub - FORK_TOP).normalized()
	var side: Vector2 = axis.orthogonal()
	# lower legs from the axle up (gold), upper tubes from the clamp down (chrome): their
	# overlap grows as the fork compresses
	var lower_top: Vector2 = front_hub - axis * FORK_LOWER
	var upper_end: Vector2 = FORK_TOP + axis * FORK_UPPER
	draw_line(FORK_TOP, upper_end, METAL, 0.06)
	draw_line(FORK_TOP + side * 0.018, upper_end + side * 0.018, Color(1.0, 1.0, 1.0, 0.7), 0.012)
	draw_line(lower_top, front_hub, GOLD, 0.085)
	draw_line(lower_top, lower_top + axis * 0.04, BIKE_DARK, 0.09)
	draw_circle(front_hub, 0.045, METAL_DARK)
	# clamps and handlebar
	draw_line(FORK_TOP - side * 0.04, FORK_TOP + side * 0.06, METAL_DARK, 0.05)
	var lower_clamp: Vector2 = FORK_TOP + axis * 0.13
	draw_line(lower_clamp - side * 0.04, lower_clamp + side * 0.06, METAL_DARK, 0.05)
	draw_line(FORK_TOP, FORK_TOP + Vector2(-0.03, -0.08), METAL_DARK, 0.04)
	draw_line(FORK_TOP + Vector2(-0.03, -0.08), GRIP + Vector2(0.03, 0.0), Color(0.2, 0.2, 0.22), 0.03)
	draw_line(GRIP + Vector2(0.05, 0.005), GRIP + Vector2(-0.05, -0.005), BIKE_DARK, 0.05)
	# the front fender and number plate ride on the clamps, not on the wheel
	var fender: PackedVector2Array = PackedVector2Array([
			lower_clamp + Vector2(-0.02, 0.05), lower_clamp + Vector2(0.25, 0.06),
			lower_clamp + Vector2(0.5, 0.16), lower_clamp + Vector2(0.47, 0.2),
			lower_clamp + Vector2(0.22, 0.14), lower_clamp + Vector2(-0.02, 0.12)])
	draw_colored_polygon(fender, BIKE_WHITE)
	draw_polyline(PackedVector2Array([fender[0], fender[1], fender[2]]), Color(0.7, 0.7, 0.72), 0.012)
	var plate: PackedVector2Array = PackedVector2Array([
			FORK_TOP + Vector2(-0.02, -0.08), FORK_TOP + Vector2(0.1, -0.05),
			FORK_TOP + Vector2(0.13, 0.2), FORK_TOP + Vector2(0.02, 0.2)])
	draw_colored_polygon(plate, BIKE_MAIN)


func _draw_body() -> void:
	var rear_fender: PackedVector2Array = PackedVector2Array([
			Vector2(-0.55, -0.28), Vector2(-1.12, -0.4), Vector2(-1.14, -0.35), Vector2(-0.62, -0.2)])
	draw_colored_polygon(rear_fender, BIKE_WHITE)
	var side_panel: PackedVector2Array = PackedVector2Array([
			Vector2(-0.08, -0.24), Vector2(-0.7, -0.27), Vector2(-0.55, 0.0), Vector2(-0.14, 0.04)])
	draw_colored_polygon(side_panel, BIKE_WHITE)
	draw_line(Vector2(-0.62, -0.2), Vector2(-0.5, 0.0), BIKE_MAIN, 0.03)
	var seat: PackedVector2Array = PackedVector2Array([
			Vector2(0.12, -0.31), Vector2(-0.72, -0.31), Vector2(-0.74, -0.25), Vector2(0.06, -0.23)])
	draw_colored_polygon(seat, BIKE_DARK)
	var tank: PackedVector2Array = PackedVector2Array([
			Vector2(0.5, -0.31), Vector2(0.22, -0.32), Vector2(0.02, -0.23), Vector2(0.06, 0.0),
			Vector2(0.3, 0.07), Vector2(0.47, -0.12)])
	draw_colored_polygon(tank, BIKE_MAIN)
	var stripe: PackedVector2Array = PackedVector2Array([
			Vector2(0.44, -0.22), Vector2(0.14, -0.23), Vector2(0.1, -0.14), Vector2(0.42, -0.13)])
	draw_colored_polygon(stripe, BIKE_WHITE)
	draw_line(Vector2(0.42, -0.07), Vector2(0.12, -0.07), BIKE_DARK, 0.02)
	# the race number, drawn at pixel scale (a font drawn 1 px tall and scaled up would blur)
	draw_set_transform(_chassis.transform * (Vector2(-0.41, -0.05) * _ppm), _chassis.rotation)
	draw_string(ThemeDB.fallback_font, Vector2(-0.2, 0.0) * _ppm, _number,
			HORIZONTAL_ALIGNMENT_CENTER, 0.4 * _ppm, int(0.2 * _ppm), BIKE_DARK)
	draw_set_transform(_chassis.position, _chassis.rotation, Vector2(_ppm, _ppm))


func _draw_leg(hip: Vector2, peg: Vector2, shade: float) -> void:
	var ankle: Vector2 = peg + Vector2(0.0, -0.06)
	var knee: Vector2 = _joint(hip, ankle, THIGH, SHIN, -1.0)
	var pants: Color = PANTS.darkened(1.0 - shade)
	draw_line(hip, knee, pants, 0.17)
	draw_circle(hip, 0.085, pants)
	draw_circle(knee, 0.075, pants)
	# boot up to mid-shin, with a sole on the peg
	var boot_top: Vector2 = knee.lerp(ankle, 0.45)
	var boot: Color = BOOT.darkened(1.0 - shade)
	draw_line(boot_top, ankle, boot, 0.14)
	var foot: PackedVector2Array = PackedVector2Array([
			ankle + Vector2(-0.08, -0.04), ankle + Vector2(0.06, -0.03), ankle + Vector2(0.16, 0.05),
			ankle + Vector2(0.15, 0.09), ankle + Vector2(-0.1, 0.09)])
	draw_colored_polygon(foot, boot)
	draw_line(ankle + Vector2(-0.1, 0.09), ankle + Vector2(0.15, 0.09), BIKE_DARK.darkened(1.0 - shade), 0.03)
	draw_line(knee + Vector2(0.03, -0.06), knee.lerp(ankle, 0.25) + Vector2(0.05, 0.0),
			BIKE_MAIN.darkened(1.0 - shade), 0.05)


func _draw_arm(shoulder: Vector2, grip: Vector2, shade: float) -> void:
	var elbow: Vector2 = _joint(shoulder, grip, UPPER_ARM, FOREARM, 1.0)
	var sleeve: Color = JERSEY.darkened(1.0 - shade)
	draw_line(shoulder, elbow, sleeve, 0.12)
	draw_circle(shoulder, 0.065, sleeve)
	draw_circle(elbow, 0.058, sleeve)
	draw_line(elbow, grip, sleeve, 0.1)
	draw_line(elbow.lerp(grip, 0.55), elbow.lerp(grip, 0.62), JERSEY_TRIM.darkened(1.0 - shade), 0.105)
	draw_circle(grip, 0.055, BIKE_DARK.lightened(0.1 * shade))


func _draw_torso(hip: Vector2, shoulder: Vector2) -> void:
	var up: Vector2 = (shoulder - hip).normalized()
	var across: Vector2 = up.orthogonal()  # points to the rider's back
	var torso: PackedVector2Array = PackedVector2Array([
			hip + across * 0.1, shoulder + across * 0.12, shoulder + up * 0.05 - across * 0.05,
			shoulder - across * 0.11, hip - across * 0.09])
	draw_colored_polygon(torso, JERSEY)
	# trim: a stripe down the side, the collar
	draw_line(hip.lerp(shoulder, 0.15) + across * 0.02, hip.lerp(shoulder, 0.85) + across * 0.03,
			JERSEY_TRIM, 0.04)
	draw_line(hip + across * 0.1, hip - across * 0.09, PANTS, 0.06)
	draw_circle(_head + Vector2(-0.04, _head_radius + 0.01), 0.06, Color(0.08, 0.1, 0.2))


func _draw_helmet() -> void:
	var c: Vector2 = _head
	var r: float = _head_radius * 1.08
	# chin bar below the front, the shell, the peak above the goggles
	var chin: PackedVector2Array = PackedVector2Array([
			c + Vector2(0.02, 0.02), c + Vector2(r * 1.15, 0.04), c + Vector2(r * 1.05, r * 0.75),
			c + Vector2(0.0, r * 0.95)])
	draw_colored_polygon(chin, HELMET)
	draw_circle(c, r, HELMET)
	var stripe: PackedVector2Array = PackedVector2Array([
			c + Vector2(-r * 0.95, -r * 0.1), c + Vector2(r * 0.1, -r * 0.98),
			c + Vector2(r * 0.35, -r * 0.92), c + Vector2(-r * 0.8, r * 0.35)])
	draw_colored_polygon(stripe, JERSEY)
	var goggles: Rect2 = Rect2(c + Vector2(r * 0.45, -r * 0.42), Vector2(r * 0.62, r * 0.42))
	draw_rect(goggles, GOGGLES)
	draw_line(goggles.position + Vector2(0.0, goggles.size.y * 0.5),
			c + Vector2(-r * 0.9, -r * 0.1), Color(0.1, 0.1, 0.12), 0.03)
	draw_line(goggles.position + Vector2(0.02, 0.02), goggles.position + Vector2(0.06, 0.02),
			Color(0.8, 0.9, 1.0, 0.8), 0.015)
	var peak: PackedVector2Array = PackedVector2Array([
			c + Vector2(r * 0.1, -r * 0.95), c + Vector2(r * 1.5, -r * 0.75),
			c + Vector2(r * 1.4, -r * 0.5), c + Vector2(r * 0.5, -r * 0.55)])
	draw_colored_polygon(peak, BIKE_MAIN)
	draw_colored_polygon(PackedVector2Array([
			c + Vector2(r * 0.7, r * 0.25), c + Vector2(r * 1.1, r * 0.3),
			c + Vector2(r * 1.0, r * 0.6), c + Vector2(r * 0.6, r * 0.55)]), Color(0.2, 0.2, 0.22))
