extends CanvasLayer
## The overlay of one watched instance: its hud_text(), a caption set by the driver (episode and
## return from the Python evaluator, key help in play mode) and, for a few seconds, a flashed
## line (how the last episode ended).

const FLASH_SECONDS: float = 3.0
const MIN_FONT_SIZE: int = 8
const MAX_FONT_SIZE: int = 20
## View height per font pixel: a 360 px view gets 15 px text.
const HEIGHT_PER_FONT_PX: int = 24

## The instance whose hud_text() is shown.
var agent: RLAgent = null
## Lines under the readout ("" = none).
var caption: String = ""

var _label: Label = Label.new()
var _flash_text: String = ""
var _flash_left: float = 0.0
## agent.view_seconds when the flash was last aged.
var _aged_at: float = 0.0


func _init() -> void:
	layer = 100


func _ready() -> void:
	_label.position = Vector2(8.0, 6.0)
	_label.add_theme_color_override("font_shadow_color", Color(0.0, 0.0, 0.0, 0.85))
	_label.add_theme_constant_override("shadow_offset_x", 1)
	_label.add_theme_constant_override("shadow_offset_y", 1)
	add_child(_label)


## Sizes the text for a view `height` pixels tall.
func fit(height: int) -> void:
	_label.add_theme_font_size_override("font_size",
			clampi(height / HEIGHT_PER_FONT_PX, MIN_FONT_SIZE, MAX_FONT_SIZE))


## Rewrites the text, after the agent's view was brought up to date (the view time that passed
## since the previous refresh ages the flash).
func refresh() -> void:
	_flash_left = maxf(_flash_left - (agent.view_seconds - _aged_at), 0.0)
	_aged_at = agent.view_seconds
	var lines: PackedStringArray = PackedStringArray()
	var readout: String = agent.hud_text()
	if readout != "":
		lines.append(readout)
	if caption != "":
		lines.append(caption)
	if _flash_left > 0.0:
		lines.append(_flash_text)
	_label.text = "\n".join(lines)


## Shows `text` for FLASH_SECONDS.
func flash(text: String) -> void:
	_flash_text = text
	_flash_left = FLASH_SECONDS
