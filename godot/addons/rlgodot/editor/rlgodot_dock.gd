@tool
extends VBoxContainer
## The rlgodot dock: the state of the RLServer of the game running from the editor (waiting for
## a trainer on 127.0.0.1:PORT and the command to run, or connected: instances, speed, steps),
## else how to start one.

const TITLE_FONT_SIZE: int = 16
const IDLE_COLOR: Color = Color(0.7, 0.7, 0.7)
const WAITING_COLOR: Color = Color(1.0, 0.8, 0.3)
const TRAINING_COLOR: Color = Color(0.45, 0.9, 0.45)
const PROBLEM_COLOR: Color = Color(1.0, 0.45, 0.4)
const HOW_TO: String = "Add an RLServer node to a scene, set its env_scene (the root script extends RLAgent) and turn allow_attach on, then run the scene (F6). A trainer attaches with:\n    rlgodot train --env ENV --attach PORT"

var _title: Label = Label.new()
var _detail: Label = Label.new()
var _last_port: int = 0


func _init() -> void:
	name = "rlgodot"
	_title.add_theme_font_size_override("font_size", TITLE_FONT_SIZE)
	_detail.autowrap_mode = TextServer.AUTOWRAP_WORD_SMART
	_detail.custom_minimum_size = Vector2(200.0, 0.0)
	add_child(_title)
	add_child(_detail)
	_show("No game running", HOW_TO, IDLE_COLOR)


## A status message of the running game's RLServer (see RLGodotDebuggerPlugin).
func show_status(status: Dictionary) -> void:
	var state: String = str(status.get("state", ""))
	var port: Variant = status.get("port", 0)
	_last_port = port if typeof(port) == TYPE_INT else 0
	var text: String = str(status.get("text", ""))
	match state:
		"waiting":
			_show("Waiting for a trainer on 127.0.0.1:%d" % _last_port, text, WAITING_COLOR)
		"training", "busy":
			_show("Trainer connected on 127.0.0.1:%d" % _last_port, text, TRAINING_COLOR)
		_:
			_show("RLServer cannot serve", text, PROBLEM_COLOR)


func show_started() -> void:
	_show("Game running", "No RLServer has reported yet (is allow_attach on?).", IDLE_COLOR)


func show_stopped() -> void:
	var last: String = "" if _last_port == 0 else "The game on 127.0.0.1:%d stopped.\n\n" % _last_port
	_show("No game running", last + HOW_TO, IDLE_COLOR)


func _show(title: String, detail: String, color: Color) -> void:
	_title.text = title
	_title.add_theme_color_override("font_color", color)
	_detail.text = detail
