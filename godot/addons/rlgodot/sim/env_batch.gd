extends Node
## Batch stepping, no I/O: N instances of the env scene (its children), their seed streams and
## scene options, reset, action repeat, the time limit, same-step / next-step autoreset, and the
## state / status / terminal buffers of the last reset or step.
##
## A driver (the protocol server, the bench, play mode) calls begin_step(), then run_tick() at
## the start of every physics frame until it returns false, then finish_step(): the action holds
## for `action_repeat` ticks, and the states are read at the next decision point.

const CameraFrames := preload("res://addons/rlgodot/sensors/camera_frames.gd")
const Protocol := preload("res://addons/rlgodot/net/protocol.gd")
const Viewer := preload("res://addons/rlgodot/sim/viewer.gd")

## process_physics_priority of a driver: its _physics_process runs before every scene node's.
const DRIVER_PHYSICS_PRIORITY: int = -1000000

## The env instance scene and its layout (set by configure()).
var scene: PackedScene = null
var scene_path: String = ""
var state_names: PackedStringArray = PackedStringArray()
var state_size: int = 0
var action_size: int = 0

## Session settings (from the hello in serve mode).
var n_envs: int = 0
## Physics ticks per simulated second (given to each instance as RLAgent.physics_hz).
var physics_hz: int = 60
var action_repeat: int = Protocol.DEFAULT_ACTION_REPEAT
var max_episode_steps: int = Protocol.DEFAULT_MAX_EPISODE_STEPS
var next_step_autoreset: bool = false
## Shows the instances when set (before create_instances()); null = unwatched (training).
var viewer: Viewer = null

## Results of the last finish_step() / reset_instances(): rows of state_size floats.
var states: PackedFloat32Array = PackedFloat32Array()
var status: PackedByteArray = PackedByteArray()
var terminal_index: PackedInt32Array = PackedInt32Array()
var terminal_states: PackedFloat32Array = PackedFloat32Array()
## The state last reported for every instance (n_envs rows, after autoreset): what a policy
## step (begin_policy_step()) decides from.
var current_states: PackedFloat32Array = PackedFloat32Array()
## Each instance's camera sensor, in instance order; empty when the scene has none (see
## camera_problem()).
var cameras: Array[CameraFrames] = []

var _agents: Array[RLAgent] = []
var _seed_streams: Array[RandomNumberGenerator] = []
## Every scene option's value for the session: the hello's options over the unset values.
var _base_options: Dictionary = {}
var _episode_steps: PackedInt32Array = PackedInt32Array()
var _pending_reset: PackedByteArray = PackedByteArray()
var _ever_reset: PackedByteArray = PackedByteArray()
var _ticks_left: int = 0
var _stepping: bool = false
var _bad_state_reported: bool = false
var _policy_actions: PackedFloat32Array = PackedFloat32Array()
## What is wrong with the scene's camera sensors ("" = nothing), found by create_instances().
var _camera_problem: String = ""
## The sensor nodes (CameraSensor2D or CameraSensor3D) of `cameras`, in the same order.
var _camera_nodes: Array[Node] = []


## Seed of a seed stream, decorrelated from the episode RNG seeded with the same value.
static func _derive_stream_seed(salt: String, value: int) -> int:
	return ("rlgodot-%s:%d" % [salt, value]).sha256_text().substr(0, 15).hex_to_int()


func _init() -> void:
	name = "Instances"


func configure(env_scene: PackedScene, env_scene_path: String, names: PackedStringArray,
		n_actions: int) -> void:
	scene = env_scene
	scene_path = env_scene_path
	state_names = names
	state_size = names.size()
	action_size = n_actions


## Instances the scene n times, as children of this node or hosted by the viewer, and gives each
## the scene `options` (apply_options()); seed streams start from the index. `human`: instance 0
## reads the keyboard (play mode). Returns "" or what is wrong with the options (then no
## instance is kept).
func create_instances(n: int, human: bool, options: Dictionary) -> String:
	for i: int in n:
		var instance: RLAgent = scene.instantiate() as RLAgent
		instance.instance_index = i
		instance.n_instances = n
		instance.physics_hz = physics_hz
		instance.human_control = human and i == 0
		var sensors: Array[Node] = []
		_find_cameras(instance, sensors)
		if sensors.size() > 1:
			_camera_problem = "%s has %d camera sensors; an instance may have one" % [scene_path, sensors.size()]
		elif i > 0 and (sensors.size() == 1) != (not _camera_nodes.is_empty()) and _camera_problem == "":
			_camera_problem = "%s: instance %d has %d camera sensor(s), instance 0 has %d" % [
				scene_path, i, sensors.size(), 1 - sensors.size()]
		if sensors.size() == 1:
			_camera_nodes.append(sensors[0])
			instance.watched = true  # the camera sees it: its visuals must exist
		var problem: String = instance.apply_options(options)
		if problem != "":
			instance.free()
			return problem
		if i == 0:
			_base_options = instance.option_values()
		if viewer != null:
			viewer.host(instance)
		else:
			add_child(instance)
		_agents.append(instance)
		var stream: RandomNumberGenerator = RandomNumberGenerator.new()
		stream.seed = _derive_stream_seed("default", i)
		_seed_streams.append(stream)
	n_envs = n
	if _camera_problem == "":
		for sensor: Node in _camera_nodes:
			cameras.append(_frames_of(sensor))
		if not cameras.is_empty() and cameras[0].problem != "":
			_camera_problem = "%s: %s" % [scene_path, cameras[0].problem]
	_episode_steps.resize(n)
	_pending_reset.resize(n)
	_ever_reset.resize(n)
	status.resize(n)
	current_states.resize(n * state_size)
	_policy_actions.resize(n * action_size)
	return ""


## Resets the instances in `indices`. `seeds` is empty (continue each seed stream) or holds one
## seed per index. `new_options` (null or a Dictionary) replaces their options, merged over the
## session's. Fills `states` (in indices order) and `status` (zeros). Returns "" or what is
## wrong with the options (then nothing was reset).
func reset_instances(indices: PackedInt32Array, seeds: Array[int], new_options: Variant) -> String:
	if new_options != null and not indices.is_empty():
		var given: Dictionary = new_options
		# Checked on one instance first (all share the script; apply_options() sets nothing on a
		# refusal), so a refused reset changes nothing.
		var problem: String = _agents[indices[0]].apply_options(given)
		if problem != "":
			return problem
		for i: int in indices:
			var agent_i: RLAgent = _agents[i]
			for option: String in _base_options:
				if not given.has(option):
					agent_i.set(option, _base_options[option])
			agent_i.apply_options(given)
	for k: int in indices.size():
		var i: int = indices[k]
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
		var state: PackedFloat32Array = _read_state(i)
		out.append_array(state)
		for j: int in state_size:
			current_states[i * state_size + j] = state[j]
	states = out
	terminal_index = PackedInt32Array()
	terminal_states = PackedFloat32Array()
	return ""


## What is wrong with the scene's camera sensors ("" = nothing): more than one in an instance,
## some instances with one and others without, or a sensor's own problem (CameraFrames.problem).
## Valid after create_instances().
func camera_problem() -> String:
	return _camera_problem


## The image shape of one observation, [height, width, channels x stack] ([] without cameras).
func image_shape() -> PackedInt32Array:
	if cameras.is_empty():
		return PackedInt32Array()
	var camera: CameraFrames = cameras[0]
	return PackedInt32Array([camera.height, camera.width, camera.channels() * camera.stack])


## Frames per camera observation (1 without cameras).
func image_stack() -> int:
	return 1 if cameras.is_empty() else cameras[0].stack


## Bytes of one instance's camera observation (0 without cameras).
func image_bytes() -> int:
	return 0 if cameras.is_empty() else cameras[0].observation_bytes()


## First half of a capture of the cameras of `indices`: brings their instances' visuals up to the
## current state (RLAgent.update_view()) and marks the cameras to be drawn. The driver then lets one
## frame pass with the tree paused (nothing is simulated; deferred redraws and transform updates
## are flushed) and calls read_capture().
func prepare_capture(indices: PackedInt32Array) -> void:
	for i: int in indices:
		_agents[i].update_view()
		cameras[i].prepare()


## Second half of a capture, one frame after prepare_capture(): draws the marked views and pushes
## each camera's new frame onto its stack.
func read_capture(indices: PackedInt32Array) -> void:
	RenderingServer.force_draw(false)
	for i: int in indices:
		cameras[i].read()


## The camera observations of `indices`, one after the other (image_bytes() each).
func images(indices: PackedInt32Array) -> PackedByteArray:
	var out: PackedByteArray = PackedByteArray()
	for i: int in indices:
		out.append_array(cameras[i].observation)
	return out


## Instances never reset so far (a step needs every instance reset once).
func unreset_instances() -> PackedInt32Array:
	var missing: PackedInt32Array = PackedInt32Array()
	for i: int in n_envs:
		if _ever_reset[i] == 0:
			missing.append(i)
	return missing


## The agent of instance i.
func agent(i: int) -> RLAgent:
	return _agents[i]


## Applies one action per instance: actions[offset + i * action_size ...]. Instances waiting for
## a next_step autoreset ignore theirs. The ticks then run in the following physics frames.
func begin_step(actions: PackedFloat32Array, offset: int) -> void:
	for i: int in n_envs:
		if _pending_reset[i] == 0:
			var start: int = offset + i * action_size
			_agents[i].apply_action(actions.slice(start, start + action_size))
	_ticks_left = action_repeat - 1
	_stepping = true


## begin_step() with the actions `policy` decides for every instance from its current state.
func begin_policy_step(policy: RLPolicy) -> void:
	for i: int in n_envs:
		var action: PackedFloat32Array = policy.decide(current_states.slice(i * state_size, (i + 1) * state_size))
		for a: int in action_size:
			_policy_actions[i * action_size + a] = action[a]
	begin_step(_policy_actions, 0)


## Call at the start of every physics frame: true while the ticks of the begun step still run
## (this frame is one of them); false at a decision point.
func run_tick() -> bool:
	if _ticks_left > 0:
		_ticks_left -= 1
		return true
	return false


## True from begin_step() until finish_step().
func is_stepping() -> bool:
	return _stepping


## Reads every state after the step's ticks, applies the time limit and autoreset, and fills
## `states`, `status`, `terminal_index` and `terminal_states`. With `defer_resets` (the
## cameras are captured before the ended episodes restart) a same_step autoreset waits for
## complete_resets(): until then the rows of the ended instances hold their terminal states.
func finish_step(defer_resets: bool = false) -> void:
	_stepping = false
	var out: PackedFloat32Array = PackedFloat32Array()
	terminal_index = PackedInt32Array()
	terminal_states = PackedFloat32Array()
	for i: int in n_envs:
		if _pending_reset[i] != 0:
			_start_episode(i, _next_seed(i))
			out.append_array(_read_state(i))
			status[i] = Protocol.STATUS_RESET_STEP
			continue
		var agent_i: RLAgent = _agents[i]
		agent_i.episode_ticks += action_repeat
		var state: PackedFloat32Array = _read_state(i)
		_episode_steps[i] += 1
		var bits: int = 0
		if agent_i.is_episode_terminated():
			bits = Protocol.STATUS_TERMINATED
		elif max_episode_steps > 0 and _episode_steps[i] >= max_episode_steps:
			bits = Protocol.STATUS_TRUNCATED
			agent_i.notify_truncated()
		status[i] = bits
		if bits == 0 or next_step_autoreset:
			out.append_array(state)
			if bits != 0:
				_pending_reset[i] = 1
		else:
			terminal_index.append(i)
			terminal_states.append_array(state)
			if defer_resets:
				out.append_array(state)
			else:
				_start_episode(i, _next_seed(i))
				out.append_array(_read_state(i))
	states = out
	current_states = out


## After finish_step(true): starts the new episodes of the instances in `terminal_index` and puts
## their first states into their rows of `states`.
func complete_resets() -> void:
	for i: int in terminal_index:
		_start_episode(i, _next_seed(i))
		var state: PackedFloat32Array = _read_state(i)
		for j: int in state_size:
			states[i * state_size + j] = state[j]
	current_states = states


func _start_episode(i: int, episode_seed: int) -> void:
	_episode_steps[i] = 0
	_pending_reset[i] = 0
	_agents[i].begin_episode(episode_seed)
	if not cameras.is_empty():
		cameras[i].restart()


## Collects the camera sensors (CameraSensor2D, CameraSensor3D) in the subtree of `node` (not
## yet in the tree) into `found`.
static func _find_cameras(node: Node, found: Array[Node]) -> void:
	if node is CameraSensor2D or node is CameraSensor3D:
		found.append(node)
	for child: Node in node.get_children():
		_find_cameras(child, found)


## The capture state of a camera sensor found by _find_cameras(), once it is ready.
static func _frames_of(sensor: Node) -> CameraFrames:
	var sensor_2d: CameraSensor2D = sensor as CameraSensor2D
	if sensor_2d != null:
		return sensor_2d.frames
	return (sensor as CameraSensor3D).frames


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
