class_name RLServer
extends Node
## Lets rlgodot trainers (Python) drive instances of `env_scene` in this game. Add it to a
## scene, set env_scene, turn allow_attach on, run the scene (F6), then run
## `rlgodot train --env ENV --attach` (docs/GODOT_ADDON.md, "Attach: train in a running game").
##
## Attached: with allow_attach on, in a game run from the editor (or any editor build of
## Godot) or from any build started with `--rlgodot-attach[=PORT]`, it listens on
## 127.0.0.1:port without ever blocking a frame, shows "waiting for a trainer" on screen and in
## the output, and serves the trainers that connect, one at a time: each gets its instances (in
## the window when there is a display) at a speed that [ and ] (or - and +) change while it
## runs; when it leaves (close, disconnect, error) its instances are freed and the next trainer
## is awaited. The game never quits because a trainer left. There is no launch token:
## allow_attach is the opt-in, and only 127.0.0.1 is served. Under the editor it reports its
## state to the rlgodot dock (EngineDebugger messages "rlgodot:status").
##
## Launched: rlgodot's bootstrap scene (sim/bootstrap.gd) makes one with serve_launched(): the
## secret of RLGODOT_TOKEN, blocking waits bounded by an accept timeout, one session, then
## `stopped` with the exit code (the bootstrap quits with it). Both modes serve a connection
## with the same ProtocolServer.

## A trainer's hello succeeded: it drives `n_envs` instances.
signal trainer_connected(n_envs: int)
## The trainer left (`reason`: closed, disconnected, failed); its instances were freed.
signal trainer_left(reason: String)
## Launched mode only: serving is over; quit with `exit_code` (0 the session ended, 3 no client
## in time, 4 the port could not be bound, 5 the client stalled in the middle of a frame).
signal stopped(exit_code: int)

const AttachSpeed := preload("res://addons/rlgodot/sim/attach_speed.gd")
const FrameServer := preload("res://addons/rlgodot/net/frame_server.gd")
const Protocol := preload("res://addons/rlgodot/net/protocol.gd")
const ProtocolServer := preload("res://addons/rlgodot/net/protocol_server.gd")
const RLServerStatus := preload("res://addons/rlgodot/sim/rl_server_status.gd")
const SceneLayout := preload("res://addons/rlgodot/sim/scene_layout.gd")

const EXIT_NO_CLIENT: int = 3
const EXIT_NO_PORT: int = 4
## Seconds between attempts to listen when the port is taken.
const LISTEN_RETRY_SEC: float = 2.0
## Seconds between refreshes of the status text and the editor dock.
const STATUS_PERIOD_SEC: float = 0.25
## The EngineDebugger message the editor's rlgodot dock captures.
const DEBUGGER_MESSAGE: String = "rlgodot:status"
const FASTER_KEYS: Array[Key] = [KEY_BRACKETRIGHT, KEY_EQUAL, KEY_PLUS, KEY_KP_ADD]
const SLOWER_KEYS: Array[Key] = [KEY_BRACKETLEFT, KEY_MINUS, KEY_KP_SUBTRACT]
const KEY_HINT: String = "[ ] or - + speed"

## The env instance scene trainers drive: its root node's script extends RLAgent.
@export var env_scene: PackedScene
## Opt-in: let a trainer on this machine attach without a launch token (127.0.0.1 only). Off,
## the node only prints how to turn it on. It listens in a game run from the editor (an editor
## build) or in any build started with --rlgodot-attach[=PORT].
@export var allow_attach: bool = false
## TCP port on 127.0.0.1 to listen on; --rlgodot-attach=PORT overrides it.
@export_range(1, 65535) var port: int = Protocol.DEFAULT_ATTACH_PORT
## Show the status panel (connection, instances, speed, steps) at the bottom left of the window.
@export var show_status: bool = true
## Speed a trainer starts at, x real time (0 = max: as fast as the machine allows); a trainer
## that asks for a realtime_factor (e.g. 'rlgodot eval --render --speed 2') starts at that.
@export_range(0.0, 128.0) var start_speed: float = 0.0
## The env id trainers use for this scene (e.g. ball-v0): only completes the command shown
## while waiting ('rlgodot train --env <env_id> --attach <port>').
@export var env_id: String = ""

var _frames: FrameServer = null
var _protocol: ProtocolServer = null
var _layout: SceneLayout = null
var _speed: AttachSpeed = null
var _status: RLServerStatus = null
var _launched: bool = false
var _token: String = ""
var _accept_timeout: float = 60.0
var _physics_hz: int = 60
var _n_envs: int = 0
var _trainer_waiting: bool = false
var _problem: String = ""
var _next_listen_msec: int = 0
var _status_due_msec: int = 0
var _frame_usec: int = 0
var _frame_ticks: int = 0
var _rate_usec: int = 0
var _rate_steps: int = 0
var _steps_per_sec: float = 0.0
var _sim_speed: float = 0.0


func _init() -> void:
	# Runs while a trainer's pause holds the tree (it keeps the window and the keys alive).
	process_mode = Node.PROCESS_MODE_ALWAYS


## Launched mode: serve one session of `scene` (layout already read) on 127.0.0.1:`tcp_port`
## (0 = any free port, printed as RLGODOT_LISTENING), with the hello's `token`, waiting at most
## `accept_timeout` seconds for each client. Call before the node enters the tree.
func serve_launched(layout: SceneLayout, scene: PackedScene, hz: int, tcp_port: int,
		token: String, accept_timeout: float) -> void:
	_launched = true
	_layout = layout
	env_scene = scene
	_physics_hz = hz
	port = tcp_port
	_token = token
	_accept_timeout = accept_timeout


func _ready() -> void:
	if _launched:
		_stop_processing()
		_start_launched()
		return
	if not allow_attach:
		print("rlgodot: %s does not listen for trainers: turn its allow_attach on (inspector) to let a trainer on this machine attach" % get_path())
		_stop_processing()
		return
	var flag_port: int = _attach_flag_port()
	if flag_port == -2:
		_fail("%s=PORT needs a port 1..65535" % Protocol.ATTACH_ARG)
		return
	if flag_port == -1 and not OS.has_feature("editor"):
		# A shipped game only listens when started with the flag.
		print_verbose("rlgodot: %s stays off: start the game with %s to train in it" % [get_path(), Protocol.ATTACH_ARG])
		_stop_processing()
		return
	if flag_port > 0:
		port = flag_port
	_layout = SceneLayout.new(env_scene)
	_physics_hz = Engine.physics_ticks_per_second
	_speed = AttachSpeed.new()
	_speed.set_factor(start_speed)
	if show_status and DisplayServer.get_name() != "headless":
		_status = RLServerStatus.new()
		add_child(_status)
	if _layout.problem != "":
		_fail("%s.env_scene: %s" % [get_path(), _layout.problem])
		return
	_speed.apply_no_trainer()
	_listen()


func _exit_tree() -> void:
	if _speed != null:
		_speed.restore()
	if _frames != null:
		_frames.close()


func _process(_delta: float) -> void:
	if _frames == null or _launched:
		return
	var now: int = Time.get_ticks_usec()
	if _protocol == null:
		if not _frames.is_listening():
			if Time.get_ticks_msec() >= _next_listen_msec:
				_listen()
		elif _frames.accept_client():
			_start_protocol()
	elif _n_envs > 0 and not _trainer_waiting:
		var ticks: int = Engine.get_physics_frames()
		if _frame_usec > 0:
			_speed.measure(now - _frame_usec, ticks - _frame_ticks)
			_protocol.set_viewer_lagging(_speed.is_max() or ticks - _frame_ticks >= Engine.max_physics_steps_per_frame)
		_frame_usec = now
		_frame_ticks = ticks
	if Time.get_ticks_msec() >= _status_due_msec:
		_status_due_msec = Time.get_ticks_msec() + int(STATUS_PERIOD_SEC * 1000.0)
		_measure_rates(now)
		_report()


func _unhandled_key_input(event: InputEvent) -> void:
	var key: InputEventKey = event as InputEventKey
	if _speed == null or key == null or not key.pressed:
		return
	if key.keycode in FASTER_KEYS or key.physical_keycode in FASTER_KEYS:
		_speed.faster()
	elif key.keycode in SLOWER_KEYS or key.physical_keycode in SLOWER_KEYS:
		_speed.slower()
	else:
		return
	get_viewport().set_input_as_handled()
	if _n_envs > 0 and not _trainer_waiting:
		_speed.apply_running()
	print("rlgodot: speed %s" % _speed.label())
	_report()


## The port of --rlgodot-attach[=PORT] on the command line: -1 without the flag, 0 for the
## flag alone, -2 for a bad port.
static func _attach_flag_port() -> int:
	for arg: String in OS.get_cmdline_args() + OS.get_cmdline_user_args():
		if arg == Protocol.ATTACH_ARG:
			return 0
		if arg.begins_with(Protocol.ATTACH_ARG + "="):
			var text: String = arg.substr(Protocol.ATTACH_ARG.length() + 1)
			if not text.is_valid_int() or text.to_int() < 1 or text.to_int() > 65535:
				return -2
			return text.to_int()
	return -1


func _start_launched() -> void:
	_frames = FrameServer.new()
	var err: Error = _frames.listen(port)
	if err != OK:
		printerr("rlgodot: cannot listen on %s:%d: %s" % [FrameServer.HOST, port, error_string(err)])
		stopped.emit(EXIT_NO_PORT)
		return
	print("RLGODOT_LISTENING %d" % _frames.get_local_port())
	_accept_launched()


## Launched: blocks until the next client connects (exit code 3 after the accept timeout).
func _accept_launched() -> void:
	if not _frames.wait_for_client(_accept_timeout):
		printerr("rlgodot: no client connected within %s s" % str(_accept_timeout))
		_frames.close()
		stopped.emit(EXIT_NO_CLIENT)
		return
	_start_protocol()


## Attached: listens on 127.0.0.1:port, or retries in LISTEN_RETRY_SEC when it cannot.
func _listen() -> void:
	if _frames == null:
		_frames = FrameServer.new()
	var err: Error = _frames.listen(port)
	if err != OK:
		_next_listen_msec = Time.get_ticks_msec() + int(LISTEN_RETRY_SEC * 1000.0)
		if _problem == "":
			printerr("rlgodot: cannot listen on %s:%d (%s): another program uses the port; set %s.port or pass %s=PORT (retrying)" % [
				FrameServer.HOST, port, error_string(err), get_path(), Protocol.ATTACH_ARG])
		_problem = "cannot listen on %s:%d: the port is in use (retrying)" % [FrameServer.HOST, port]
		_report()
		return
	_problem = ""
	print("rlgodot: waiting for a trainer on %s:%d: run '%s'" % [FrameServer.HOST, port, _command()])
	_report()


## Serves the client just accepted with a new ProtocolServer (one per connection).
func _start_protocol() -> void:
	_protocol = ProtocolServer.new()
	_protocol.name = "ProtocolServer"
	_protocol.attached = not _launched
	_protocol.configure(_frames, env_scene, _layout.scene_path, _physics_hz, _layout.state_names,
			_layout.action_size, _token)
	_protocol.session_started.connect(_on_session_started)
	_protocol.session_ended.connect(_on_session_ended)
	_protocol.client_refused.connect(_on_client_refused)
	_protocol.waiting_changed.connect(_on_waiting_changed)
	add_child(_protocol)


func _on_session_started(_reply: Dictionary) -> void:
	_frames.stop_listening()  # one trainer at a time; a second one is refused a connection
	_n_envs = _protocol.n_envs()
	trainer_connected.emit(_n_envs)
	if _launched:
		return
	_speed.physics_hz = _protocol.physics_hz
	_speed.time_scale = _protocol.time_scale
	_speed.set_factor(_protocol.requested_speed if _protocol.requested_speed > 0.0 else start_speed)
	_speed.apply_running()
	_trainer_waiting = false
	_frame_usec = 0
	_rate_usec = Time.get_ticks_usec()
	_rate_steps = 0
	_steps_per_sec = 0.0
	_sim_speed = 0.0
	print("rlgodot: trainer connected on %s:%d: %s of %s at %d Hz, speed %s (%s)" % [
		FrameServer.HOST, port, _instances(), _layout.scene_path, _speed.physics_hz, _speed.label(), KEY_HINT])
	_report()


func _on_session_ended(exit_code: int, reason: String) -> void:
	var steps: int = _protocol.steps
	_drop_protocol()
	trainer_left.emit(reason)
	if _launched:
		_frames.close()
		stopped.emit(exit_code)
		return
	_speed.apply_no_trainer()
	print("rlgodot: the trainer left after %d steps (%s)" % [steps, reason])
	_listen()


func _on_client_refused(_reason: String) -> void:
	_drop_protocol()
	if _launched:
		printerr("rlgodot: waiting up to %s s for the next client" % str(_accept_timeout))
		_accept_launched.call_deferred()


func _on_waiting_changed(waiting: bool) -> void:
	_trainer_waiting = waiting
	if waiting:
		_speed.apply_paused()
	else:
		_speed.apply_running()
		_frame_usec = 0


func _drop_protocol() -> void:
	_n_envs = 0
	_trainer_waiting = false
	if _protocol != null:
		_protocol.queue_free()
		_protocol = null


func _measure_rates(now_usec: int) -> void:
	if _protocol == null or _n_envs == 0:
		return
	var seconds: float = float(now_usec - _rate_usec) / 1.0e6
	if seconds < 1.0:
		return
	var steps: int = _protocol.steps - _rate_steps
	_steps_per_sec = float(steps * _n_envs) / seconds
	_sim_speed = float(steps * _protocol.action_repeat()) / float(_speed.physics_hz) / seconds
	_rate_usec = now_usec
	_rate_steps = _protocol.steps


## The status, on screen (when shown) and to the editor's rlgodot dock (when run from it).
func _report() -> void:
	var state: String = "waiting"
	var lines: PackedStringArray = PackedStringArray()
	var address: String = "%s:%d" % [FrameServer.HOST, port]
	if _problem != "":
		state = "problem"
		lines.append("rlgodot: " + _problem)
	elif _n_envs == 0:
		lines.append("rlgodot: waiting for a trainer on " + address)
		lines.append("    " + _command())
	else:
		state = "busy" if _trainer_waiting else "training"
		lines.append("rlgodot: trainer connected on %s: %s, %d steps (%s steps/s)" % [
			address, _instances(), _protocol.steps * _n_envs, _thousands(_steps_per_sec)])
		var doing: String = "the trainer is learning (paused)" if _trainer_waiting else "x%.1f real time" % _sim_speed
		lines.append("speed %s: %s    %s" % [_speed.label(), doing, KEY_HINT])
	if _status != null:
		_status.show_lines(lines, _problem != "")
	if EngineDebugger.is_active():
		EngineDebugger.send_message(DEBUGGER_MESSAGE, [{
			"state": state, "port": port, "n_envs": _n_envs,
			"steps": 0 if _protocol == null else _protocol.steps * _n_envs,
			"steps_per_sec": _steps_per_sec, "speed": "" if _speed == null else _speed.label(),
			"text": "\n".join(lines)}])


func _instances() -> String:
	return "1 instance" if _n_envs == 1 else "%d instances" % _n_envs


func _command() -> String:
	return "rlgodot train --env %s --attach %d" % [env_id if env_id != "" else "ENV", port]


## Prints a problem that keeps the node from serving and shows it on screen.
func _fail(problem: String) -> void:
	printerr("rlgodot: " + problem)
	_problem = problem
	_report()
	_stop_processing()


func _stop_processing() -> void:
	set_process(false)
	set_process_unhandled_key_input(false)


static func _thousands(value: float) -> String:
	var text: String = str(roundi(value))
	var out: String = ""
	while text.length() > 3:
		out = "," + text.substr(text.length() - 3) + out
		text = text.substr(0, text.length() - 3)
	return text + out
