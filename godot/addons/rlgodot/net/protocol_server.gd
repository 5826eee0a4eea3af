extends Node
## Serve mode: protocol v1 (docs/PROTOCOL.md) over one FrameServer connection, driving an
## EnvBatch (its child). Checks the hello, dispatches requests (hello, reset, step in JSON or
## binary, act, ping, bench, close), replies with results or errors, throttles to realtime_factor.
##
## One node serves one connection; its owner (RLServer) accepts the connection, adds the node
## and frees it afterwards. Signals up, calls down: the node says how the connection ended
## (client_refused before a successful hello, session_ended after one) and the owner decides
## what comes next (a launched Godot quits, an attached game waits for the next trainer).
##
## Timing: this node's _physics_process runs before every other node's (lowest priority). A step
## applies the N actions at a decision point, then `action_repeat` physics ticks run; at the
## start of the frame after the last tick (the next decision point) it reads every state,
## replies, and blocks in recv (after an optional spin, see FrameServer) for the next request.
##
## Clients: until a hello succeeds, a connection that sends no hello within HELLO_TIMEOUT_SEC,
## closes, stalls mid-frame, lacks the launch token or gets a fatal error is closed
## (client_refused). A successful hello makes the connection a session (session_started); it
## ends with close, the client leaving, a fatal error or a stalled frame (session_ended).
##
## Attached (an RLServer with allow_attach, in a running game): no token; the hello's
## config.physics_hz is adopted; the instances are shown in the game's window when it has a
## display; the game's speed control (RLServer) paces the physics instead of realtime_factor;
## and the wait for a request never blocks a frame for long: after ATTACHED_WAIT_USEC without
## one (the trainer is learning), the tree is paused (nothing is simulated, as during a render)
## and the window keeps drawing until the request comes (waiting_changed).
##
## Cameras (CameraSensor2D or CameraSensor3D in the scene): a reset or step reply carries each instance's camera
## observation after the states. They are captured at the decision point like a render: the
## views are prepared, one frame passes with the tree paused, then they are drawn and read. A
## same_step autoreset waits for that capture (the ended episodes' last frames are the terminal
## images) and its new episodes are captured in one more paused frame.
##
## Script errors: a Logger (Godot 4.5+) collects the script errors raised while a request is
## handled; reset / step / bench then answer `script_error` (or, with script_errors = warn, send
## a `script_errors` notice before the normal reply).

const Bench := preload("res://addons/rlgodot/sim/bench.gd")
const Codec := preload("res://addons/rlgodot/net/codec.gd")
const EnvBatch := preload("res://addons/rlgodot/sim/env_batch.gd")
const FrameServer := preload("res://addons/rlgodot/net/frame_server.gd")
const Protocol := preload("res://addons/rlgodot/net/protocol.gd")
const ScriptErrorSink := preload("res://addons/rlgodot/sim/script_error_sink.gd")
const Viewer := preload("res://addons/rlgodot/sim/viewer.gd")

## The hello succeeded; `reply` is the hello reply sent to the client.
signal session_started(reply: Dictionary)
## The session ended: `exit_code` 0 (close, the client left, a fatal error) or
## EXIT_CLIENT_STALLED; `reason` says which, for the log.
signal session_ended(exit_code: int, reason: String)
## The connection was closed before a successful hello (`reason` says why).
signal client_refused(reason: String)
## Attached: true while the server waits for a request with the tree paused (the trainer is busy),
## false when requests flow again.
signal waiting_changed(waiting: bool)

const LOGGER_SCRIPT: String = "res://addons/rlgodot/sim/script_error_logger.gd"
## Exit code when the session's client stalled in the middle of a frame.
const EXIT_CLIENT_STALLED: int = 5
## Attached: how long a decision point waits for the next request before it pauses the tree
## and lets frames run (the window keeps drawing while the trainer learns).
const ATTACHED_WAIT_USEC: int = 20000
## Attached, paused: each frame waits this long for the request (so a paused game takes
## little CPU from its learning trainer), checking every PAUSED_POLL_USEC.
const PAUSED_WAIT_USEC: int = 50000
const PAUSED_POLL_USEC: int = 500
## How often long work (a bench, a throttled step) checks that the client is still there.
const PRESENCE_CHECK_USEC: int = 100000
## A throttled session more than this behind real time starts afresh instead of catching up.
const MAX_CATCH_UP_USEC: int = 250000

const KNOWN_TYPES: PackedStringArray = [
	Protocol.TYPE_HELLO, Protocol.TYPE_RESET, Protocol.TYPE_STEP, Protocol.TYPE_ACT, Protocol.TYPE_BENCH,
	Protocol.TYPE_PING, Protocol.TYPE_RENDER, Protocol.TYPE_CAPTION, Protocol.TYPE_CLOSE]

## Physics ticks per simulated second (attached: the hello's config.physics_hz).
var physics_hz: int = 60
var realtime_factor: float = 0.0
## Serving a running game (see above); set before the node enters the tree.
var attached: bool = false
## Attached: the hello's config.realtime_factor (0 = none asked), the speed the game starts at.
var requested_speed: float = 0.0
## The hello's config.time_scale (attached: the game's speed multiplies it).
var time_scale: float = 1.0
## Step and act requests served so far.
var steps: int = 0

var _batch: EnvBatch = EnvBatch.new()
var _server: FrameServer = null
var _codec: Codec = Codec.new()
var _bench: Bench = Bench.new()
var _hello_done: bool = false
var _closed: bool = false
var _throttle_last_usec: int = 0
var _token: String = ""
var _hello_deadline_msec: int = 0
var _waiting: bool = false
var _paused: bool = false
var _logger: Object = null
var _errors: ScriptErrorSink = ScriptErrorSink.new()
var _warn_script_errors: bool = false
var _presence_checked_usec: int = 0
var _viewer: Viewer = null
## The in-engine policy of hello config.policy (null: none; `act` is then not_ready).
var _policy: RLPolicy = null
## Instances of the capture in progress (empty: none).
var _render_indices: PackedInt32Array = PackedInt32Array()
## The reply a camera capture in progress completes: KIND_STEP_RESULT, KIND_RESET_RESULT, or 0
## (no capture).
var _capture_kind: int = 0
## The rows of that reply (a reset's indices; a step's are all instances).
var _capture_rows: PackedInt32Array = PackedInt32Array()
## The instances being captured now (the rows, then a step's restarted instances).
var _capture_indices: PackedInt32Array = PackedInt32Array()
## The step's same_step autoresets were done after its first capture.
var _capture_restarted: bool = false
## The camera observations of the step's ended episodes (its terminal list), taken before their
## autoreset.
var _terminal_images: PackedByteArray = PackedByteArray()


func _init() -> void:
	process_physics_priority = EnvBatch.DRIVER_PHYSICS_PRIORITY
	# Serves while the tree is paused for a capture (the batch, a child, stays pausable).
	process_mode = Node.PROCESS_MODE_ALWAYS


func _ready() -> void:
	set_process(attached)  # _process() only serves an attached game's pauses
	_batch.process_mode = Node.PROCESS_MODE_PAUSABLE
	add_child(_batch)
	if ClassDB.class_exists("Logger"):
		var script: GDScript = load(LOGGER_SCRIPT) as GDScript
		_logger = script.new()
		_logger.set("sink", _errors)
		OS.call("add_logger", _logger)


func _exit_tree() -> void:
	if _logger != null:
		OS.call("remove_logger", _logger)
		_logger = null
	_pause(false)


func _process(_delta: float) -> void:
	# Paused for a busy trainer: wait here (once a frame) and resume in the next physics tick,
	# which then reads the request first thing, before anything is simulated.
	if _waiting and _paused and _server.wait_for_request(PAUSED_WAIT_USEC, PAUSED_POLL_USEC):
		_set_waiting(false)


func _physics_process(_delta: float) -> void:
	if _closed:
		return
	if _waiting:
		if not _server.request_waiting():
			if not _hello_done and Time.get_ticks_msec() >= _hello_deadline_msec:
				_refuse("no hello within %d s" % Protocol.HELLO_TIMEOUT_SEC)
			return
		_set_waiting(false)
	if not _render_indices.is_empty():
		_finish_render()
		_serve_requests()
		return
	if _capture_kind != 0:
		if _continue_capture():
			_serve_requests()
		return
	if _batch.is_stepping() and not _bench.is_running():
		_throttle()
		if _closed:
			return
	if _batch.run_tick():
		return
	if _batch.is_stepping():
		var capture: bool = _bench.capture if _bench.is_running() else not _batch.cameras.is_empty()
		_batch.finish_step(capture)
		if _bench.is_running():
			if capture:
				_begin_capture(Protocol.KIND_STEP_RESULT, _all_indices())
				return
			if not _finish_bench_step():
				return
		else:
			steps += 1
			if _script_errors_fail("step"):
				if capture:
					_batch.complete_resets()
			elif capture:
				_begin_capture(Protocol.KIND_STEP_RESULT, _all_indices())
				return
			elif not _send(_codec.encode_result(Protocol.KIND_STEP_RESULT, _batch.states, _batch.status,
					_batch.n_envs, _batch.state_size, _batch.terminal_index, _batch.terminal_states)):
				return
	_serve_requests()


## Serves the client `server` has just accepted, for the env scene; add the node to the tree
## afterwards. `token` ("" = none required) is what the hello must carry.
func configure(server: FrameServer, env_scene: PackedScene, env_scene_path: String, hz: int,
		names: PackedStringArray, n_actions: int, token: String) -> void:
	_server = server
	_token = token
	_hello_deadline_msec = Time.get_ticks_msec() + Protocol.HELLO_TIMEOUT_SEC * 1000
	_server.max_frame_bytes = Protocol.DEFAULT_MAX_FRAME_BYTES
	physics_hz = hz
	_batch.configure(env_scene, env_scene_path, names, n_actions)


## Attached: tells the window viewer whether the simulation runs behind its speed (it then
## draws less often, leaving the time to the physics).
func set_viewer_lagging(on: bool) -> void:
	if _viewer != null and not _viewer.offscreen:
		_viewer.lagging = on


## Physics ticks per step of the session.
func action_repeat() -> int:
	return _batch.action_repeat


## Instances of the session (0 before the hello).
func n_envs() -> int:
	return _batch.n_envs


## Blocks reading requests until a step or a capture has begun or the connection ends
## (attached: or until no request came for a while; see _await_request()).
func _serve_requests() -> void:
	while not _closed:
		if attached and not _await_request():
			return
		var deadline: int = FrameServer.NO_DEADLINE if _hello_done else _hello_deadline_msec
		var body: PackedByteArray = _server.read_frame(deadline)
		if _server.read_status == FrameServer.ReadStatus.CLOSED:
			if _hello_done:
				_shutdown(0, "the client closed the connection")
			else:
				_refuse("it closed the connection before a successful hello")
			continue
		if _server.read_status == FrameServer.ReadStatus.TIMEOUT:
			var reason: String = _server.timeout_reason
			if not _hello_done:
				if _server.last_frame_length == 0 and reason.begins_with("a request"):
					reason = "no hello within %d s" % Protocol.HELLO_TIMEOUT_SEC
				_refuse(reason)
				continue
			printerr("rlgodot: dropped the client: %s (frames must complete within %d s)" % [
				reason, Protocol.FRAME_TIMEOUT_SEC])
			_shutdown(EXIT_CLIENT_STALLED, "the client stalled in the middle of a frame")
			return
		if _server.read_status == FrameServer.ReadStatus.TOO_LARGE:
			_send_fatal(Protocol.ERROR_FRAME_TOO_LARGE, "frame of %d bytes exceeds max_frame_bytes %d; closing" % [
				_server.last_frame_length, _server.max_frame_bytes])
			return
		if _handle_request(body):
			return


## Handles one request body; true when it began a step or a capture (the reply comes later).
func _handle_request(body: PackedByteArray) -> bool:
	var decoded: Codec.Decoded = _codec.decode(body)
	if decoded == Codec.Decoded.ERROR:
		_send_error(_codec.error_code, _codec.error_message)
		return false
	if decoded == Codec.Decoded.BINARY_STEP:
		if not _hello_done:
			_send_error(Protocol.ERROR_NOT_READY, "step before hello: send hello first")
			return false
		if _codec.rows != _batch.n_envs or _codec.width != _batch.action_size:
			_send_error(Protocol.ERROR_BAD_ACTION, "expected %d actions of %d floats, got %d of %d" % [
				_batch.n_envs, _batch.action_size, _codec.rows, _codec.width])
			return false
		return _begin_checked_step(_codec.actions, _codec.action_offset)
	var msg: Dictionary = _codec.message
	var type: String = msg["type"]
	match type:
		Protocol.TYPE_HELLO:
			_handle_hello(msg)
		Protocol.TYPE_RESET:
			return _handle_reset(msg)
		Protocol.TYPE_STEP:
			return _handle_json_step(msg)
		Protocol.TYPE_ACT:
			return _handle_act()
		Protocol.TYPE_BENCH:
			return _handle_bench(msg)
		Protocol.TYPE_PING:
			if _require_hello(type):
				_send(_codec.encode_message({"type": Protocol.TYPE_PONG}))
		Protocol.TYPE_RENDER:
			return _handle_render(msg)
		Protocol.TYPE_CAPTION:
			_handle_caption(msg)
		Protocol.TYPE_CLOSE:
			if _send(_codec.encode_message({"type": Protocol.TYPE_BYE})):
				_shutdown(0, "the client closed the session")
		_:
			_send_error(Protocol.ERROR_UNKNOWN_TYPE, "unknown message type '%s' (known: %s)" % [
				type, ", ".join(KNOWN_TYPES)])
	return false


## Starts an in-engine benchmark (capturing the cameras unless 'capture' is false); the reply is
## sent when its last step has finished.
func _handle_bench(msg: Dictionary) -> bool:
	if not _require_hello(Protocol.TYPE_BENCH):
		return false
	if not _batch.unreset_instances().is_empty():
		_send_error(Protocol.ERROR_NOT_READY, "bench before every instance was reset: send reset first")
		return false
	var steps_value: Variant = msg.get("steps")
	var steps_count: int = 0
	if Codec.is_number(steps_value):
		steps_count = roundi(Codec.as_float(steps_value))
	if steps_count < 1 or steps_count > Protocol.MAX_BENCH_STEPS or not Codec.is_integer(steps_value):
		_send_error(Protocol.ERROR_BAD_MESSAGE, "bench needs 'steps', an integer in 1..%d, got %s" % [
			Protocol.MAX_BENCH_STEPS, Codec.describe(steps_value)])
		return false
	var capture_value: Variant = msg.get("capture", true)
	if typeof(capture_value) != TYPE_BOOL:
		_send_error(Protocol.ERROR_BAD_MESSAGE, "bench 'capture' must be true or false, got %s" % Codec.describe(capture_value))
		return false
	_presence_checked_usec = Time.get_ticks_usec()
	var capture: bool = capture_value
	_bench.start(_batch, steps_count, capture)
	return true


func _require_hello(what: String) -> bool:
	if _hello_done:
		return true
	_send_error(Protocol.ERROR_NOT_READY, "%s before hello: send hello first" % what)
	return false


func _handle_hello(msg: Dictionary) -> void:
	if _hello_done:
		_send_error(Protocol.ERROR_BAD_MESSAGE, "hello was already received on this connection")
		return
	var protocol: Variant = msg.get("protocol")
	if not Codec.is_integer(protocol):
		_send_error(Protocol.ERROR_BAD_MESSAGE, "hello needs an integer field 'protocol'")
		return
	if _token != "" and str(msg.get("token", "")) != _token:
		_send_fatal(Protocol.ERROR_UNAUTHORIZED, "hello without the right 'token': this Godot was launched with a secret (environment variable %s) that its client must send" % Protocol.TOKEN_ENV)
		return
	var protocol_number: int = Codec.as_int(protocol)
	if protocol_number != Protocol.PROTOCOL_VERSION:
		_send_fatal(Protocol.ERROR_PROTOCOL_VERSION, "client speaks protocol %d, this server (%s) speaks protocol %d" % [
			protocol_number, Protocol.SERVER_NAME, Protocol.PROTOCOL_VERSION])
		return
	var codecs_value: Variant = msg.get("codecs", [Protocol.CODEC_JSON])
	var config_value: Variant = msg.get("config", {})
	var expect_value: Variant = msg.get("expect", {})
	if codecs_value == null:
		codecs_value = [Protocol.CODEC_JSON]
	if config_value == null:
		config_value = {}
	if expect_value == null:
		expect_value = {}
	if typeof(codecs_value) != TYPE_ARRAY:
		_send_error(Protocol.ERROR_BAD_MESSAGE, "hello 'codecs' must be a list of strings")
		return
	if typeof(config_value) != TYPE_DICTIONARY:
		_send_error(Protocol.ERROR_BAD_MESSAGE, "hello 'config' must be an object")
		return
	if typeof(expect_value) != TYPE_DICTIONARY:
		_send_error(Protocol.ERROR_BAD_MESSAGE, "hello 'expect' must be an object")
		return
	var config: Dictionary = config_value
	var expect: Dictionary = expect_value

	# Types first (bad_message, connection kept) ...
	for key: String in ["n_envs", "action_repeat", "max_episode_steps", "spin_usec", "physics_hz"]:
		if config.has(key) and not Codec.is_integer(config[key]):
			_send_error(Protocol.ERROR_BAD_MESSAGE, "config.%s must be an integer, got %s" % [key, Codec.describe(config[key])])
			return
	for key: String in ["realtime_factor", "time_scale"]:
		if config.has(key) and not Codec.is_number(config[key]):
			_send_error(Protocol.ERROR_BAD_MESSAGE, "config.%s must be a number, got %s" % [key, Codec.describe(config[key])])
			return
	for key: String in ["autoreset", "script_errors", "viewer", "policy"]:
		if config.has(key) and typeof(config[key]) != TYPE_STRING:
			_send_error(Protocol.ERROR_BAD_MESSAGE, "config.%s must be a string" % key)
			return
	if config.has("options") and typeof(config["options"]) != TYPE_DICTIONARY:
		_send_error(Protocol.ERROR_BAD_MESSAGE, "config.options must be an object")
		return
	if config.has("view_hud") and typeof(config["view_hud"]) != TYPE_BOOL:
		_send_error(Protocol.ERROR_BAD_MESSAGE, "config.view_hud must be true or false")
		return
	var view_size: Vector2i = Vector2i(Protocol.DEFAULT_VIEW_WIDTH, Protocol.DEFAULT_VIEW_HEIGHT)
	if config.has("view_size"):
		var size_value: Variant = config["view_size"]
		var sides: Array = size_value if typeof(size_value) == TYPE_ARRAY else []
		if sides.size() != 2 or not Codec.is_integer(sides[0]) or not Codec.is_integer(sides[1]):
			_send_error(Protocol.ERROR_BAD_MESSAGE, "config.view_size must be [width, height] in pixels, got %s" % Codec.describe(size_value))
			return
		view_size = Vector2i(Codec.as_int(sides[0]), Codec.as_int(sides[1]))
	var n: int = Codec.as_int(config.get("n_envs", Protocol.DEFAULT_N_ENVS))
	var repeat: int = Codec.as_int(config.get("action_repeat", Protocol.DEFAULT_ACTION_REPEAT))
	var max_steps: int = Codec.as_int(config.get("max_episode_steps", Protocol.DEFAULT_MAX_EPISODE_STEPS))
	var autoreset: String = str(config.get("autoreset", Protocol.AUTORESET_SAME_STEP))
	var factor: float = Codec.as_float(config.get("realtime_factor", 0.0))
	var scale: float = Codec.as_float(config.get("time_scale", 1.0))
	var spin: int = Codec.as_int(config.get("spin_usec", 0))
	var script_errors: String = str(config.get("script_errors", Protocol.SCRIPT_ERRORS_RAISE))
	var viewer: String = str(config.get("viewer", Protocol.VIEWER_NONE))
	var view_hud: bool = config.get("view_hud", true)
	var policy_path: String = str(config.get("policy", ""))
	var hz: int = Codec.as_int(config.get("physics_hz", physics_hz))
	var has_display: bool = DisplayServer.get_name() != "headless"
	if attached and has_display and viewer == Protocol.VIEWER_NONE:
		viewer = Protocol.VIEWER_WINDOW  # the game's window shows what the trainer does

	# ... then ranges (bad_config, connection closed).
	var problem: String = ""
	if n < 1 or n > Protocol.MAX_ENVS:
		problem = "config.n_envs must be 1..%d, got %d" % [Protocol.MAX_ENVS, n]
	elif repeat < 1 or repeat > Protocol.MAX_ACTION_REPEAT:
		problem = "config.action_repeat must be 1..%d, got %d" % [Protocol.MAX_ACTION_REPEAT, repeat]
	elif max_steps < 0:
		problem = "config.max_episode_steps must be >= 0 (0 = no limit), got %d" % max_steps
	elif autoreset != Protocol.AUTORESET_SAME_STEP and autoreset != Protocol.AUTORESET_NEXT_STEP:
		problem = "config.autoreset must be '%s' or '%s', got '%s'" % [
			Protocol.AUTORESET_SAME_STEP, Protocol.AUTORESET_NEXT_STEP, autoreset]
	elif not is_finite(factor) or (factor != 0.0 and (factor < Protocol.MIN_REALTIME_FACTOR or factor > Protocol.MAX_REALTIME_FACTOR)):
		problem = "config.realtime_factor must be 0 or %s..%s, got %s" % [
			str(Protocol.MIN_REALTIME_FACTOR), str(Protocol.MAX_REALTIME_FACTOR), str(factor)]
	elif not is_finite(scale) or scale <= 0.0:
		problem = "config.time_scale must be > 0, got %s" % str(scale)
	elif spin < 0 or spin > Protocol.MAX_SPIN_USEC:
		problem = "config.spin_usec must be 0..%d, got %d" % [Protocol.MAX_SPIN_USEC, spin]
	elif script_errors != Protocol.SCRIPT_ERRORS_RAISE and script_errors != Protocol.SCRIPT_ERRORS_WARN:
		problem = "config.script_errors must be '%s' or '%s', got '%s'" % [
			Protocol.SCRIPT_ERRORS_RAISE, Protocol.SCRIPT_ERRORS_WARN, script_errors]
	elif viewer not in [Protocol.VIEWER_NONE, Protocol.VIEWER_WINDOW, Protocol.VIEWER_OFFSCREEN]:
		problem = "config.viewer must be '%s', '%s' or '%s', got '%s'" % [
			Protocol.VIEWER_NONE, Protocol.VIEWER_WINDOW, Protocol.VIEWER_OFFSCREEN, viewer]
	elif view_size.x < Protocol.MIN_VIEW_SIDE or view_size.y < Protocol.MIN_VIEW_SIDE or view_size.x > Protocol.MAX_VIEW_SIDE or view_size.y > Protocol.MAX_VIEW_SIDE:
		problem = "config.view_size sides must be %d..%d pixels, got %dx%d" % [
			Protocol.MIN_VIEW_SIDE, Protocol.MAX_VIEW_SIDE, view_size.x, view_size.y]
	elif policy_path != "" and not policy_path.is_absolute_path():
		problem = "config.policy must be an absolute path of a policy.json, got '%s'" % policy_path
	elif viewer != Protocol.VIEWER_NONE and not has_display:
		problem = "config.viewer '%s' needs a rendering Godot: launch it without --headless, on a display (Xvfb will do)" % viewer
	elif attached and viewer == Protocol.VIEWER_OFFSCREEN:
		problem = "config.viewer 'offscreen' (frames, render_mode='rgb_array') needs a Godot launched for the session; an attached game shows its instances in its own window"
	elif hz < 1 or hz > Protocol.MAX_PHYSICS_HZ:
		problem = "config.physics_hz must be 1..%d, got %d" % [Protocol.MAX_PHYSICS_HZ, hz]
	elif hz != physics_hz and not attached:
		problem = "config.physics_hz %d differs from this Godot's physics tick rate %d (--rlgodot-physics-hz): launch it with the env's rate" % [hz, physics_hz]
	if problem != "":
		_send_fatal(Protocol.ERROR_BAD_CONFIG, problem)
		return

	var names: PackedStringArray = _batch.state_names
	if not _layout_matches(expect):
		var expected_names: Variant = expect.get("state_names", Array(names))
		var expected_size: Variant = expect.get("action_size", _batch.action_size)
		_send_fatal(Protocol.ERROR_LAYOUT_MISMATCH, "scene %s declares state_names %s and action_size %d; the client expects state_names %s and action_size %s" % [
			_batch.scene_path, Codec.describe(Array(names)), _batch.action_size,
			Codec.describe(expected_names), Codec.describe(expected_size)])
		return

	if policy_path != "":
		var policy: RLPolicy = RLPolicy.open(policy_path)
		var policy_problem: String = policy.error
		if policy_problem == "":
			policy_problem = policy.layout_problem(names, _batch.action_size, "scene " + _batch.scene_path)
			if policy_problem != "":
				policy_problem = "policy file '%s': %s" % [policy_path, policy_problem]
		if policy_problem != "":
			_send_fatal(Protocol.ERROR_BAD_CONFIG, "config.policy: " + policy_problem)
			return
		_policy = policy

	var options: Dictionary = {}
	if config.has("options"):
		var given: Dictionary = config["options"]
		options = given.duplicate(true)
	physics_hz = hz
	_batch.physics_hz = hz
	if viewer != Protocol.VIEWER_NONE:
		_viewer = Viewer.new()
		_viewer.configure(viewer == Protocol.VIEWER_OFFSCREEN, view_size, view_hud)
		_viewer.lagging = factor <= 0.0  # flat out: never wait for a frame to be drawn
		add_child(_viewer)
		_batch.viewer = _viewer
	var option_problem: String = _batch.create_instances(n, false, options)
	if option_problem != "":
		_send_fatal(Protocol.ERROR_BAD_CONFIG, "config.options: " + option_problem)
		return

	var codecs: Array = codecs_value
	var chosen: String = Protocol.CODEC_JSON
	for c: Variant in codecs:
		if typeof(c) == TYPE_STRING and (str(c) == Protocol.CODEC_BINARY or str(c) == Protocol.CODEC_JSON):
			chosen = str(c)
			break
	_codec.binary = chosen == Protocol.CODEC_BINARY
	var camera_problem: String = _camera_problem(n, has_display)
	if camera_problem != "":
		_send_fatal(Protocol.ERROR_BAD_CONFIG, camera_problem)
		return
	var shape: Array = Array(_batch.image_shape())
	if expect.has("image_shape") and not _same_ints(expect["image_shape"], shape):
		_send_fatal(Protocol.ERROR_LAYOUT_MISMATCH, "scene %s has camera image shape %s; the client expects %s" % [
			_batch.scene_path, Codec.describe(shape), Codec.describe(expect["image_shape"])])
		return
	if _viewer == null and not _batch.cameras.is_empty() and not attached:
		# Only the cameras draw, at captures (force_draw()): no main render loop, a tiny window.
		RenderingServer.render_loop_enabled = false
		get_window().size = Vector2i(Viewer.OFFSCREEN_WINDOW_SIDE, Viewer.OFFSCREEN_WINDOW_SIDE)
	_batch.action_repeat = repeat
	_batch.max_episode_steps = max_steps
	_batch.next_step_autoreset = autoreset == Protocol.AUTORESET_NEXT_STEP
	time_scale = scale
	if attached:
		requested_speed = factor  # the game's speed control paces it (RLServer)
	else:
		realtime_factor = factor
		Engine.time_scale = scale
	_server.spin_usec = spin
	_warn_script_errors = script_errors == Protocol.SCRIPT_ERRORS_WARN
	_hello_done = true
	var reply: Dictionary = {
		"type": Protocol.TYPE_HELLO,
		"protocol": Protocol.PROTOCOL_VERSION,
		"server": Protocol.SERVER_NAME,
		"godot_version": _godot_version(),
		"codec": chosen,
		"n_envs": _batch.n_envs,
		"state_names": Array(names),
		"action_size": _batch.action_size,
		"physics_hz": physics_hz,
		"action_repeat": repeat,
		"max_episode_steps": max_steps,
		"autoreset": autoreset,
		"realtime_factor": factor,
		"time_scale": scale,
		"spin_usec": spin,
		"script_errors": script_errors,
		"max_frame_bytes": _server.max_frame_bytes,
		"scene": _batch.scene_path,
		"option_schema": _batch.agent(0).option_schema(),
		"viewer": viewer,
		"view_size": [view_size.x, view_size.y],
		"view_hud": view_hud,
		"policy": policy_path,
		"attached": attached,
		"image_shape": Array(_batch.image_shape()),
		"image_stack": _batch.image_stack(),
	}
	if _send(_codec.encode_message(reply)):
		session_started.emit(reply)


## What keeps the scene's camera sensors from serving this session ("" = nothing): their layout
## in the scene, a headless Godot, the JSON codec, or replies over max_frame_bytes.
func _camera_problem(n: int, has_display: bool) -> String:
	var problem: String = _batch.camera_problem()
	if problem != "" or _batch.cameras.is_empty():
		return problem
	if not has_display:
		return "camera sensors need a rendering Godot: launch it without --headless, on a display (Xvfb will do; rlgodot starts one for an env whose observation has an image)"
	if not _codec.binary:
		return "camera sensors need the binary codec: offer '%s' in the hello's codecs" % Protocol.CODEC_BINARY
	# A step reply may carry every instance's observation twice (its rows and its terminal list).
	var reply_bytes: int = 2 * n * (_batch.image_bytes() + 8 + 4 * _batch.state_size)
	if reply_bytes > _server.max_frame_bytes:
		return "%d instances with camera observations of %d bytes make replies of up to %d bytes, over max_frame_bytes %d: spread them over more processes" % [
			n, _batch.image_bytes(), reply_bytes, _server.max_frame_bytes]
	return ""


## True when `value` (JSON: numbers arrive as floats) is a list of the integers in `ints`.
static func _same_ints(value: Variant, ints: Array) -> bool:
	if typeof(value) != TYPE_ARRAY:
		return false
	var items: Array = value
	if items.size() != ints.size():
		return false
	for k: int in items.size():
		if not Codec.is_integer(items[k]) or Codec.as_int(items[k]) != ints[k]:
			return false
	return true


func _layout_matches(expect: Dictionary) -> bool:
	if expect.has("state_names"):
		var names: Variant = expect["state_names"]
		if typeof(names) != TYPE_ARRAY:
			return false
		var expected_names: Array = names
		if expected_names != Array(_batch.state_names):
			return false
	if expect.has("action_size"):
		var size: Variant = expect["action_size"]
		if not Codec.is_integer(size) or Codec.as_int(size) != _batch.action_size:
			return false
	return true


## Resets instances; true when the reply waits for a camera capture.
func _handle_reset(msg: Dictionary) -> bool:
	if not _require_hello(Protocol.TYPE_RESET):
		return false
	var n_envs: int = _batch.n_envs
	var indices: PackedInt32Array = PackedInt32Array()
	var indices_value: Variant = msg.get("indices")
	if indices_value == null:
		for i: int in n_envs:
			indices.append(i)
	else:
		if typeof(indices_value) != TYPE_ARRAY:
			_send_error(Protocol.ERROR_BAD_MESSAGE, "reset 'indices' must be a list of instance indices")
			return false
		var seen: PackedByteArray = PackedByteArray()
		seen.resize(n_envs)
		var given_indices: Array = indices_value
		for v: Variant in given_indices:
			if not Codec.is_integer(v):
				_send_error(Protocol.ERROR_BAD_MESSAGE, "reset 'indices' holds a non-integer: %s" % Codec.describe(v))
				return false
			var i: int = Codec.as_int(v)
			if i < 0 or i >= n_envs:
				_send_error(Protocol.ERROR_BAD_MESSAGE, "reset index %d is out of range 0..%d" % [i, n_envs - 1])
				return false
			if seen[i] != 0:
				_send_error(Protocol.ERROR_BAD_MESSAGE, "reset index %d appears twice" % i)
				return false
			seen[i] = 1
			indices.append(i)
	var seeds: Array[int] = []
	var seeds_value: Variant = msg.get("seeds")
	if seeds_value != null:
		if typeof(seeds_value) != TYPE_ARRAY:
			_send_error(Protocol.ERROR_BAD_MESSAGE, "reset 'seeds' must be a list of non-negative integers")
			return false
		var given_seeds: Array = seeds_value
		if given_seeds.size() != indices.size():
			_send_error(Protocol.ERROR_BAD_MESSAGE, "reset has %d seeds for %d instances" % [given_seeds.size(), indices.size()])
			return false
		for v: Variant in given_seeds:
			if not Codec.is_integer(v) or Codec.as_float(v) < 0.0 or Codec.as_float(v) > Codec.MAX_INT64_FLOAT:
				_send_error(Protocol.ERROR_BAD_MESSAGE, "reset seed %s is not an integer in 0..2^63-1" % Codec.describe(v))
				return false
		seeds = _codec.exact_seeds(given_seeds)
		if seeds.size() != given_seeds.size():
			_send_error(Protocol.ERROR_BAD_MESSAGE, "reset seeds must be integers in 0..2^63-1")
			return false
	var options_value: Variant = msg.get("options")
	if options_value != null and typeof(options_value) != TYPE_DICTIONARY:
		_send_error(Protocol.ERROR_BAD_MESSAGE, "reset 'options' must be an object")
		return false
	var problem: String = _batch.reset_instances(indices, seeds, options_value)
	if problem != "":
		_send_error(Protocol.ERROR_BAD_MESSAGE, "reset options: " + problem)
		return false
	if _script_errors_fail("reset"):
		return false
	if not _batch.cameras.is_empty():
		_begin_capture(Protocol.KIND_RESET_RESULT, indices)
		return true
	var zeros: PackedByteArray = PackedByteArray()
	zeros.resize(indices.size())
	_send(_codec.encode_result(Protocol.KIND_RESET_RESULT, _batch.states, zeros, indices.size(),
			_batch.state_size, _batch.terminal_index, _batch.terminal_states))
	return false


## Starts the camera capture that completes a reset (`rows`: its indices) or step (all
## instances) reply: prepares the views and pauses the tree for one frame.
func _begin_capture(kind: int, rows: PackedInt32Array) -> void:
	_capture_kind = kind
	_capture_rows = rows
	_capture_indices = rows
	_capture_restarted = false
	_terminal_images = PackedByteArray()
	_batch.prepare_capture(rows)
	_pause(true)


## One paused frame after _begin_capture() (or after a step's restarts): reads the views; a step
## whose episodes ended then restarts them and captures their new first frames in one more
## paused frame (false: still capturing). Otherwise sends the reply, or during a bench goes on
## with it (see _finish_bench_step()), and returns whether requests may be served now.
func _continue_capture() -> bool:
	_batch.read_capture(_capture_indices)
	var restarts: PackedInt32Array = _batch.terminal_index
	if _capture_kind == Protocol.KIND_STEP_RESULT and not _capture_restarted and not restarts.is_empty():
		_terminal_images = _batch.images(restarts)
		_batch.complete_resets()
		_capture_restarted = true
		_capture_indices = restarts
		_batch.prepare_capture(restarts)
		return false
	_pause(false)
	var kind: int = _capture_kind
	_capture_kind = 0
	if _bench.is_running():
		return _finish_bench_step()
	var status: PackedByteArray = _batch.status
	if kind == Protocol.KIND_RESET_RESULT:
		status = PackedByteArray()
		status.resize(_capture_rows.size())
	_send(_codec.encode_result(kind, _batch.states, status, _capture_rows.size(), _batch.state_size,
			_batch.terminal_index, _batch.terminal_states, _batch.images(_capture_rows), _terminal_images))
	return true


## A bench step has finished (its capture too): begins the next, or sends the result after the
## last. True when requests may be served now (the bench is over and its result was sent).
func _finish_bench_step() -> bool:
	if _bench.next():
		_stop_if_client_left("a bench")
		return false
	return not _script_errors_fail("bench") and _send(_codec.encode_message(_bench.result()))


func _all_indices() -> PackedInt32Array:
	var indices: PackedInt32Array = PackedInt32Array()
	indices.resize(_batch.n_envs)
	for i: int in _batch.n_envs:
		indices[i] = i
	return indices


## Starts a capture (see Viewer.prepare()); true when the reply waits for the next frame.
func _handle_render(msg: Dictionary) -> bool:
	if not _require_viewer(Protocol.TYPE_RENDER):
		return false
	var indices: PackedInt32Array = PackedInt32Array()
	var indices_value: Variant = msg.get("indices")
	if indices_value == null:
		for i: int in _batch.n_envs:
			indices.append(i)
	else:
		if typeof(indices_value) != TYPE_ARRAY:
			_send_error(Protocol.ERROR_BAD_MESSAGE, "render 'indices' must be a list of instance indices")
			return false
		var given: Array = indices_value
		for v: Variant in given:
			if not Codec.is_integer(v) or Codec.as_int(v) < 0 or Codec.as_int(v) >= _batch.n_envs:
				_send_error(Protocol.ERROR_BAD_MESSAGE, "render index %s is not an instance index 0..%d" % [
					Codec.describe(v), _batch.n_envs - 1])
				return false
			indices.append(Codec.as_int(v))
	if indices.is_empty():
		var size: Vector2i = _viewer.frame_size()
		_send(_codec.encode_frames(PackedByteArray(), 0, size.x, size.y))
		return false
	_viewer.prepare(indices)
	_render_indices = indices
	_pause(true)
	return true


## One frame after _handle_render(): that frame was paused (simulated nothing) and flushed the
## views' updates; reads the frames and replies.
func _finish_render() -> void:
	var indices: PackedInt32Array = _render_indices
	_render_indices = PackedInt32Array()
	_pause(false)
	var pixels: PackedByteArray = _viewer.read(indices)
	var size: Vector2i = _viewer.frame_size()
	_send(_codec.encode_frames(pixels, indices.size(), size.x, size.y))


func _handle_caption(msg: Dictionary) -> void:
	if not _require_viewer(Protocol.TYPE_CAPTION):
		return
	var value: Variant = msg.get("captions")
	var captions: Array = value if typeof(value) == TYPE_ARRAY else []
	var all_strings: bool = captions.all(func(c: Variant) -> bool: return typeof(c) == TYPE_STRING)
	if captions.size() != _batch.n_envs or not all_strings:
		_send_error(Protocol.ERROR_BAD_MESSAGE, "caption needs 'captions', a list of %d strings (one per instance), got %s" % [
			_batch.n_envs, Codec.describe(value)])
		return
	for i: int in captions.size():
		_viewer.set_caption(i, str(captions[i]))
	_send(_codec.encode_message({"type": Protocol.TYPE_CAPTIONED}))


func _require_viewer(what: String) -> bool:
	if not _require_hello(what):
		return false
	if _viewer != null:
		return true
	_send_error(Protocol.ERROR_NOT_READY, "%s needs a session with a viewer (hello config.viewer 'window' or 'offscreen'; in Python pass render_mode)" % what)
	return false


func _handle_json_step(msg: Dictionary) -> bool:
	if not _require_hello(Protocol.TYPE_STEP):
		return false
	if not msg.has("actions"):
		_send_error(Protocol.ERROR_BAD_MESSAGE, "step needs a field 'actions'")
		return false
	if not _codec.flatten_json_actions(msg["actions"], _batch.n_envs, _batch.action_size):
		_send_error(_codec.error_code, _codec.error_message)
		return false
	return _begin_checked_step(_codec.actions, _codec.action_offset)


func _begin_checked_step(actions: PackedFloat32Array, offset: int) -> bool:
	if not _all_reset(Protocol.TYPE_STEP):
		return false
	_batch.begin_step(actions, offset)
	return true


## A step whose actions the session's policy decides from each instance's current state.
func _handle_act() -> bool:
	if not _require_hello(Protocol.TYPE_ACT):
		return false
	if _policy == null:
		_send_error(Protocol.ERROR_NOT_READY, "act needs a policy: pass hello config.policy, the absolute path of a policy.json (rlgodot export; in Python LaunchSettings(policy=...))")
		return false
	if not _all_reset(Protocol.TYPE_ACT):
		return false
	_batch.begin_policy_step(_policy)
	return true


func _all_reset(what: String) -> bool:
	var missing: PackedInt32Array = _batch.unreset_instances()
	if missing.is_empty():
		return true
	_send_error(Protocol.ERROR_NOT_READY, "%s before the first reset of instance(s) %s: send reset first" % [
		what, str(Array(missing).slice(0, 16))])
	return false


## Once per physics tick of a step: sleeps so that simulated time runs at realtime_factor x wall
## time (no-op when 0), in slices that check the client is still there. Per tick, not per step,
## so a window shows even motion; when late it tells the viewer, which then draws less often.
func _throttle() -> void:
	if realtime_factor <= 0.0:
		return
	var period_usec: int = int(Engine.time_scale / (physics_hz * realtime_factor) * 1.0e6)
	var target: int = _throttle_last_usec + period_usec
	var now: int = Time.get_ticks_usec()
	if _viewer != null:
		_viewer.lagging = now >= target
	if now >= target:
		# Behind: keep the schedule so the next ticks catch up, unless far behind (the client
		# paused), which would end in a burst.
		_throttle_last_usec = target if now - target < MAX_CATCH_UP_USEC else now
		return
	while now < target:
		OS.delay_usec(mini(target - now, PRESENCE_CHECK_USEC))
		_presence_checked_usec = 0
		if _stop_if_client_left("a throttled step"):
			return
		now = Time.get_ticks_usec()
	_throttle_last_usec = target


## During long work: every PRESENCE_CHECK_USEC, checks the client; if it left, logs and quits.
func _stop_if_client_left(work: String) -> bool:
	var now: int = Time.get_ticks_usec()
	if now - _presence_checked_usec < PRESENCE_CHECK_USEC:
		return false
	_presence_checked_usec = now
	if not _server.client_gone():
		return false
	printerr("rlgodot: the client left during %s; stopping it" % work)
	_shutdown(0, "the client left during " + work)
	return true


## After reset / step / bench work: if scripts raised errors since the last such check
## (during this request, or while the hello created the instances), answer script_error
## (true: the reply was sent) or, in warn mode, send the notice and go on (false).
func _script_errors_fail(request: String) -> bool:
	if _errors.count == 0:
		return false
	var errors: PackedStringArray = _errors.take()
	if _warn_script_errors:
		_send(_codec.encode_message({"type": Protocol.TYPE_SCRIPT_ERRORS, "request": request,
				"errors": Array(errors)}))
		return false
	_send_error(Protocol.ERROR_SCRIPT_ERROR, "script error(s) while handling %s: %s" % [request, " | ".join(errors)])
	return true


## Attached, between requests: true when a request is arriving (or the client left). Otherwise
## the frame loop goes on: before the hello each physics frame checks again (until the hello
## deadline); after it, once nothing came for ATTACHED_WAIT_USEC, the tree is paused (nothing
## is simulated) until the request comes, so the window keeps drawing while the trainer learns.
func _await_request() -> bool:
	if _server.wait_for_request(ATTACHED_WAIT_USEC if _hello_done else 0):
		return true
	if not _hello_done and Time.get_ticks_msec() >= _hello_deadline_msec:
		_refuse("no hello within %d s" % Protocol.HELLO_TIMEOUT_SEC)
		return false
	_set_waiting(true)
	return false


func _set_waiting(on: bool) -> void:
	if on == _waiting:
		return
	_waiting = on
	if not _hello_done:
		return
	_pause(on)
	if _viewer != null:
		_viewer.idle = on
	waiting_changed.emit(on)


## Pauses the scene tree (nothing is simulated: the physics servers stop, the instances get no
## callbacks) or resumes it, if this node paused it.
func _pause(on: bool) -> void:
	if on == _paused or not is_inside_tree():
		return
	_paused = on
	get_tree().paused = on


## Closes a client that never completed its hello; the owner may accept the next one.
func _refuse(reason: String) -> void:
	if _closed:
		return
	printerr("rlgodot: dropped a client before its hello: %s" % reason)
	_closed = true
	_server.drop_client()
	set_physics_process(false)
	client_refused.emit(reason)


## Sends a frame; false when the client is gone (after a hello that ends the session; before
## it, the next read notices and the client is refused).
func _send(frame: PackedByteArray) -> bool:
	if _server.send_raw(frame):
		return true
	if _hello_done:
		_shutdown(0, "the client went away")
	return false


func _send_error(code: String, text: String) -> void:
	_send(_codec.encode_error(code, text))


## Replies with an error that ends the session (before a hello: that refuses the client).
func _send_fatal(code: String, text: String) -> void:
	printerr("rlgodot: %s: %s" % [code, text])
	if not _hello_done:
		if _server.send_raw(_codec.encode_error(code, text)):
			_refuse("refused with %s" % code)
		else:
			_refuse("it went away")
		return
	_send(_codec.encode_error(code, text))
	_shutdown(0, "a fatal error: %s" % code)


## Ends the session: closes the connection and tells the owner (session_ended).
func _shutdown(exit_code: int, reason: String) -> void:
	if _closed:
		return
	_closed = true
	_server.drop_client()
	set_physics_process(false)
	_pause(false)
	session_ended.emit(exit_code, reason)


static func _godot_version() -> String:
	var info: Dictionary = Engine.get_version_info()
	return "%d.%d.%d-%s" % [info["major"], info["minor"], info["patch"], info["status"]]
