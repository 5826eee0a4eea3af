extends CanvasLayer
## The sky and the parallax hills behind the course: one full-view rectangle drawn by
## backdrop.gdshader, below the World's canvas. A CanvasLayer belongs to its own viewport, so
## each watched instance has its own backdrop even though all share one World2D.

const BACKDROP_SHADER: Shader = preload("res://envs/motorcycle/look/backdrop.gdshader")
## Cloud drift, m/s of simulated time.
const CLOUD_SPEED: float = 1.0

var _rect: ColorRect = ColorRect.new()
var _material: ShaderMaterial = ShaderMaterial.new()
var _drift: float = 0.0


func _init() -> void:
	layer = -10
	_material.shader = BACKDROP_SHADER
	_rect.material = _material
	_rect.mouse_filter = Control.MOUSE_FILTER_IGNORE
	_rect.set_anchors_preset(Control.PRESET_FULL_RECT)
	add_child(_rect)


## Scrolls the backdrop to a view centred on `center_m` (course metres, y up), `size_m` large
## (`view_size` pixels); `delta` simulated seconds since the last call drift the clouds.
func follow(delta: float, center_m: Vector2, size_m: Vector2, view_size: Vector2) -> void:
	_rect.position = Vector2.ZERO
	_rect.size = view_size
	_drift += delta * CLOUD_SPEED
	_material.set_shader_parameter("camera_m", center_m)
	_material.set_shader_parameter("view_m", size_m)
	_material.set_shader_parameter("drift", _drift)
