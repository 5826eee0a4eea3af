extends Node
## Owns stepping: N instances of the env scene, action repeat, time limit, autoreset and seeds.
##
## The batch logic (create_instances, reset_instances, begin_step, finish_step) knows no I/O.
## Serve mode wraps it with protocol v1 (docs/PROTOCOL.md); play mode with the keyboard.
##
## Timing: this node's _physics_process runs before every other node's (lowest priority). A step
## applies the N actions at a decision point, then `action_repeat` physics ticks run; at the
## start of the frame after the last tick (the next decision point) it reads every state,
## replies, and blocks in recv for the next request.

enum Mode { IDLE, SERVE, PLAY }

const Codec := preload("res://addons/rlgodot/net/codec.gd")
const FrameServer := preload("res://addons/rlgodot/net/frame_server.gd")
const PlayHud := preload("res://addons/rlgodot/sim/play_hud.gd")

const PROTOCOL_VERSION: int = 1
const SERVER_NAME: String = "rlgodot-godot/0.1.0"
const MAX_ENVS: int = 4096
const MAX_SPIN_USEC: int = 10000
const DEFAULT_ACTION_REPEAT: int = 4
const DEFAULT_MAX_EPISODE_STEPS: int = 1000
const STATUS_TERMINATED: int = 1
const STATUS_TRUNCATED: int = 2
const STATUS_RESET_STEP: int = 4
## Distinct random action batches a bench cycles through (generated once, outside the timing).
const BENCH_ACTION_VARIANTS: int = 8

## The env instance scene and its layout (set by configure()).
var scene: PackedScene = null
var scene_path: String = ""
var physics_hz: int = 60
var state_names: PackedStringArray = PackedStringArray()
var state_size: int = 0
var action_size: int = 0

## Session settings (from the hello in serve mode).
var n_envs: int = 0
var action_repeat: int = DEFAULT_ACTION_REPEAT
var max_episode_steps: int = DEFAULT_MAX_EPISODE_STEPS
var next_step_autoreset: bool = false
var realtime_factor: float = 0.0
var base_options: Dictionary = {}

## Results of the last finish_step() / reset_instances(): rows of state_size floats.
var states: PackedFloat32Array = PackedFloat32Array()
var status: PackedByteArray = PackedByteArray()
var terminal_index: PackedInt32Array = PackedInt32Array()
var terminal_states: PackedFloat32Array = PackedFloat32Array()

var _mode: Mode = Mode.IDLE
var _agents: Array[RLAgent] = []
var _seed_streams: Array[RandomNumberGenerator] = []
var _instance_options: Array[Dictionary] = []
var _episode_steps: PackedInt32Array = PackedInt32Array()
var _pending_reset: PackedByteArray = PackedByteArray()
var _ever_reset: PackedByteArray = PackedByteArray()
var _ticks_left: int = 0
var _stepping: bool = false
var _bad_state_reported: bool = false

var _server: FrameServer = null
var _codec: Codec = Codec.new()
var _hello_done: bool = false
var _closed: bool = false
var _throttle_last_usec: int = 0
var _bench_left: int = 0
var _bench_steps: int = 0
var _bench_episodes: int = 0
var _bench_start_usec: int = 0
var _bench_actions: PackedFloat32Array = PackedFloat32Array()

var _hud: PlayHud = null
var _play_stream: RandomNumberGenerator = RandomNumberGenerator.new()
var _play_ticks: int = 0
var _play_episode: int = 0


func _init() -> void:
	process_physics_priority = -1000000


func _physics_process(_delta: float) -> void:
	if _mode == Mode.SERVE:
		_serve_tick()
	elif _mode == Mode.PLAY:
		_play_tick()


func configure(env_scene: PackedScene, env_scene_path: String, hz: int, names: PackedStringArray,
		n_actions: int) -> void:
	scene = env_scene
	scene_path = env_scene_path
	physics_hz = hz
	state_names = names
	state_size = names.size()
	action_size = n_actions


# --- batch logic (no I/O) -------------------------------------------------------------------


## Instances the scene n times as children of this node. Seed streams start from the index.
func create_instances(n: int, human: bool) -> void:
	n_envs = n
	var no_options: Dictionary = base_options.duplicate()
	no_options.make_read_only()
	for i: int in n:
		var agent: RLAgent = scene.instantiate() as RLAgent
		agent.instance_index = i
		agent.n_instances = n
		agent.human_control = human
		add_child(agent)
		_agents.append(agent)
		var stream: RandomNumberGenerator = RandomNumberGenerator.new()
		stream.seed = _derive_stream_seed("default", i)
		_seed_streams.append(stream)
		_instance_options.append(no_options)
	_episode_steps.resize(n)
	_pending_reset.resize(n)
	_ever_reset.resize(n)
	status.resize(n)


## Resets the instances in `indices`. `seeds` is empty (continue each seed stream) or holds one
## seed per index. `new_options` (null or a Dictionary) replaces their options, merged over
## base_options. Fills `states` (in indices order) and `status` (zeros).
func reset_instances(indices: PackedInt32Array, seeds: Array[int], new_options: Variant) -> void:
	var merged: Dictionary = {}
	if new_options != null:
		var given: Dictionary = new_options
		merged = base_options.merged(given, true)
		merged.make_read_only()
	for k: int in indices.size():
		var i: int = indices[k]
		if new_options != null:
			_instance_options[i] = merged
		var episode_seed: int
		if seeds.is_empty():
			episode_seed = _next_seed(i)
		else:
			episode_seed = seeds[k]
			_seed_streams[i].seed = _derive_stream_seed("seed", episode_seed)
		_start_episode(i, episode_seed)
		_ever_reset[i] = 1
	var out: PackedFloat32Array = PackedFloat32Array()
	for i: int in indices:
		out.append_array(_read_state(i))
	states = out
	terminal_index = PackedInt32Array()
	terminal_states = PackedFloat32Array()


## Instances never reset so far (a step needs every instance reset once).
func unreset_instances() -> PackedInt32Array:
	var missing: PackedInt32Array = PackedInt32Array()
	for i: int in n_envs:
		if _ever_reset[i] == 0:
			missing.append(i)
	return missing


## Applies one action per instance: actions[offset + i * action_size ...]. Instances waiting for
## a next_step autoreset ignore theirs. The ticks then run in the following physics frames.
func begin_step(actions: PackedFloat32Array, offset: int) -> void:
	for i: int in n_envs:
		if _pending_reset[i] == 0:
			var start: int = offset + i * action_size
			_agents[i].apply_action(actions.slice(start, start + action_size))
	_ticks_left = action_repeat - 1
	_stepping = true


## True while the ticks of a step are still running.
func is_stepping() -> bool:
	return _stepping and _ticks_left > 0


## Reads every state after the step's ticks, applies the time limit and autoreset, and fills
## `states`, `status`, `terminal_index` and `terminal_states`.
func finish_step() -> void:
	_stepping = false
	var out: PackedFloat32Array = PackedFloat32Array()
	terminal_index = PackedInt32Array()
	terminal_states = PackedFloat32Array()
	for i: int in n_envs:
		if _pending_reset[i] != 0:
			_start_episode(i, _next_seed(i))
			out.append_array(_read_state(i))
			status[i] = STATUS_RESET_STEP
			continue
		var agent: RLAgent = _agents[i]
		var state: PackedFloat32Array = _read_state(i)
		_episode_steps[i] += 1
		var bits: int = 0
		if agent.is_episode_terminated():
			bits = STATUS_TERMINATED
		elif max_episode_steps > 0 and _episode_steps[i] >= max_episode_steps:
			bits = STATUS_TRUNCATED
			agent.notify_truncated()
		status[i] = bits
		if bits == 0 or next_step_autoreset:
			out.append_array(state)
			if bits != 0:
				_pending_reset[i] = 1
		else:
			terminal_index.append(i)
			terminal_states.append_array(state)
			_start_episode(i, _next_seed(i))
			out.append_array(_read_state(i))
	states = out


func _start_episode(i: int, episode_seed: int) -> void:
	_episode_steps[i] = 0
	_pending_reset[i] = 0
	_agents[i].begin_episode(episode_seed, _instance_options[i])


func _read_state(i: int) -> PackedFloat32Array:
	var state: PackedFloat32Array = _agents[i].get_state()
	if state.size() != state_size:
		if not _bad_state_reported:
			_bad_state_reported = true
			push_error("rlgodot: %s get_state() returned %d floats, state_names() has %d; padding/cutting" % [
				scene_path, state.size(), state_size])
		state.resize(state_size)
	return state


## Next episode seed of instance i's stream: a non-negative 63-bit int.
func _next_seed(i: int) -> int:
	var stream: RandomNumberGenerator = _seed_streams[i]
	var high: int = stream.randi() & 0x7FFFFFFF
	return (high << 32) | stream.randi()


## Seed of a seed stream, decorrelated from the episode RNG seeded with the same value.
static func _derive_stream_seed(salt: String, value: int) -> int:
	return ("rlgodot-%s:%d" % [salt, value]).sha256_text().substr(0, 15).hex_to_int()


# --- serve mode -----------------------------------------------------------------------------


func start_serve(server: FrameServer) -> void:
	_server = server
	_codec = Codec.new()
	_server.max_frame_bytes = FrameServer.DEFAULT_MAX_FRAME_BYTES
	_mode = Mode.SERVE


func _serve_tick() -> void:
	if _closed:
		return
	if _ticks_left > 0:
		_ticks_left -= 1
		return
	if _stepping:
		finish_step()
		if _bench_left > 0:
			_continue_bench()
			return
		_throttle()
		if not _send(_codec.encode_result(Codec.KIND_STEP_RESULT, states, status, n_envs, state_size,
				terminal_index, terminal_states)):
			return
	_serve_requests()


## Blocks reading requests until a step has begun or the connection ends.
func _serve_requests() -> void:
	while not _closed:
		var body: PackedByteArray = _server.read_frame()
		if _server.read_status == FrameServer.ReadStatus.CLOSED:
			_shutdown(0)
			return
		if _server.read_status == FrameServer.ReadStatus.TOO_LARGE:
			_send_fatal("frame_too_large", "frame of %d bytes exceeds max_frame_bytes %d; closing" % [
				_server.last_frame_length, _server.max_frame_bytes])
			return
		if _handle_request(body):
			return


## Handles one request body; true when it began a step.
func _handle_request(body: PackedByteArray) -> bool:
	var decoded: Codec.Decoded = _codec.decode(body)
	if decoded == Codec.Decoded.ERROR:
		_send_error(_codec.error_code, _codec.error_message)
		return false
	if decoded == Codec.Decoded.BINARY_STEP:
		if not _hello_done:
			_send_error("not_ready", "step before hello: send hello first")
			return false
		if _codec.rows != n_envs or _codec.width != action_size:
			_send_error("bad_action", "expected %d actions of %d floats, got %d of %d" % [
				n_envs, action_size, _codec.rows, _codec.width])
			return false
		return _begin_checked_step(_codec.actions, _codec.action_offset)
	var msg: Dictionary = _codec.message
	var type: String = msg["type"]
	match type:
		"hello":
			_handle_hello(msg)
		"reset":
			_handle_reset(msg)
		"step":
			return _handle_json_step(msg)
		"bench":
			return _handle_bench(msg)
		"ping":
			if _require_hello("ping"):
				_send(_codec.encode_message({"type": "pong"}))
		"close":
			if _send(_codec.encode_message({"type": "bye"})):
				_shutdown(0)
		_:
			_send_error("unknown_type", "unknown message type '%s' (known: hello, reset, step, bench, ping, close)" % type)
	return false


## Starts an in-engine benchmark: `steps` steps of the whole batch with random actions, no I/O,
## timed by Godot's clock; the reply is sent when the last step has finished.
func _handle_bench(msg: Dictionary) -> bool:
	if not _require_hello("bench"):
		return false
	if not unreset_instances().is_empty():
		_send_error("not_ready", "bench before every instance was reset: send reset first")
		return false
	var steps_value: Variant = msg.get("steps")
	var steps_count: int = 0
	if typeof(steps_value) == TYPE_INT or typeof(steps_value) == TYPE_FLOAT:
		var as_number: float = steps_value
		steps_count = roundi(as_number)
	if steps_count < 1:
		_send_error("bad_message", "bench needs 'steps', an integer >= 1")
		return false
	var rng: RandomNumberGenerator = RandomNumberGenerator.new()
	rng.seed = 0
	var count: int = n_envs * action_size
	_bench_actions.resize(count * BENCH_ACTION_VARIANTS)
	for k: int in _bench_actions.size():
		_bench_actions[k] = rng.randf_range(-1.0, 1.0)
	_bench_steps = steps_count
	_bench_left = _bench_steps
	_bench_episodes = 0
	_bench_start_usec = Time.get_ticks_usec()
	begin_step(_bench_actions, 0)
	return true


## One bench step has finished: count episode ends, then start the next step or reply.
func _continue_bench() -> void:
	for i: int in n_envs:
		if status[i] & (STATUS_TERMINATED | STATUS_TRUNCATED):
			_bench_episodes += 1
	_bench_left -= 1
	if _bench_left > 0:
		var variant: int = (_bench_steps - _bench_left) % BENCH_ACTION_VARIANTS
		begin_step(_bench_actions, variant * n_envs * action_size)
		return
	var seconds: float = (Time.get_ticks_usec() - _bench_start_usec) / 1e6
	if _send(_codec.encode_message({"type": "bench_result", "steps": _bench_steps,
			"n_envs": n_envs, "action_repeat": action_repeat, "seconds": seconds,
			"episodes": _bench_episodes})):
		_serve_requests()


func _require_hello(what: String) -> bool:
	if _hello_done:
		return true
	_send_error("not_ready", "%s before hello: send hello first" % what)
	return false


func _handle_hello(msg: Dictionary) -> void:
	if _hello_done:
		_send_error("bad_message", "hello was already received on this connection")
		return
	var protocol: Variant = msg.get("protocol")
	if not Codec.is_integer(protocol):
		_send_error("bad_message", "hello needs an integer field 'protocol'")
		return
	var protocol_number: int = Codec.as_int(protocol)
	if protocol_number != PROTOCOL_VERSION:
		_send_fatal("protocol_version", "client speaks protocol %d, this server (%s) speaks protocol %d" % [
			protocol_number, SERVER_NAME, PROTOCOL_VERSION])
		return
	var codecs_value: Variant = msg.get("codecs", ["json"])
	var config_value: Variant = msg.get("config", {})
	var expect_value: Variant = msg.get("expect", {})
	if codecs_value == null:
		codecs_value = ["json"]
	if config_value == null:
		config_value = {}
	if expect_value == null:
		expect_value = {}
	if typeof(codecs_value) != TYPE_ARRAY:
		_send_error("bad_message", "hello 'codecs' must be a list of strings")
		return
	if typeof(config_value) != TYPE_DICTIONARY:
		_send_error("bad_message", "hello 'config' must be an object")
		return
	if typeof(expect_value) != TYPE_DICTIONARY:
		_send_error("bad_message", "hello 'expect' must be an object")
		return
	var config: Dictionary = config_value
	var expect: Dictionary = expect_value

	# Types first (bad_message, connection kept) ...
	for key: String in ["n_envs", "action_repeat", "max_episode_steps", "spin_usec"]:
		if config.has(key) and not Codec.is_integer(config[key]):
			_send_error("bad_message", "config.%s must be an integer, got %s" % [key, Codec.describe(config[key])])
			return
	for key: String in ["realtime_factor", "time_scale"]:
		if config.has(key) and not Codec.is_number(config[key]):
			_send_error("bad_message", "config.%s must be a number, got %s" % [key, Codec.describe(config[key])])
			return
	if config.has("autoreset") and typeof(config["autoreset"]) != TYPE_STRING:
		_send_error("bad_message", "config.autoreset must be a string")
		return
	if config.has("options") and typeof(config["options"]) != TYPE_DICTIONARY:
		_send_error("bad_message", "config.options must be an object")
		return
	var n: int = Codec.as_int(config.get("n_envs", 1))
	var repeat: int = Codec.as_int(config.get("action_repeat", DEFAULT_ACTION_REPEAT))
	var max_steps: int = Codec.as_int(config.get("max_episode_steps", DEFAULT_MAX_EPISODE_STEPS))
	var autoreset: String = str(config.get("autoreset", "same_step"))
	var factor: float = Codec.as_float(config.get("realtime_factor", 0.0))
	var scale: float = Codec.as_float(config.get("time_scale", 1.0))
	var spin: int = Codec.as_int(config.get("spin_usec", 0))

	# ... then ranges (bad_config, connection closed).
	var problem: String = ""
	if n < 1 or n > MAX_ENVS:
		problem = "config.n_envs must be 1..%d, got %d" % [MAX_ENVS, n]
	elif repeat < 1:
		problem = "config.action_repeat must be >= 1, got %d" % repeat
	elif max_steps < 0:
		problem = "config.max_episode_steps must be >= 0 (0 = no limit), got %d" % max_steps
	elif autoreset != "same_step" and autoreset != "next_step":
		problem = "config.autoreset must be 'same_step' or 'next_step', got '%s'" % autoreset
	elif not is_finite(factor) or factor < 0.0:
		problem = "config.realtime_factor must be >= 0, got %s" % str(factor)
	elif not is_finite(scale) or scale <= 0.0:
		problem = "config.time_scale must be > 0, got %s" % str(scale)
	elif spin < 0 or spin > MAX_SPIN_USEC:
		problem = "config.spin_usec must be 0..%d, got %d" % [MAX_SPIN_USEC, spin]
	if problem != "":
		_send_fatal("bad_config", problem)
		return

	if not _layout_matches(expect):
		var expected_names: Variant = expect.get("state_names", Array(state_names))
		var expected_size: Variant = expect.get("action_size", action_size)
		_send_fatal("layout_mismatch", "scene %s declares state_names %s and action_size %d; the client expects state_names %s and action_size %s" % [
			scene_path, Codec.describe(Array(state_names)), action_size, Codec.describe(expected_names),
			Codec.describe(expected_size)])
		return

	var codecs: Array = codecs_value
	var chosen: String = "json"
	for c: Variant in codecs:
		if typeof(c) == TYPE_STRING and (str(c) == "binary" or str(c) == "json"):
			chosen = str(c)
			break
	_codec.binary = chosen == "binary"
	action_repeat = repeat
	max_episode_steps = max_steps
	next_step_autoreset = autoreset == "next_step"
	realtime_factor = factor
	Engine.time_scale = scale
	_server.spin_usec = spin
	if config.has("options"):
		var given: Dictionary = config["options"]
		base_options = given.duplicate(true)
	create_instances(n, false)
	_hello_done = true
	_send(_codec.encode_message({
		"type": "hello",
		"protocol": PROTOCOL_VERSION,
		"server": SERVER_NAME,
		"godot_version": _godot_version(),
		"codec": chosen,
		"n_envs": n_envs,
		"state_names": Array(state_names),
		"action_size": action_size,
		"physics_hz": physics_hz,
		"action_repeat": action_repeat,
		"max_episode_steps": max_episode_steps,
		"autoreset": autoreset,
		"realtime_factor": realtime_factor,
		"time_scale": scale,
		"spin_usec": spin,
		"max_frame_bytes": _server.max_frame_bytes,
		"scene": scene_path,
	}))


func _layout_matches(expect: Dictionary) -> bool:
	if expect.has("state_names"):
		var names: Variant = expect["state_names"]
		if typeof(names) != TYPE_ARRAY:
			return false
		var expected_names: Array = names
		if expected_names != Array(state_names):
			return false
	if expect.has("action_size"):
		var size: Variant = expect["action_size"]
		if not Codec.is_integer(size) or Codec.as_int(size) != action_size:
			return false
	return true


func _handle_reset(msg: Dictionary) -> void:
	if not _require_hello("reset"):
		return
	var indices: PackedInt32Array = PackedInt32Array()
	var indices_value: Variant = msg.get("indices")
	if indices_value == null:
		for i: int in n_envs:
			indices.append(i)
	else:
		if typeof(indices_value) != TYPE_ARRAY:
			_send_error("bad_message", "reset 'indices' must be a list of instance indices")
			return
		var seen: PackedByteArray = PackedByteArray()
		seen.resize(n_envs)
		var given_indices: Array = indices_value
		for v: Variant in given_indices:
			if not Codec.is_integer(v):
				_send_error("bad_message", "reset 'indices' holds a non-integer: %s" % Codec.describe(v))
				return
			var i: int = Codec.as_int(v)
			if i < 0 or i >= n_envs:
				_send_error("bad_message", "reset index %d is out of range 0..%d" % [i, n_envs - 1])
				return
			if seen[i] != 0:
				_send_error("bad_message", "reset index %d appears twice" % i)
				return
			seen[i] = 1
			indices.append(i)
	var seeds: Array[int] = []
	var seeds_value: Variant = msg.get("seeds")
	if seeds_value != null:
		if typeof(seeds_value) != TYPE_ARRAY:
			_send_error("bad_message", "reset 'seeds' must be a list of non-negative integers")
			return
		var given_seeds: Array = seeds_value
		if given_seeds.size() != indices.size():
			_send_error("bad_message", "reset has %d seeds for %d instances" % [given_seeds.size(), indices.size()])
			return
		for v: Variant in given_seeds:
			if not Codec.is_integer(v) or Codec.as_float(v) < 0.0 or Codec.as_float(v) > Codec.MAX_INT64_FLOAT:
				_send_error("bad_message", "reset seed %s is not an integer in 0..2^63-1" % Codec.describe(v))
				return
		seeds = _codec.exact_seeds(given_seeds)
		if seeds.size() != given_seeds.size():
			_send_error("bad_message", "reset seeds must be integers in 0..2^63-1")
			return
	var options_value: Variant = msg.get("options")
	if options_value != null and typeof(options_value) != TYPE_DICTIONARY:
		_send_error("bad_message", "reset 'options' must be an object")
		return
	reset_instances(indices, seeds, options_value)
	var zeros: PackedByteArray = PackedByteArray()
	zeros.resize(indices.size())
	_send(_codec.encode_result(Codec.KIND_RESET_RESULT, states, zeros, indices.size(), state_size,
			terminal_index, terminal_states))


func _handle_json_step(msg: Dictionary) -> bool:
	if not _require_hello("step"):
		return false
	if not msg.has("actions"):
		_send_error("bad_message", "step needs a field 'actions'")
		return false
	if not _codec.flatten_json_actions(msg["actions"], n_envs, action_size):
		_send_error(_codec.error_code, _codec.error_message)
		return false
	return _begin_checked_step(_codec.actions, _codec.action_offset)


func _begin_checked_step(actions: PackedFloat32Array, offset: int) -> bool:
	var missing: PackedInt32Array = unreset_instances()
	if not missing.is_empty():
		_send_error("not_ready", "step before the first reset of instance(s) %s: send reset first" % str(
			Array(missing).slice(0, 16)))
		return false
	begin_step(actions, offset)
	return true


## Sleeps so that simulated time runs at realtime_factor x wall time (no-op when 0).
func _throttle() -> void:
	if realtime_factor <= 0.0:
		return
	var period_usec: int = int(action_repeat * Engine.time_scale / (physics_hz * realtime_factor) * 1.0e6)
	var target: int = _throttle_last_usec + period_usec
	var now: int = Time.get_ticks_usec()
	if now < target:
		OS.delay_usec(target - now)
		_throttle_last_usec = target
	else:
		_throttle_last_usec = now


func _send(frame: PackedByteArray) -> bool:
	if _server.send_raw(frame):
		return true
	_shutdown(0)
	return false


func _send_error(code: String, text: String) -> void:
	_send(_codec.encode_error(code, text))


## Replies with an error that ends the session, then closes and quits.
func _send_fatal(code: String, text: String) -> void:
	printerr("rlgodot: %s: %s" % [code, text])
	_send(_codec.encode_error(code, text))
	_shutdown(0)


func _shutdown(exit_code: int) -> void:
	if _closed:
		return
	_closed = true
	_server.close()
	set_physics_process(false)
	get_tree().quit(exit_code)


static func _godot_version() -> String:
	var info: Dictionary = Engine.get_version_info()
	return "%d.%d.%d-%s" % [info["major"], info["minor"], info["patch"], info["status"]]


# --- play mode ------------------------------------------------------------------------------


## One instance driven by the keyboard in real time, with a HUD.
func start_play() -> void:
	_mode = Mode.PLAY
	create_instances(1, true)
	_play_stream.randomize()
	_hud = PlayHud.new()
	_hud.agent = _agents[0]
	add_child(_hud)
	_hud.restart_requested.connect(_on_restart_requested)
	_hud.quit_requested.connect(_on_quit_requested)
	_restart_play()


func _play_tick() -> void:
	var agent: RLAgent = _agents[0]
	agent.get_state()
	_play_ticks += 1
	if agent.is_episode_terminated():
		_hud.flash("Episode %d: goal after %.1f s" % [_play_episode, float(_play_ticks) / physics_hz])
		_restart_play()
	elif _play_ticks >= DEFAULT_MAX_EPISODE_STEPS * DEFAULT_ACTION_REPEAT:
		agent.notify_truncated()
		_hud.flash("Episode %d: time limit" % _play_episode)
		_restart_play()
	agent.apply_action(agent.human_action())


func _restart_play() -> void:
	_play_episode += 1
	_play_ticks = 0
	var episode_seed: int = _play_stream.randi()
	_agents[0].begin_episode(episode_seed, _instance_options[0])
	_hud.episode_line = "episode %d  seed %d" % [_play_episode, episode_seed]


func _on_restart_requested() -> void:
	_hud.flash("Restarted")
	_restart_play()


func _on_quit_requested() -> void:
	get_tree().quit(0)
