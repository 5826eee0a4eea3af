extends Node
## Play mode: one instance driven by the keyboard (RLAgent.human_action()) in real time, shown
## by a Viewer in the window with its HUD (R restarts, Esc quits). It plays the env as an agent does: the keyboard is read
## at each decision point (every `action_repeat` ticks) and held in between, and episodes end like
## in serve mode: terminated by the scene (its outcome shown), or truncated at the time limit.

const EnvBatch := preload("res://addons/rlgodot/sim/env_batch.gd")
const Protocol := preload("res://addons/rlgodot/net/protocol.gd")
const Viewer := preload("res://addons/rlgodot/sim/viewer.gd")

const KEY_HELP: String = "R restart   Esc quit"

var physics_hz: int = 60
## Physics ticks per decision (the env's action repeat).
var action_repeat: int = Protocol.DEFAULT_ACTION_REPEAT
## Decisions per episode before the time limit (0 = none).
var max_episode_steps: int = Protocol.DEFAULT_MAX_EPISODE_STEPS

var _batch: EnvBatch = EnvBatch.new()
var _agent: RLAgent = null
var _viewer: Viewer = Viewer.new()
var _stream: RandomNumberGenerator = RandomNumberGenerator.new()
var _ticks: int = 0
var _episode: int = 0


func _init() -> void:
	process_physics_priority = EnvBatch.DRIVER_PHYSICS_PRIORITY


func _ready() -> void:
	add_child(_batch)
	_stream.randomize()
	add_child(_viewer)
	_batch.viewer = _viewer


func _unhandled_key_input(event: InputEvent) -> void:
	var key: InputEventKey = event as InputEventKey
	if key == null or not key.pressed or key.echo:
		return
	if key.physical_keycode == KEY_R:
		_viewer.flash(0, "Restarted")
		_restart()
	elif key.physical_keycode == KEY_ESCAPE:
		get_tree().quit(0)


func _physics_process(_delta: float) -> void:
	if _agent == null:
		return
	_agent.get_state()
	_ticks += 1
	var seconds: float = float(_ticks) / physics_hz
	if _agent.is_episode_terminated():
		var outcome: String = _agent.episode_outcome()
		_announce("Episode %d: %s after %.1f s" % [_episode, outcome if outcome != "" else "ended", seconds])
		_restart()
	elif max_episode_steps > 0 and _ticks >= max_episode_steps * action_repeat:
		_agent.notify_truncated()
		_announce("Episode %d: time limit (%.1f s)" % [_episode, seconds])
		_restart()
	if _ticks % action_repeat == 0:  # a decision point: read the keyboard, hold it until the next
		_agent.episode_ticks = _ticks
		_agent.apply_action(_agent.human_action())


## Plays `env_scene` with the scene `options`; add the node to the tree first. Returns "" or
## what is wrong with the options.
func start(env_scene: PackedScene, env_scene_path: String, hz: int, names: PackedStringArray,
		n_actions: int, options: Dictionary) -> String:
	physics_hz = hz
	_batch.configure(env_scene, env_scene_path, names, n_actions)
	var problem: String = _batch.create_instances(1, true, options)
	if problem != "":
		return problem
	_agent = _batch.agent(0)
	_restart()
	return ""


## Shows how an episode ended on the HUD and in the log (stdout).
func _announce(text: String) -> void:
	_viewer.flash(0, text)
	print("rlgodot play: " + text)


func _restart() -> void:
	_episode += 1
	_ticks = 0
	var episode_seed: int = _stream.randi()
	_agent.begin_episode(episode_seed)
	_viewer.set_caption(0, "episode %d  seed %d\n%s   %s" % [_episode, episode_seed, _agent.key_help(), KEY_HELP])
