extends Node
## Main scene of an assembled project: parses the command line after `--` and starts serve mode
## (`--rlgodot-port`: an RLServer in launched mode, the same serving code as an attached game's)
## or play mode (`--rlgodot-play`). See docs/GODOT_ADDON.md.
##
## Exit codes: 0 the session ended, 2 bad command line or scene, 3 no client connected in time,
## 4 the port could not be bound, 5 the session's client stalled in the middle of a frame.

const PlayMode := preload("res://addons/rlgodot/sim/play_mode.gd")
const Protocol := preload("res://addons/rlgodot/net/protocol.gd")
const SceneLayout := preload("res://addons/rlgodot/sim/scene_layout.gd")

const EXIT_BAD_ARGS: int = 2
const DEFAULT_PHYSICS_HZ: int = 60
const DEFAULT_ACCEPT_TIMEOUT: float = 60.0
const FLAG_ARGS: PackedStringArray = ["--rlgodot-play"]
const VALUE_ARGS: PackedStringArray = [
	"--rlgodot-scene", "--rlgodot-port", "--rlgodot-physics-hz", "--rlgodot-accept-timeout",
	"--rlgodot-options", "--rlgodot-action-repeat", "--rlgodot-max-episode-steps",
	"--rlgodot-opponent"]


func _ready() -> void:
	OS.low_processor_usage_mode = false
	var args: Dictionary = {}
	var problem: String = _parse_args(OS.get_cmdline_user_args(), args)
	if problem != "":
		_fail(EXIT_BAD_ARGS, problem)
		return

	var hz: int = DEFAULT_PHYSICS_HZ
	if args.has("--rlgodot-physics-hz"):
		var hz_text: String = args["--rlgodot-physics-hz"]
		if not hz_text.is_valid_int() or hz_text.to_int() < 1 or hz_text.to_int() > Protocol.MAX_PHYSICS_HZ:
			_fail(EXIT_BAD_ARGS, "--rlgodot-physics-hz must be an integer 1..%d, got '%s'" % [
					Protocol.MAX_PHYSICS_HZ, hz_text])
			return
		hz = hz_text.to_int()
	Engine.physics_ticks_per_second = hz

	if not args.has("--rlgodot-scene"):
		_fail(EXIT_BAD_ARGS, "--rlgodot-scene=res://envs/NAME/SCENE.tscn is required")
		return
	var scene_path: String = args["--rlgodot-scene"]
	if not ResourceLoader.exists(scene_path, "PackedScene"):
		_fail(EXIT_BAD_ARGS, "scene '%s' not found (plugin scenes live under res://envs/NAME/)" % scene_path)
		return
	var scene: PackedScene = ResourceLoader.load(scene_path, "PackedScene") as PackedScene
	if scene == null:
		_fail(EXIT_BAD_ARGS, "'%s' is not an instantiable scene" % scene_path)
		return
	var layout: SceneLayout = SceneLayout.new(scene)
	if layout.problem != "":
		_fail(EXIT_BAD_ARGS, layout.problem)
		return
	var names: PackedStringArray = layout.state_names
	var n_actions: int = layout.action_size

	if args.has("--rlgodot-play"):
		var options_text: String = args.get("--rlgodot-options", "{}")
		var parsed: Variant = JSON.parse_string(options_text)
		if typeof(parsed) != TYPE_DICTIONARY:
			_fail(EXIT_BAD_ARGS, "--rlgodot-options must be a JSON object, got '%s'" % options_text)
			return
		var options: Dictionary = parsed
		var play: PlayMode = PlayMode.new()
		play.name = "PlayMode"
		var repeat: int = _int_arg(args, "--rlgodot-action-repeat", play.action_repeat, 1,
				Protocol.MAX_ACTION_REPEAT)
		var max_steps: int = _int_arg(args, "--rlgodot-max-episode-steps", play.max_episode_steps,
				0, 1000000000)
		if repeat < 0 or max_steps < 0:
			return
		play.action_repeat = repeat
		play.max_episode_steps = max_steps
		var opponent: RLPolicy = null
		var opponent_path: String = args.get("--rlgodot-opponent", "")
		if opponent_path != "":
			opponent = RLPolicy.open(opponent_path)
			var opponent_problem: String = opponent.error
			if opponent_problem == "":
				opponent_problem = opponent.layout_problem(names, n_actions, "scene " + scene_path)
				if opponent_problem != "":
					opponent_problem = "policy file '%s': %s" % [opponent_path, opponent_problem]
			if opponent_problem != "":
				_fail(EXIT_BAD_ARGS, "--rlgodot-opponent: " + opponent_problem)
				return
		add_child(play)
		var option_problem: String = play.start(scene, scene_path, hz, names, n_actions, options,
				opponent, opponent_path.get_file())
		if option_problem != "":
			_fail(EXIT_BAD_ARGS, "--rlgodot-options: " + option_problem)
		return
	for play_arg: String in ["--rlgodot-options", "--rlgodot-opponent"]:
		if args.has(play_arg):
			_fail(EXIT_BAD_ARGS, "%s is for play mode (--rlgodot-play); serve mode takes its settings at hello" % play_arg)
			return
	if not args.has("--rlgodot-port"):
		_fail(EXIT_BAD_ARGS, "pass --rlgodot-port=P (serve mode) or --rlgodot-play (play mode)")
		return
	var port_text: String = args["--rlgodot-port"]
	if not port_text.is_valid_int() or port_text.to_int() < 0 or port_text.to_int() > 65535:
		_fail(EXIT_BAD_ARGS, "--rlgodot-port must be 0..65535, got '%s'" % port_text)
		return
	var timeout: float = DEFAULT_ACCEPT_TIMEOUT
	if args.has("--rlgodot-accept-timeout"):
		var timeout_text: String = args["--rlgodot-accept-timeout"]
		if not timeout_text.is_valid_float() or timeout_text.to_float() <= 0.0:
			_fail(EXIT_BAD_ARGS, "--rlgodot-accept-timeout must be > 0 seconds, got '%s'" % timeout_text)
			return
		timeout = timeout_text.to_float()

	var server: RLServer = RLServer.new()
	server.name = "RLServer"
	server.serve_launched(layout, scene, hz, port_text.to_int(),
			OS.get_environment(Protocol.TOKEN_ENV), timeout)
	server.stopped.connect(_on_server_stopped)
	add_child(server)


## Fills `out` with the --rlgodot-* arguments (flags map to ""); returns a problem or "".
static func _parse_args(user_args: PackedStringArray, out: Dictionary) -> String:
	for arg: String in user_args:
		if not arg.begins_with("--rlgodot-"):
			continue
		var eq: int = arg.find("=")
		var key: String = arg if eq < 0 else arg.substr(0, eq)
		if key in FLAG_ARGS:
			if eq >= 0:
				return "%s takes no value" % key
			out[key] = ""
		elif key in VALUE_ARGS:
			if eq < 0:
				return "%s needs a value: %s=VALUE" % [key, key]
			out[key] = arg.substr(eq + 1)
		else:
			return "unknown argument %s (known: %s)" % [key, ", ".join(FLAG_ARGS + VALUE_ARGS)]
	return ""


## The integer value of `name` (or `default` without it), within low..high; -1 after _fail().
func _int_arg(args: Dictionary, name: String, default: int, low: int, high: int) -> int:
	if not args.has(name):
		return default
	var text: String = args[name]
	if not text.is_valid_int() or text.to_int() < low or text.to_int() > high:
		_fail(EXIT_BAD_ARGS, "%s must be an integer %d..%d, got '%s'" % [name, low, high, text])
		return -1
	return text.to_int()


## Serving is over: quit with its exit code (RLServer printed why).
func _on_server_stopped(exit_code: int) -> void:
	get_tree().quit(exit_code)


func _fail(exit_code: int, message: String) -> void:
	printerr("rlgodot: " + message)
	get_tree().quit(exit_code)
