class_name RLAgent
extends Node
## Base class of every env instance scene: the root node of the scene extends it.
##
## The batch instances the scene N times and drives it: per step it calls apply_action() once
## per instance, lets `action_repeat` physics ticks run, then calls get_state() once per
## instance. Override the methods below; keep per-tick script work out of them where you can
## (store the action, let the physics engine do the rest).
##
## Scene options are the `@export` properties of the agent script (`@export_range(low, high)`
## for a ranged number), declared without a default: rlgodot sends every option's value at hello
## and at resets that change them, and apply_options() checks and sets them.
##
## Call end_episode() when the episode ends by itself (goal, crash). It may be called during the
## physics ticks or from inside get_state(): the batch reads the flag after get_state().
## The time limit (truncation) is the batch's job.

## Emitted when an episode ends: status 1 = terminated (end_episode()), 2 = truncated (time limit).
signal episode_ended(status: int)

const Codec := preload("res://addons/rlgodot/net/codec.gd")
const Protocol := preload("res://addons/rlgodot/net/protocol.gd")

## Option schemas by agent script: {Script: {name: {"type": Variant.Type, "min": float or null,
## "max": float or null}}}, read once per script from get_property_list().
static var _option_schemas: Dictionary = {}

## 0..N-1, set before the instance enters the tree; place the instance apart from the others.
var instance_index: int = 0
## N, the number of instances in this process.
var n_instances: int = 1
## Physics ticks per simulated second. Use it, not Engine.physics_ticks_per_second, to turn
## ticks into seconds: an attached game's speed control multiplies the engine's rate (and its
## time_scale), while every tick still simulates 1 / physics_hz seconds.
var physics_hz: int = 60
## True in play mode: read the keyboard (human_action() is called).
var human_control: bool = false
## True when the instance is seen: play mode, a window (`render_mode="human"`), offscreen frames
## (`"rgb_array"`) or a camera sensor in its scene (CameraSensor2D, CameraSensor3D); set before
## the instance enters the tree. Make your camera current and build your visuals (meshes,
## drawing, effects) only when it is true, and keep them up to date in sync_view(): headless
## training then builds and updates none of them.
var watched: bool = false
## Physics ticks simulated in the current episode so far (counted by the batch). Use it, not
## Engine.get_physics_frames(), for time within an episode: frames that only draw a view (a
## render right after a reset) advance the engine's counter but simulate nothing.
var episode_ticks: int = 0
## Seed of the current episode (set before every reset_episode()).
var episode_seed: int = 0
## Seeded with episode_seed before every reset_episode(); draw all episode randomness from it.
var rng: RandomNumberGenerator = RandomNumberGenerator.new()
## Watched only: simulated seconds the view has been brought forward over the instance's life
## (update_view(), update_view_for_frame()). Overlays age their own animations by how much it
## grew since they last looked, so two captures at one decision point age nothing twice.
var view_seconds: float = 0.0

var _terminated: bool = false
var _outcome: String = ""
## episode_ticks when the view was last brought up to date.
var _view_ticks: int = 0


## Play mode helper for human_action(): 1.0 while a key of `positive` is held, -1.0 for one of
## `negative`, 0.0 for both or neither (physical keys, so WASD works on any layout).
static func key_axis(negative: Array[Key], positive: Array[Key]) -> float:
	return float(_any_key_held(positive)) - float(_any_key_held(negative))


static func _any_key_held(keys: Array[Key]) -> bool:
	for key: Key in keys:
		if Input.is_physical_key_pressed(key):
			return true
	return false


## The option schema of the agent's script, read once from its exported script properties.
static func _option_schema_of(agent: RLAgent) -> Dictionary:
	var script: Script = agent.get_script() as Script
	if _option_schemas.has(script):
		return _option_schemas[script]
	var schema: Dictionary = {}
	var exported: int = PROPERTY_USAGE_SCRIPT_VARIABLE | PROPERTY_USAGE_EDITOR
	for property: Dictionary in agent.get_property_list():
		var usage: int = property["usage"]
		if (usage & exported) != exported:
			continue
		var type: int = property["type"]
		var entry: Dictionary = {"type": type, "min": null, "max": null}
		var hint: int = property["hint"]
		if hint == PROPERTY_HINT_RANGE and (type == TYPE_INT or type == TYPE_FLOAT):
			var parts: PackedStringArray = str(property["hint_string"]).split(",")
			if parts.size() >= 2:
				var low: float = parts[0].to_float()
				var high: float = parts[1].to_float()
				entry["min"] = low
				entry["max"] = high
				if type == TYPE_INT:
					entry["min"] = roundi(low)
					entry["max"] = roundi(high)
				if "or_less" in parts:
					entry["min"] = null
				if "or_greater" in parts:
					entry["max"] = null
		schema[str(property["name"])] = entry
	_option_schemas[script] = schema
	return schema


## `value` converted to a property of `type`, or null when it does not fit.
static func _convert_option(type: int, value: Variant) -> Variant:
	var given: int = typeof(value)
	match type:
		TYPE_FLOAT:
			if given == TYPE_INT or given == TYPE_FLOAT:
				var number: float = value
				if is_finite(number):
					return number
		TYPE_INT:
			if given == TYPE_INT:
				return value
			if given == TYPE_FLOAT:
				var number: float = value
				if is_finite(number) and number == floorf(number) and absf(number) < 9.0e18:
					return int(number)
		TYPE_BOOL:
			if given == TYPE_BOOL:
				return value
		TYPE_ARRAY:
			if given == TYPE_ARRAY:
				return value
		TYPE_PACKED_FLOAT32_ARRAY:
			if given == TYPE_ARRAY:
				var items: Array = value
				for item: Variant in items:
					if not Codec.is_number(item) or not is_finite(Codec.as_float(item)):
						return null
				return PackedFloat32Array(items)
	return null


## "float", "int", "bool", "array" (the option_schema names); with `article` "a float" etc.
static func _type_text(type: int, article: bool) -> String:
	var text: String = type_string(type).to_lower()
	if type == TYPE_ARRAY or type == TYPE_PACKED_FLOAT32_ARRAY:
		text = "array"
	if not article:
		return text
	if type == TYPE_PACKED_FLOAT32_ARRAY:
		return "an array of finite numbers"
	return ("an " if text.left(1) in ["a", "e", "i", "o", "u"] else "a ") + text


## Names of the raw state floats, in order. Called once, at hello.
func state_names() -> PackedStringArray:
	push_error("%s must override state_names()" % get_path())
	return PackedStringArray()


## Floats per action. Called once, at hello.
func action_size() -> int:
	push_error("%s must override action_size()" % get_path())
	return 0


## Puts the instance in the first state of a new episode: reposition, don't re-instantiate.
func reset_episode() -> void:
	pass


## Stores the action; it holds for every physics tick of the step.
func apply_action(_action: PackedFloat32Array) -> void:
	pass


## Returns state_names().size() floats.
func get_state() -> PackedFloat32Array:
	push_error("%s must override get_state()" % get_path())
	return PackedFloat32Array()


## Play mode: reads the keyboard and returns an action (called every physics tick).
func human_action() -> PackedFloat32Array:
	var action: PackedFloat32Array = PackedFloat32Array()
	action.resize(action_size())
	return action


## Play mode: the keys of human_action(), shown in the HUD.
func key_help() -> String:
	return ""


## Watched only: a short readout shown in the HUD (called whenever the view is drawn).
func hud_text() -> String:
	return ""


## Watched only: bring the camera and visuals up to the current state. Called before every
## drawn frame (window, play mode) and before every captured frame (rgb_array); `delta` is the
## simulated seconds since the previous call (0.0 right after a reset: snap, don't smooth).
func sync_view(_delta: float) -> void:
	pass


## Watched only, at a decision point: sync_view() with the simulated seconds since the view was
## last brought up to date, once however many views and cameras ask at this decision point.
func update_view() -> void:
	if episode_ticks != _view_ticks:
		var delta: float = float(episode_ticks - _view_ticks) / float(physics_hz)
		_view_ticks = episode_ticks
		view_seconds += delta
		sync_view(delta)


## Watched only, for a drawn frame: sync_view(delta) with the frame's `delta`; a capture at the
## same decision point then leaves the view as it is.
func update_view_for_frame(delta: float) -> void:
	_view_ticks = episode_ticks
	view_seconds += delta
	sync_view(delta)


## Ends the episode from the scene (goal, crash): the step gets the terminated bit. `outcome`
## names it for people ("finished", "crashed"): play mode and viewers show it.
func end_episode(outcome: String = "") -> void:
	if _terminated:
		return
	_terminated = true
	_outcome = outcome
	episode_ended.emit(Protocol.STATUS_TERMINATED)


## How the current episode ended, as given to end_episode() ("" while it runs or if unnamed).
func episode_outcome() -> String:
	return _outcome


## True once end_episode() was called in the current episode.
func is_episode_terminated() -> bool:
	return _terminated


## Where to put this instance, apart from the others: its cell of a grid of n_instances cells,
## `columns` wide (0 = a square grid), row by row, times `spacing` (in 3D use x, z). Set it in
## _enter_tree(), before the instance's bodies enter the physics space: N copies stacked at the
## origin cost O(N^2) broadphase pairs.
func grid_position(spacing: Vector2, columns: int = 0) -> Vector2:
	var width: int = columns if columns > 0 else ceili(sqrt(float(n_instances)))
	var cell: Vector2i = Vector2i(instance_index % width, floori(float(instance_index) / width))
	return Vector2(cell) * spacing


## Sets scene options: `values` maps option names (exported script properties) to values. All
## are checked before any is set; returns "" or what is wrong (an unknown name, a value of the
## wrong type, a number outside the property's @export_range). JSON numbers arrive as floats: an
## int option takes an integral float, a float option an int; array options take arrays.
func apply_options(values: Dictionary) -> String:
	var schema: Dictionary = _option_schema_of(self)
	var converted: Dictionary = {}
	for key: Variant in values:
		var option: String = str(key)
		if not schema.has(option):
			var known: Array = schema.keys()
			known.sort()
			return "option '%s' is not an option of %s (its options: %s)" % [
				option, _script_file(), ", ".join(PackedStringArray(known)) if not known.is_empty() else "none"]
		var entry: Dictionary = schema[option]
		var type: int = entry["type"]
		var value: Variant = _convert_option(type, values[key])
		if value == null:
			return "option '%s' of %s must be %s, got %s" % [
				option, _script_file(), _type_text(type, true), Codec.describe(values[key])]
		var low: Variant = entry["min"]
		var high: Variant = entry["max"]
		if Codec.is_number(value):
			var number: float = Codec.as_float(value)
			if (low != null and number < Codec.as_float(low)) or (high != null and number > Codec.as_float(high)):
				return "option '%s' of %s is %s, outside its range %s .. %s" % [
					option, _script_file(), Codec.describe(value), Codec.describe(low), Codec.describe(high)]
		converted[option] = value
	for option: String in converted:
		set(option, converted[option])
	return ""


## The current values of every scene option (the exported script properties).
func option_values() -> Dictionary:
	var result: Dictionary = {}
	for option: String in _option_schema_of(self):
		result[option] = get(option)
	return result


## The scene options for the hello reply: {name: {"type": "float" | "int" | "bool" | "array",
## "min": low, "max": high}}, min and max only for a ranged number.
func option_schema() -> Dictionary:
	var result: Dictionary = {}
	var schema: Dictionary = _option_schema_of(self)
	for option: String in schema:
		var entry: Dictionary = schema[option]
		var type: int = entry["type"]
		var item: Dictionary = {"type": _type_text(type, false)}
		for bound: String in ["min", "max"]:
			if entry[bound] != null:
				item[bound] = entry[bound]
		result[option] = item
	return result


## Batch use: starts an episode with its seed, then calls reset_episode().
func begin_episode(seed_value: int) -> void:
	_terminated = false
	_outcome = ""
	episode_ticks = 0
	episode_seed = seed_value
	rng.seed = seed_value
	_view_ticks = 0
	reset_episode()
	if watched:
		sync_view(0.0)


## Batch use: the episode hit the time limit.
func notify_truncated() -> void:
	episode_ended.emit(Protocol.STATUS_TRUNCATED)


func _script_file() -> String:
	var script: Script = get_script() as Script
	return script.resource_path.get_file() if script != null else name
