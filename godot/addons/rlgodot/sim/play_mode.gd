extends Node
## Play mode: one instance driven by the keyboard (RLAgent.human_action()) in real time, with a
## HUD (PlayHud: R restarts, Esc quits). Episodes end like in serve mode: terminated by the
## scene, or truncated after the default time limit.

const EnvBatch := preload("res://addons/rlgodot/sim/env_batch.gd")
const PlayHud := preload("res://addons/rlgodot/sim/play_hud.gd")
const Protocol := preload("res://addons/rlgodot/net/protocol.gd")

## Physics ticks of the time limit: the protocol's default episode length and action repeat.
const MAX_TICKS: int = Protocol.DEFAULT_MAX_EPISODE_STEPS * Protocol.DEFAULT_ACTION_REPEAT

var physics_hz: int = 60

var _batch: EnvBatch = EnvBatch.new()
var _agent: RLAgent = null
var _hud: PlayHud = PlayHud.new()
var _stream: RandomNumberGenerator = RandomNumberGenerator.new()
var _ticks: int = 0
var _episode: int = 0


func _init() -> void:
	process_physics_priority = EnvBatch.DRIVER_PHYSICS_PRIORITY


func _ready() -> void:
	add_child(_batch)
	_stream.randomize()
	add_child(_hud)
	_hud.restart_requested.connect(_on_restart_requested)
	_hud.quit_requested.connect(_on_quit_requested)


func _physics_process(_delta: float) -> void:
	if _agent == null:
		return
	_agent.get_state()
	_ticks += 1
	if _agent.is_episode_terminated():
		_hud.flash("Episode %d: goal after %.1f s" % [_episode, float(_ticks) / physics_hz])
		_restart()
	elif _ticks >= MAX_TICKS:
		_agent.notify_truncated()
		_hud.flash("Episode %d: time limit" % _episode)
		_restart()
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
	_hud.agent = _agent
	_restart()
	return ""


func _restart() -> void:
	_episode += 1
	_ticks = 0
	var episode_seed: int = _stream.randi()
	_agent.begin_episode(episode_seed)
	_hud.episode_line = "episode %d  seed %d" % [_episode, episode_seed]


func _on_restart_requested() -> void:
	_hud.flash("Restarted")
	_restart()


func _on_quit_requested() -> void:
	get_tree().quit(0)
