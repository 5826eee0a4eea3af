extends RefCounted
## The capture half of a camera sensor (CameraSensor2D, CameraSensor3D): its own SubViewport of
## width x height pixels, drawn only when a capture asks for it, read back as 8-bit grayscale or
## RGB, and the stack of its last `stack` frames. The sensor node owns one and keeps what depends
## on 2D or 3D (its camera and where it looks: the `place` callable puts the camera there).
##
## A capture (driven by the batch, once per step, never per tick): prepare() on every sensor to
## capture, one frame with the scene tree paused (deferred redraws and transforms are flushed,
## nothing is simulated), RenderingServer.force_draw(), then read() on each.

## Channels of one frame: 1 (grayscale) or 3 (RGB).
const GRAY_CHANNELS: int = 1
const RGB_CHANNELS: int = 3

var width: int = 0
var height: int = 0
var grayscale: bool = true
## Frames in `observation`, oldest first.
var stack: int = 1
## The view: an internal child of the sensor, with the sensor's camera as its only child.
var viewport: SubViewport = SubViewport.new()
## The last `stack` frames, oldest first; each `height` rows of `width` pixels of channels()
## bytes, top row first. Empty before the first read(). Replaced (not modified) by read().
var observation: PackedByteArray = PackedByteArray()
## What keeps the sensor from capturing ("" = nothing), set by the sensor when it is ready; the
## batch refuses the session with it.
var problem: String = ""

var _fresh: bool = true
var _place: Callable


func _init(view_width: int, view_height: int, gray: bool, frames: int, place: Callable) -> void:
	width = view_width
	height = view_height
	grayscale = gray
	stack = frames
	_place = place
	viewport.size = Vector2i(width, height)
	viewport.render_target_update_mode = SubViewport.UPDATE_DISABLED
	viewport.transparent_bg = false
	# Pixels, not a smoothed picture: no MSAA, no screen-space AA, no scaling.
	viewport.msaa_2d = Viewport.MSAA_DISABLED
	viewport.msaa_3d = Viewport.MSAA_DISABLED
	viewport.screen_space_aa = Viewport.SCREEN_SPACE_AA_DISABLED


## Bytes per pixel of one frame.
func channels() -> int:
	return GRAY_CHANNELS if grayscale else RGB_CHANNELS


## Bytes of `observation`: stack x height x width x channels().
func observation_bytes() -> int:
	return stack * height * width * channels()


## A new episode began: the next read() fills the whole stack with its frame.
func restart() -> void:
	_fresh = true


## Puts the camera where the sensor looks now and marks the view to be drawn by the next
## RenderingServer.force_draw().
func prepare() -> void:
	_place.call()
	viewport.render_target_update_mode = SubViewport.UPDATE_ONCE


## Reads the drawn view back and pushes it onto the stack (after restart(): every slot holds it).
func read() -> void:
	var image: Image = viewport.get_texture().get_image()
	image.convert(Image.FORMAT_L8 if grayscale else Image.FORMAT_RGB8)
	var frame: PackedByteArray = image.get_data()
	if _fresh or stack == 1:
		_fresh = false
		var filled: PackedByteArray = PackedByteArray()
		for k: int in stack:
			filled.append_array(frame)
		observation = filled
		return
	var shifted: PackedByteArray = observation.slice(frame.size())
	shifted.append_array(frame)
	observation = shifted
