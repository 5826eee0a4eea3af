@tool
extends EditorPlugin
## The addon's editor side. RLAgent and RLServer are global classes, so the inspector shows their
## `@export` settings (an RLServer's env_scene, allow_attach, port, ...). This plugin adds the
## rlgodot dock: the port and connection state of the game running from the editor, fed by a
## debugger plugin that captures the status messages its RLServer sends.

const RLGodotDebuggerPlugin := preload("res://addons/rlgodot/editor/rlgodot_debugger_plugin.gd")
const RLGodotDock := preload("res://addons/rlgodot/editor/rlgodot_dock.gd")

var _dock: RLGodotDock = null
var _debugger: RLGodotDebuggerPlugin = null


func _enter_tree() -> void:
	_dock = RLGodotDock.new()
	add_control_to_dock(DOCK_SLOT_RIGHT_BL, _dock)
	_debugger = RLGodotDebuggerPlugin.new()
	_debugger.status_received.connect(_dock.show_status)
	_debugger.game_started.connect(_dock.show_started)
	_debugger.game_stopped.connect(_dock.show_stopped)
	add_debugger_plugin(_debugger)


func _exit_tree() -> void:
	remove_debugger_plugin(_debugger)
	_debugger = null
	remove_control_from_docks(_dock)
	_dock.queue_free()
	_dock = null
