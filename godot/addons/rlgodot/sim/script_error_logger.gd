extends Logger
## Forwards script errors (what Godot prints as `SCRIPT ERROR`) to a ScriptErrorSink.
## Loaded only when the engine has the Logger class (Godot 4.5+); see protocol_server.gd.

const ScriptErrorSink := preload("res://addons/rlgodot/sim/script_error_sink.gd")

var sink: ScriptErrorSink = null


func _log_error(function: String, file: String, line: int, code: String, rationale: String,
		_editor_notify: bool, error_type: int, _script_backtraces: Array[ScriptBacktrace]) -> void:
	if error_type != ERROR_TYPE_SCRIPT or sink == null:
		return
	var text: String = rationale if rationale != "" else code
	sink.add("%s:%d in %s(): %s" % [file, line, function, text])
