@tool
extends EditorDebuggerPlugin
## Captures the status messages ("rlgodot:status", one Dictionary) that an RLServer sends through
## EngineDebugger while its game runs from the editor, and says when such a game starts and
## stops. The rlgodot dock shows them.

## An RLServer reported its state: "state" (waiting, training, busy, problem), "port",
## "n_envs", "steps", "steps_per_sec", "speed" and "text" (its on-screen lines).
signal status_received(status: Dictionary)
## A game started from the editor (it may or may not hold an RLServer).
signal game_started
## The game stopped.
signal game_stopped

const CAPTURE: String = "rlgodot"
const STATUS_MESSAGE: String = "rlgodot:status"


func _has_capture(capture: String) -> bool:
	return capture == CAPTURE


func _capture(message: String, data: Array, _session_id: int) -> bool:
	if message != STATUS_MESSAGE or data.is_empty() or typeof(data[0]) != TYPE_DICTIONARY:
		return false
	var status: Dictionary = data[0]
	status_received.emit(status)
	return true


func _setup_session(session_id: int) -> void:
	var session: EditorDebuggerSession = get_session(session_id)
	session.started.connect(_on_started)
	session.stopped.connect(_on_stopped)


func _on_started() -> void:
	game_started.emit()


func _on_stopped() -> void:
	game_stopped.emit()
