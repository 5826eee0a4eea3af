class_name CameraSensor3D
extends Node3D
## An image observation: what a 3D camera sees, `width` x `height` pixels, grayscale or RGB,
## with the last `stack` frames. CameraSensor2D's counterpart; the capture, the frames and the
## wire are the same.
##
## Put at most one in the agent's scene. The batch finds it when it creates the instance (the
## instance is then `watched`: build and show its visuals), captures it once per step, after the
## step's ticks (never per tick), and sends the frames to Python as uint8 beside the state (the
## hello announces their shape, docs/PROTOCOL.md). Every instance draws into a view of its own;
## the views share the instance's World3D (its lights and WorldEnvironment too), so the camera
## sees whatever is around it, the other instances included if they are within `far` (place
## them apart with grid_position()).
##
## Where it looks: through `camera_path`, a Camera3D of the scene (a chase camera the scene
## already moves, say), whose global transform and projection it copies at every capture; or,
## with camera_path empty, from this node along its -z axis (Godot's camera convention) with a
## perspective of `fov`, `near` and `far`. It is placed before each capture, so the node or the
## camera it follows may move with the body it rides on.
##
## Frames: rows top to bottom, 1 byte (grayscale: Godot's Image conversion to L8) or 3 (RGB) per
## pixel; the stack holds the last `stack` captures, oldest first, and a new episode's first
## capture fills every slot. Captures need a rendering Godot: Python starts one on a private
## virtual display when the env's observation has an image.

const CameraFrames := preload("res://addons/rlgodot/sensors/camera_frames.gd")

## Image width, pixels.
@export_range(8, 1024, 1, "suffix:px") var width: int = 84
## Image height, pixels.
@export_range(8, 1024, 1, "suffix:px") var height: int = 84
## One channel (luminance) per pixel instead of three (RGB).
@export var grayscale: bool = true
## Frames per observation: the last `stack` captures (1 = the current frame only).
@export_range(1, 16) var stack: int = 1
## A Camera3D of the scene to look through (its transform and projection at every capture);
## empty: look from this node with fov, near and far.
@export_node_path("Camera3D") var camera_path: NodePath = NodePath()
## Vertical field of view, degrees (without camera_path).
@export_range(1.0, 179.0, 0.1, "suffix:°") var fov: float = 75.0
## Nearest distance drawn, m (without camera_path).
@export_range(0.001, 10.0, 0.001, "or_greater", "suffix:m") var near: float = 0.05
## Farthest distance drawn, m (without camera_path).
@export_range(0.01, 4000.0, 0.01, "or_greater", "suffix:m") var far: float = 100.0

## The capture state: the view, the stack of frames. Created when the node is ready.
var frames: CameraFrames = null

var _camera: Camera3D = Camera3D.new()
## The scene's camera named by camera_path (null: look from this node).
var _source: Camera3D = null


func _ready() -> void:
	frames = CameraFrames.new(width, height, grayscale, stack, place_camera)
	frames.viewport.world_3d = get_viewport().find_world_3d()
	frames.viewport.add_child(_camera)
	add_child(frames.viewport, false, INTERNAL_MODE_BACK)
	_camera.make_current()
	if not camera_path.is_empty():
		_source = get_node_or_null(camera_path) as Camera3D
		if _source == null:
			frames.problem = "CameraSensor3D %s: camera_path %s is not a Camera3D" % [
				name, camera_path]


## Puts the camera where the sensor looks now (before every capture: CameraFrames.prepare()).
func place_camera() -> void:
	# The camera's parent is the view (no Node3D): its transform is in world coordinates.
	if _source == null:
		_camera.transform = global_transform
		_camera.set_perspective(fov, near, far)
		return
	_camera.transform = _source.global_transform
	_camera.projection = _source.projection
	_camera.keep_aspect = _source.keep_aspect
	_camera.fov = _source.fov
	_camera.size = _source.size
	_camera.frustum_offset = _source.frustum_offset
	_camera.near = _source.near
	_camera.far = _source.far
	_camera.cull_mask = _source.cull_mask
	_camera.environment = _source.environment
	_camera.attributes = _source.attributes
