class_name RLPolicyPlayer
extends Node
## Drives its parent RLAgent with an exported policy: no Python, no rlgodot server. Add it as a
## child of the agent's root node and set `policy_path`; it applies the policy's scene options,
## begins episodes (seeds `seed`, `seed` + 1, ...) and, every action_repeat physics ticks, applies
## policy.decide(get_state()). An episode ends when the scene ends it (RLAgent.end_episode()) or
## after the policy's max_episode_steps decisions; then the next one begins. A watched agent
## (set its `watched` before it enters the tree) gets sync_view() every drawn frame.

## Emitted when an episode ends: the scene's outcome ("time limit" when truncated) and the
## decisions it took.
signal episode_finished(outcome: String, steps: int)

const EnvBatch := preload("res://addons/rlgodot/sim/env_batch.gd")

## The policy.json written by `rlgodot export`.
@export_file("*.json") var policy_path: String = ""
## Episodes to play, then stop (0 = forever).
@export var episodes: int = 0
## Seed of the first episode; episode k uses seed + k.
@export var seed: int = 0

var _policy: RLPolicy = null
var _agent: RLAgent = null
var _episode: int = 0
var _ticks: int = 0
var _steps: int = 0


func _init() -> void:
	# A driver: its decisions come before the scene's own physics work of the frame.
	process_physics_priority = EnvBatch.DRIVER_PHYSICS_PRIORITY


func _ready() -> void:
	set_physics_process(false)
	set_process(false)
	_agent = get_parent() as RLAgent
	if _agent == null:
		push_error("rlgodot: RLPolicyPlayer must be a child of an RLAgent (the env scene's root), not of %s" % get_parent().name)
		return
	if not _agent.is_node_ready():  # a parent is ready after its children
		await _agent.ready
	_policy = RLPolicy.load_file(policy_path)
	if _policy == null:
		return
	var layout: String = _policy.layout_problem(_agent.state_names(), _agent.action_size(), str(_agent.name))
	if layout != "":
		push_error("rlgodot: policy '%s': %s" % [policy_path, layout])
		return
	if _policy.physics_hz != Engine.physics_ticks_per_second:
		push_warning("rlgodot: policy '%s' was trained at %d physics ticks/s but the project runs %d (physics/common/physics_ticks_per_second): the agent acts on other dynamics" % [
			policy_path, _policy.physics_hz, Engine.physics_ticks_per_second])
	var problem: String = _agent.apply_options(_policy.scene_options)
	if problem != "":
		push_error("rlgodot: policy '%s' scene_options: %s" % [policy_path, problem])
		return
	set_physics_process(true)
	set_process(_agent.watched)
	_begin()


func _process(delta: float) -> void:
	_agent.sync_view(delta)


func _physics_process(_delta: float) -> void:
	_ticks += 1
	if _ticks < _policy.action_repeat:
		return
	_ticks = 0
	_agent.episode_ticks += _policy.action_repeat
	_steps += 1
	var state: PackedFloat32Array = _agent.get_state()
	var outcome: String = ""
	if _agent.is_episode_terminated():
		outcome = _agent.episode_outcome() if _agent.episode_outcome() != "" else "ended"
	elif _policy.max_episode_steps > 0 and _steps >= _policy.max_episode_steps:
		_agent.notify_truncated()
		outcome = "time limit"
	if outcome == "":
		_agent.apply_action(_policy.decide(state))
		return
	print("rlgodot policy: episode %d: %s after %d steps" % [_episode, outcome, _steps])
	episode_finished.emit(outcome, _steps)
	if episodes > 0 and _episode >= episodes:
		set_physics_process(false)
		return
	_begin()


## Begins the next episode and applies its first decision.
func _begin() -> void:
	_episode += 1
	_steps = 0
	_ticks = 0
	_agent.begin_episode(seed + _episode - 1)
	_agent.apply_action(_policy.decide(_agent.get_state()))
