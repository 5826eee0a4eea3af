extends CanvasLayer
## Play mode overlay: the agent's hud_text(), the episode line, key help; R restarts, Esc quits.

signal restart_requested
signal quit_requested

const KEY_HELP: String = "R restart   Esc quit"
const FLASH_SECONDS: float = 2.0

## The instance whose hud_text() is shown.
var agent: RLAgent = null
## Set by PlayMode at every episode start.
var episode_line: String = ""

var _label: Label = Label.new()
var _flash_text: String = ""
var _flash_left: float = 0.0


func _ready() -> void:
	layer = 100
	_label.position = Vector2(12.0, 8.0)
	_label.add_theme_color_override("font_shadow_color", Color(0.0, 0.0, 0.0, 0.8))
	_label.add_theme_constant_override("shadow_offset_x", 1)
	_label.add_theme_constant_override("shadow_offset_y", 1)
	add_child(_label)


func _process(delta: float) -> void:
	_flash_left = maxf(_flash_left - delta, 0.0)
	var lines: PackedStringArray = PackedStringArray()
	if agent != null:
		lines.append(agent.hud_text())
	lines.append(episode_line)
	if _flash_left > 0.0:
		lines.append(_flash_text)
	lines.append(KEY_HELP)
	_label.text = "\n".join(lines)


func _unhandled_key_input(event: InputEvent) -> void:
	var key: InputEventKey = event as InputEventKey
	if key == null or not key.pressed or key.echo:
		return
	if key.physical_keycode == KEY_R:
		restart_requested.emit()
	elif key.physical_keycode == KEY_ESCAPE:
		quit_requested.emit()


## Shows a message for a couple of seconds (episode ended, restarted).
func flash(text: String) -> void:
	_flash_text = text
	_flash_left = FLASH_SECONDS
