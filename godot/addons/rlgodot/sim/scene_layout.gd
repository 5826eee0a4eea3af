extends RefCounted
## The layout an env instance scene declares (state names, action size), read from one probe
## instance, or what is wrong with the scene. Serve mode (RLServer) and play mode read it once,
## before they create any instance: `SceneLayout.new(scene)`, then check `problem`.

## The scene's res:// path (for messages and the hello reply).
var scene_path: String = ""
## One name per raw state float (RLAgent.state_names()).
var state_names: PackedStringArray = PackedStringArray()
## Floats per action (RLAgent.action_size()).
var action_size: int = 0
## "" or why the scene cannot be served (then state_names and action_size are unset).
var problem: String = ""


func _init(scene: PackedScene) -> void:
	problem = _read(scene)


## Instances `scene` once, asks its RLAgent root for the layout and frees it.
func _read(scene: PackedScene) -> String:
	if scene == null:
		return "no env scene: set env_scene to a scene whose root script extends RLAgent"
	scene_path = scene.resource_path
	if not scene.can_instantiate():
		return "'%s' is not an instantiable scene" % scene_path
	var probe: Node = scene.instantiate()
	var agent: RLAgent = probe as RLAgent
	if agent == null:
		probe.free()
		return "the root node of '%s' must have a script that extends RLAgent" % scene_path
	var names: PackedStringArray = agent.state_names()
	var n_actions: int = agent.action_size()
	probe.free()
	if names.is_empty() or n_actions < 0:
		return "'%s' declares %d state names and action_size %d: need >= 1 and >= 0" % [
			scene_path, names.size(), n_actions]
	state_names = names
	action_size = n_actions
	return ""
