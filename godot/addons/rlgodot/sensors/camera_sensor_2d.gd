class_name CameraSensor2D
extends Node2D
## An image observation: what a 2D camera centred on this node sees, `width` x `height` pixels,
## grayscale or RGB, with the last `stack` frames.
##
## Put at most one in the agent's scene. The batch finds it when it creates the instance (the
## instance is then `watched`: build and show its visuals), captures it once per step, after the
## step's ticks (never per tick), and sends the frames to Python as uint8 beside the state (the
## hello announces their shape, docs/PROTOCOL.md). Every instance draws into a view of its own;
## the views share the instance's World2D, so the camera sees whatever is drawn around it, the
## other instances included (place them apart with grid_position()).
##
## The camera looks at the node's global position with `view_width` world units (pixels of the
## 2D world) across the image and the same scale vertically; with rotate_with_node the image
## turns with the node (its +x to the right), else the world's axes stay put. It is placed
## before each capture, so the node may move with the body it rides on.
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
## World units (pixels of the 2D world) across the image's width.
@export_range(1.0, 100000.0, 0.1, "or_greater", "suffix:px") var view_width: float = 500.0
## Turn the image with the node's rotation (else the world's axes stay put).
@export var rotate_with_node: bool = false

## The capture state: the view, the stack of frames. Created when the node is ready.
var frames: CameraFrames = null

var _camera: Camera2D = Camera2D.new()


func _ready() -> void:
	frames = CameraFrames.new(width, height, grayscale, stack, place_camera)
	frames.viewport.world_2d = get_viewport().world_2d
	_camera.ignore_rotation = not rotate_with_node
	frames.viewport.add_child(_camera)
	add_child(frames.viewport, false, INTERNAL_MODE_BACK)
	_camera.make_current()


## Puts the camera where the node is now (before every capture: CameraFrames.prepare()).
func place_camera() -> void:
	# The camera's parent is the view (no CanvasItem): its position is in world coordinates.
	_camera.position = global_position
	_camera.rotation = global_rotation
	_camera.zoom = Vector2.ONE * float(width) / view_width
