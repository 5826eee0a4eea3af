extends Node
## Play mode: one instance driven by the keyboard (RLAgent.human_action()) in real time, shown
## by a Viewer in the window with its HUD (R restarts, Esc quits). It plays the env as an agent
## does: the keyboard is read at each decision point (every `action_repeat` ticks) and held in
## between, and episodes end like in serve mode: terminated by the scene (its outcome shown), or
## truncated at the time limit.
##
## With an opponent (an RLPolicy) a second instance runs beside the first, on the same seed,
## driven by the policy at the same decision points. Both restart together when the person's
## episode ends; an opponent whose episode ended first holds a zero action until then.

const EnvBatch := preload("res://addons/rlgodot/sim/env_batch.gd")
const Protocol := preload("res://addons/rlgodot/net/protocol.gd")
const Viewer := preload("res://addons/rlgodot/sim/viewer.gd")

const KEY_HELP: String = "R restart   Esc quit"
const PERSON: int = 0
const OPPONENT: int = 1

var physics_hz: int = 60
## Physics ticks per decision (the env's action repeat).
var action_repeat: int = Protocol.DEFAULT_ACTION_REPEAT
## Decisions per episode before the time limit (0 = none).
var max_episode_steps: int = Protocol.DEFAULT_MAX_EPISODE_STEPS

var _batch: EnvBatch = EnvBatch.new()
var _agents: Array[RLAgent] = []
var _opponent: RLPolicy = null
var _opponent_name: String = ""
var _opponent_done: bool = false
var _idle: PackedFloat32Array = PackedFloat32Array()
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
		for i: int in _agents.size():
			_viewer.flash(i, "Restarted")
		_restart()
	elif key.physical_keycode == KEY_ESCAPE:
		get_tree().quit(0)


func _physics_process(_delta: float) -> void:
	if _agents.is_empty():
		return
	for agent: RLAgent in _agents:
		agent.get_state()
	_ticks += 1
	var seconds: float = float(_ticks) / physics_hz
	var person: RLAgent = _agents[PERSON]
	if person.is_episode_terminated():
		var outcome: String = person.episode_outcome()
		_announce(PERSON, "Episode %d: %s after %.1f s" % [_episode, outcome if outcome != "" else "ended", seconds])
		_restart()
		return
	if max_episode_steps > 0 and _ticks >= max_episode_steps * action_repeat:
		for agent: RLAgent in _agents:
			agent.notify_truncated()
		_announce(PERSON, "Episode %d: time limit (%.1f s)" % [_episode, seconds])
		_restart()
		return
	if _opponent != null and not _opponent_done and _agents[OPPONENT].is_episode_terminated():
		_opponent_done = true
		var agent_outcome: String = _agents[OPPONENT].episode_outcome()
		_announce(OPPONENT, "agent episode %d: %s after %.1f s" % [
			_episode, agent_outcome if agent_outcome != "" else "ended", seconds])
	if _ticks % action_repeat == 0:
		_decide()


## Plays `env_scene` with the scene `options`, against `opponent` when it is not null; add the
## node to the tree first. Returns "" or what is wrong with the options.
func start(env_scene: PackedScene, env_scene_path: String, hz: int, names: PackedStringArray,
		n_actions: int, options: Dictionary, opponent: RLPolicy, opponent_name: String) -> String:
	physics_hz = hz
	_batch.physics_hz = hz
	_opponent = opponent
	_opponent_name = opponent_name
	_idle.resize(n_actions)
	_batch.configure(env_scene, env_scene_path, names, n_actions)
	var problem: String = _batch.create_instances(1 if opponent == null else 2, true, options)
	if problem != "":
		return problem
	for i: int in _batch.n_envs:
		_agents.append(_batch.agent(i))
	_restart()
	return ""


## A decision point: the keyboard's action for the person, the policy's for the opponent; each
## holds until the next decision point.
func _decide() -> void:
	var person: RLAgent = _agents[PERSON]
	person.episode_ticks = _ticks
	person.apply_action(person.human_action())
	if _opponent == null:
		return
	var opponent: RLAgent = _agents[OPPONENT]
	opponent.episode_ticks = _ticks
	opponent.apply_action(_idle if _opponent_done else _opponent.decide(opponent.get_state()))


## Shows how an episode ended on instance i's HUD and in the log (stdout).
func _announce(i: int, text: String) -> void:
	_viewer.flash(i, text)
	print("rlgodot play: " + text)


func _restart() -> void:
	_episode += 1
	_ticks = 0
	_opponent_done = false
	var episode_seed: int = _stream.randi()
	for agent: RLAgent in _agents:
		agent.begin_episode(episode_seed)
	var person: RLAgent = _agents[PERSON]
	var episode: String = "episode %d  seed %d" % [_episode, episode_seed]
	if _opponent == null:
		_viewer.set_caption(PERSON, "%s\n%s   %s" % [episode, person.key_help(), KEY_HELP])
	else:
		_viewer.set_caption(PERSON, "you   %s\n%s   %s" % [episode, person.key_help(), KEY_HELP])
		_viewer.set_caption(OPPONENT, "agent (%s)   %s" % [_opponent_name, episode])
	_decide()
