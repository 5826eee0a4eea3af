extends CanvasLayer
## The on-screen status of an attached game's RLServer: a panel at the bottom left of the
## window, above everything else, with the lines its owner sets (waiting for a trainer and the
## command to run; connected, instances, speed, steps, the speed keys; or a problem in red).

const FONT_SIZE: int = 15
const MARGIN: float = 8.0
const BACKGROUND: Color = Color(0.0, 0.0, 0.0, 0.7)
const TEXT_COLOR: Color = Color(0.92, 0.95, 1.0)
const ERROR_COLOR: Color = Color(1.0, 0.45, 0.4)

var _panel: PanelContainer = PanelContainer.new()
var _label: Label = Label.new()


func _init() -> void:
	name = "RLServerStatus"
	layer = 128


func _ready() -> void:
	var style: StyleBoxFlat = StyleBoxFlat.new()
	style.bg_color = BACKGROUND
	style.set_content_margin_all(MARGIN)
	style.set_corner_radius_all(4)
	_panel.add_theme_stylebox_override("panel", style)
	_panel.mouse_filter = Control.MOUSE_FILTER_IGNORE
	_label.add_theme_font_size_override("font_size", FONT_SIZE)
	_panel.add_child(_label)
	add_child(_panel)
	_place()
	get_viewport().size_changed.connect(_place)


## Shows `lines` (a problem in red when `problem`).
func show_lines(lines: PackedStringArray, problem: bool = false) -> void:
	_label.text = "\n".join(lines)
	_label.add_theme_color_override("font_color", ERROR_COLOR if problem else TEXT_COLOR)
	_panel.reset_size()
	_place()


## Keeps the panel in the bottom-left corner of the window.
func _place() -> void:
	if not is_inside_tree():
		return
	var height: float = get_viewport().get_visible_rect().size.y
	_panel.position = Vector2(MARGIN, height - _panel.size.y - MARGIN)
