extends Node2D
## The look of one watched motorcycle instance: a stylised motocross scene drawn from Godot
## primitives, shaders and procedural patterns (nothing loaded from image files).
##
## The agent creates it in _ready() only when the instance is watched and adds it to its World
## node (the bodies' parent, so it draws in their coordinates); unwatched, no node of it exists
## and nothing of it runs. It only reads the simulation: show_course() at each reset, sync()
## before each drawn frame (simulated time, so offscreen frames are reproducible).
##
## Its parts, back to front: the sky and parallax hills (Backdrop, a CanvasLayer of this view
## only), trackside props and the ground (GroundPainter), flags and air streaks (WindEffect),
## the bike and rider (BikePuppet), dust and smoke (DustEffect), followed by a ChaseCamera.

const CourseProfile := preload("res://envs/motorcycle/look/course_profile.gd")
const Backdrop := preload("res://envs/motorcycle/look/backdrop.gd")
const GroundPainter := preload("res://envs/motorcycle/look/ground_painter.gd")
const WindEffect := preload("res://envs/motorcycle/look/wind_effect.gd")
const BikePuppet := preload("res://envs/motorcycle/look/bike_puppet.gd")
const DustEffect := preload("res://envs/motorcycle/look/dust_effect.gd")
const ChaseCamera := preload("res://envs/motorcycle/look/chase_camera.gd")

var _course: CourseProfile = CourseProfile.new()
var _backdrop: Backdrop = Backdrop.new()
var _ground: GroundPainter = GroundPainter.new()
var _wind: WindEffect = WindEffect.new()
var _puppet: BikePuppet = BikePuppet.new()
var _dust: DustEffect = DustEffect.new()
var _camera: ChaseCamera = ChaseCamera.new()
var _chassis: RigidBody2D = null
var _rear: RigidBody2D = null
var _front: RigidBody2D = null
var _head_offset: Vector2 = Vector2.ZERO


func _init() -> void:
	name = "Look"
	add_child(_backdrop)
	add_child(_ground)
	add_child(_wind)
	add_child(_puppet)
	add_child(_dust)
	add_child(_camera)


## The bodies to follow and draw, with the physical sizes (m) the drawing must match:
## the wheels' radius, the head's offset from the chassis's centre (x forward, y down) and
## radius. Call once the look is in the tree: its camera becomes the view's.
func attach(chassis: RigidBody2D, rear: RigidBody2D, front: RigidBody2D, ppm: float,
		wheel_radius: float, head_offset: Vector2, head_radius: float) -> void:
	_chassis = chassis
	_rear = rear
	_front = front
	_head_offset = head_offset
	_course.ppm = ppm
	_camera.ppm = ppm
	_puppet.attach(_course, chassis, rear, front, ppm, wheel_radius, head_offset, head_radius)
	_dust.setup(ppm, wheel_radius)
	_camera.make_current()


## A new episode's course (heights in m from x = -start_back, `dx` apart; oil patches; the
## finish line at `finish` m). `seed_value` seeds the look's own random numbers.
func show_course(heights: PackedFloat32Array, start_back: float, dx: float,
		oil_start: PackedFloat32Array, oil_end: PackedFloat32Array, finish: float,
		seed_value: int) -> void:
	_course.heights = heights.duplicate()
	_course.start_back = start_back
	_course.dx = dx
	_course.oil_start = oil_start.duplicate()
	_course.oil_end = oil_end.duplicate()
	_course.finish = finish
	_ground.paint(_course)
	_wind.clear(_course, seed_value)
	_dust.clear(seed_value)


## Brings the view up to the current state, `delta` simulated seconds after the last call (0
## right after a reset: snap, don't smooth). `throttle` and `lean` are the action's, `wind` the
## gust now (m/s^2, + = tailwind), `crashed` whether the rider's head hit the ground.
func sync(delta: float, throttle: float, lean: float, wind: float, crashed: bool) -> void:
	if _chassis == null:
		return
	var view_size: Vector2 = get_viewport().get_visible_rect().size
	var ahead: Vector2 = _course.ground_px(_course.to_m(_chassis.position).x + ChaseCamera.AHEAD)
	_camera.follow(delta, _chassis.position, _chassis.linear_velocity, ahead, view_size)
	var size_m: Vector2 = _camera.view_size_m(view_size)
	_backdrop.follow(delta, _course.to_m(_camera.position), size_m, view_size)
	_puppet.pose(delta, lean)
	var head: Vector2 = _chassis.transform * (_head_offset * _course.ppm)
	_dust.step(delta, _course, _rear, _front, throttle, crashed, head, _puppet.exhaust_tip())
	_wind.step(delta, wind, _camera.position, size_m)
