class_name RLPolicy
extends RefCounted
## A trained policy exported by `rlgodot export` (policy.json, docs/GODOT_ADDON.md), run in
## plain GDScript: raw state -> observation (one Expression per term) -> MLP -> wire action.
##
## Load it once (load_file(), from_json() or open()), then call decide(state) at every decision
## point. The weights are decoded once and every intermediate lives in a packed array made at
## load: a call fills buffers, it creates no arrays. The arrays observe(), act() and decide()
## return are those buffers: read them (or duplicate() them) before the next call.
##
## The MLP runs in 4x4 blocks: each layer's weights are cut into Projection blocks (zero padded
## to multiples of 4) and its input and output are PackedVector4Array buffers, so one
## `block * Vector4` does 16 multiply-adds in native code (float32, as the network was trained):
## about 11x faster than a scalar GDScript loop over PackedFloat32Array.

const Codec := preload("res://addons/rlgodot/net/codec.gd")

const FORMAT: String = "rlgodot-policy"
const VERSION: int = 1
## Activation names; a layer stores the index (TANH, RELU, or 2 for none).
const ACTIVATIONS: PackedStringArray = ["tanh", "relu", "none"]
const TANH: int = 0
const RELU: int = 1
const KIND_BOX: String = "box"
const KIND_ARGMAX: String = "argmax"

## What is wrong with the document ("" when the policy is usable).
var error: String = ""
## The env the policy was trained on ("ball-v0").
var env_id: String = ""
## Physics ticks per decision the policy was trained with.
var action_repeat: int = 1
## Decisions per episode before the time limit it was trained with (0 = none).
var max_episode_steps: int = 0
## Physics ticks per second it was trained with.
var physics_hz: int = 60
## The scene options it was trained with (RLAgent.apply_options()).
var scene_options: Dictionary = {}
## The raw state layout it reads (RLAgent.state_names()).
var state_names: PackedStringArray = PackedStringArray()
## Floats per wire action (RLAgent.action_size()).
var action_size: int = 0
## Observation floats (one per term).
var observation_size: int = 0

var _terms: Array[Expression] = []
var _inputs: Array = []
var _low: float = -1.0
var _high: float = 1.0
var _observation: PackedFloat32Array = PackedFloat32Array()
## The network input: the observation in Vector4s, zero padded.
var _input: PackedVector4Array = PackedVector4Array()
## Per layer: activation index, the 4x4 weight blocks (row of output blocks, then input blocks;
## block column c holds the weights of input 4 * ib + c for outputs 4 * ob .. 4 * ob + 3), the
## bias and the output buffer in Vector4s.
var _activations: PackedInt32Array = PackedInt32Array()
var _blocks: Array[Array] = []
var _biases: Array[PackedVector4Array] = []
var _buffers: Array[PackedVector4Array] = []
## Floats of the last layer's output (the rest of its last Vector4 is padding).
var _outputs: int = 0
var _argmax: bool = false
var _action_low: PackedFloat32Array = PackedFloat32Array()
var _action_high: PackedFloat32Array = PackedFloat32Array()
## argmax: one row of action_size floats per network output.
var _table: PackedFloat32Array = PackedFloat32Array()
var _action: PackedFloat32Array = PackedFloat32Array()


## The policy in the policy.json at `path`, or null after push_error() saying what is wrong.
static func load_file(path: String) -> RLPolicy:
	var policy: RLPolicy = open(path)
	if policy.error != "":
		push_error("rlgodot: " + policy.error)
		return null
	return policy


## The policy of a policy.json document, or null after push_error() saying what is wrong.
static func from_json(text: String) -> RLPolicy:
	var policy: RLPolicy = RLPolicy.new()
	policy._load_text(text)
	if policy.error != "":
		push_error("rlgodot: policy: " + policy.error)
		return null
	return policy


## The policy at `path`, never null and raising no error: check `error` ("" = usable).
static func open(path: String) -> RLPolicy:
	var policy: RLPolicy = RLPolicy.new()
	var file: FileAccess = FileAccess.open(path, FileAccess.READ)
	if file == null:
		policy.error = "cannot read policy file '%s': %s" % [path, error_string(FileAccess.get_open_error())]
		return policy
	policy._load_text(file.get_as_text())
	if policy.error != "":
		policy.error = "policy file '%s': %s" % [path, policy.error]
	return policy


## The observation of a raw `state` (state_names order): every term evaluated, NaN -> 0,
## then clipped to the document's low..high (so +inf -> high, -inf -> low).
func observe(state: PackedFloat32Array) -> PackedFloat32Array:
	for j: int in state_names.size():
		_inputs[j] = state[j]
	for k: int in observation_size:
		var value: Variant = _terms[k].execute(_inputs, null, false, true)
		var number: float = Codec.as_float(value) if Codec.is_number(value) else NAN
		_observation[k] = 0.0 if is_nan(number) else clampf(number, _low, _high)
	return _observation


## The wire action for an `observation`: the network's output clipped to the action bounds
## (box), or the action table's row of its largest output, the first on a tie (argmax).
func act(observation: PackedFloat32Array) -> PackedFloat32Array:
	for j: int in _input.size():
		_input[j] = Vector4(_at(observation, 4 * j), _at(observation, 4 * j + 1),
				_at(observation, 4 * j + 2), _at(observation, 4 * j + 3))
	var x: PackedVector4Array = _input
	for layer: int in _activations.size():
		var blocks: Array[Projection] = _blocks[layer]
		var bias: PackedVector4Array = _biases[layer]
		var y: PackedVector4Array = _buffers[layer]
		var activation: int = _activations[layer]
		var k: int = 0
		for ob: int in y.size():
			var sum: Vector4 = bias[ob]
			for v: Vector4 in x:
				sum += blocks[k] * v
				k += 1
			if activation == TANH:
				sum = Vector4(tanh(sum.x), tanh(sum.y), tanh(sum.z), tanh(sum.w))
			elif activation == RELU:
				sum = Vector4(maxf(sum.x, 0.0), maxf(sum.y, 0.0), maxf(sum.z, 0.0), maxf(sum.w, 0.0))
			y[ob] = sum
		x = y
	if _argmax:
		var best: int = 0
		var best_value: float = x[0].x
		for o: int in _outputs:
			var value: float = x[o >> 2][o & 3]
			if value > best_value:
				best = o
				best_value = value
		for a: int in action_size:
			_action[a] = _table[best * action_size + a]
	else:
		for a: int in action_size:
			_action[a] = clampf(x[a >> 2][a & 3], _action_low[a], _action_high[a])
	return _action


## "" when the policy fits a scene of `names` and `n_actions` (`scene` names it), else what differs.
func layout_problem(names: PackedStringArray, n_actions: int, scene: String) -> String:
	if names == state_names and n_actions == action_size:
		return ""
	return "the policy reads state_names %s and writes %d floats; %s declares %s and %d: export a policy of this env" % [
		state_names, action_size, scene, names, n_actions]


## act(observe(state)): the wire action for a raw state.
func decide(state: PackedFloat32Array) -> PackedFloat32Array:
	return act(observe(state))


func _load_text(text: String) -> void:
	var json: JSON = JSON.new()
	if json.parse(text) != OK:
		error = "not JSON: %s at line %d" % [json.get_error_message(), json.get_error_line()]
		return
	if typeof(json.data) != TYPE_DICTIONARY:
		error = "not a JSON object"
		return
	var doc: Dictionary = json.data
	error = _load_document(doc)


## Reads every field; returns "" or the first problem.
func _load_document(doc: Dictionary) -> String:
	if str(doc.get("format")) != FORMAT or not Codec.is_integer(doc.get("version")):
		return "'format' must be '%s' with an integer 'version' (is this an rlgodot export?)" % FORMAT
	if Codec.as_int(doc["version"]) != VERSION:
		return "version %d, this addon reads version %d: export the model again with this rlgodot" % [
			Codec.as_int(doc["version"]), VERSION]
	env_id = str(doc.get("env_id", ""))
	for key: String in ["action_repeat", "max_episode_steps", "physics_hz", "action_size"]:
		if not Codec.is_integer(doc.get(key)) or Codec.as_int(doc[key]) < (1 if key == "action_repeat" or key == "physics_hz" else 0):
			return "'%s' must be an integer (>= 1 for action_repeat and physics_hz, else >= 0), got %s" % [
				key, JSON.stringify(doc.get(key))]
	action_repeat = Codec.as_int(doc["action_repeat"])
	max_episode_steps = Codec.as_int(doc["max_episode_steps"])
	physics_hz = Codec.as_int(doc["physics_hz"])
	action_size = Codec.as_int(doc["action_size"])
	var options: Variant = doc.get("scene_options", {})
	if typeof(options) != TYPE_DICTIONARY:
		return "'scene_options' must be an object"
	scene_options = options
	var names: Variant = doc.get("state_names")
	if typeof(names) != TYPE_ARRAY or not (names as Array).all(_is_string) or (names as Array).is_empty():
		return "'state_names' must be a non-empty list of strings"
	state_names = PackedStringArray(names as Array)
	var problem: String = _load_observation(doc.get("observation"))
	if problem == "":
		problem = _load_network(doc.get("network"))
	if problem == "":
		problem = _load_action(doc.get("action"))
	return problem


func _load_observation(value: Variant) -> String:
	if typeof(value) != TYPE_DICTIONARY:
		return "'observation' must be an object with 'terms', 'low' and 'high'"
	var observation: Dictionary = value
	var terms: Variant = observation.get("terms")
	if typeof(terms) != TYPE_ARRAY or not (terms as Array).all(_is_string) or (terms as Array).is_empty():
		return "'observation.terms' must be a non-empty list of strings"
	if not Codec.is_number(observation.get("low")) or not Codec.is_number(observation.get("high")) or Codec.as_float(observation["low"]) > Codec.as_float(observation["high"]):
		return "'observation.low' and 'observation.high' must be numbers, low <= high"
	_low = Codec.as_float(observation["low"])
	_high = Codec.as_float(observation["high"])
	_inputs.resize(state_names.size())
	_inputs.fill(0.0)
	for term: Variant in terms as Array:
		var expression: Expression = Expression.new()
		if expression.parse(str(term), state_names) != OK:
			return "observation term '%s' does not parse: %s" % [term, expression.get_error_text()]
		var probe: Variant = expression.execute(_inputs, null, false, true)
		if expression.has_execute_failed() or (typeof(probe) != TYPE_FLOAT and typeof(probe) != TYPE_INT):
			return "observation term '%s' does not evaluate to a number on a zero state: %s (names: the state_names; functions: sin cos tan atan2 sqrt abs min max clamp exp log pow floor sign)" % [
				term, expression.get_error_text()]
		_terms.append(expression)
	observation_size = _terms.size()
	_observation.resize(observation_size)
	return ""


func _load_network(value: Variant) -> String:
	if typeof(value) != TYPE_ARRAY or (value as Array).is_empty():
		return "'network' must be a non-empty list of layers"
	var layers: Array = value
	var width: int = observation_size
	for index: int in layers.size():
		if typeof(layers[index]) != TYPE_DICTIONARY:
			return "network layer %d must be an object" % index
		var layer: Dictionary = layers[index]
		if not Codec.is_integer(layer.get("in")) or not Codec.is_integer(layer.get("out")) or Codec.as_int(layer["out"]) < 1:
			return "network layer %d needs integer 'in' and 'out' (>= 1)" % index
		var n_in: int = Codec.as_int(layer["in"])
		var n_out: int = Codec.as_int(layer["out"])
		if n_in != width:
			return "network layer %d has 'in' %d, but its input has %d floats (%s)" % [
				index, n_in, width, "the observation terms" if index == 0 else "the previous layer's 'out'"]
		var activation: int = ACTIVATIONS.find(str(layer.get("activation")))
		if activation < 0:
			return "network layer %d has activation %s; known: %s" % [
				index, JSON.stringify(layer.get("activation")), ", ".join(ACTIVATIONS)]
		var weight: PackedFloat32Array = _floats(layer.get("weight"), n_out * n_in)
		if weight.size() != n_out * n_in:
			return "network layer %d 'weight' must be base64 of %d float32 (out %d x in %d)" % [
				index, n_out * n_in, n_out, n_in]
		var bias: PackedFloat32Array = _floats(layer.get("bias"), n_out)
		if bias.size() != n_out:
			return "network layer %d 'bias' must be base64 of %d float32" % [index, n_out]
		_activations.append(activation)
		_blocks.append(_cut_blocks(weight, n_in, n_out))
		_biases.append(_vectors(bias))
		var buffer: PackedVector4Array = PackedVector4Array()
		buffer.resize(_fours(n_out))
		_buffers.append(buffer)
		width = n_out
	_input.resize(_fours(observation_size))
	_outputs = width
	return ""


func _load_action(value: Variant) -> String:
	if typeof(value) != TYPE_DICTIONARY:
		return "'action' must be an object with 'kind' '%s' or '%s'" % [KIND_BOX, KIND_ARGMAX]
	var action: Dictionary = value
	var outputs: int = _outputs
	_action.resize(action_size)
	match action.get("kind"):
		KIND_BOX:
			if outputs != action_size:
				return "action kind 'box' needs a last layer of 'out' action_size %d, got %d" % [action_size, outputs]
			_action_low = _numbers(action.get("low"), action_size)
			_action_high = _numbers(action.get("high"), action_size)
			if _action_low.size() != action_size or _action_high.size() != action_size:
				return "action 'low' and 'high' must be lists of %d numbers" % action_size
		KIND_ARGMAX:
			var rows: Variant = action.get("table")
			if typeof(rows) != TYPE_ARRAY or (rows as Array).size() != outputs:
				return "action kind 'argmax' needs a 'table' of %d rows (the last layer's 'out')" % outputs
			_argmax = true
			for row: Variant in rows as Array:
				var numbers: PackedFloat32Array = _numbers(row, action_size)
				if numbers.size() != action_size:
					return "action 'table' rows must be lists of %d numbers (action_size), got %s" % [
						action_size, JSON.stringify(row)]
				_table.append_array(numbers)
		_:
			return "action kind must be '%s' or '%s', got %s" % [KIND_BOX, KIND_ARGMAX, JSON.stringify(action.get("kind"))]
	return ""


## Vector4s that hold n floats (padded).
static func _fours(n: int) -> int:
	return (n + 3) >> 2


## values[i], or 0.0 past the end (padding).
static func _at(values: PackedFloat32Array, i: int) -> float:
	return values[i] if i < values.size() else 0.0


## `values` in Vector4s, zero padded.
static func _vectors(values: PackedFloat32Array) -> PackedVector4Array:
	var out: PackedVector4Array = PackedVector4Array()
	for j: int in _fours(values.size()):
		out.append(Vector4(_at(values, 4 * j), _at(values, 4 * j + 1), _at(values, 4 * j + 2),
				_at(values, 4 * j + 3)))
	return out


## The out x in row-major `weight` as 4x4 blocks, output block by output block (see _blocks).
static func _cut_blocks(weight: PackedFloat32Array, n_in: int, n_out: int) -> Array[Projection]:
	var blocks: Array[Projection] = []
	for ob: int in _fours(n_out):
		for ib: int in _fours(n_in):
			var block: Projection = Projection()
			for c: int in 4:
				var column: Vector4 = Vector4.ZERO
				var i: int = 4 * ib + c
				for r: int in 4:
					var o: int = 4 * ob + r
					if i < n_in and o < n_out:
						column[r] = weight[o * n_in + i]
				block[c] = column
			blocks.append(block)
	return blocks


## `count` little-endian float32 from base64 text; empty when it is not exactly that.
static func _floats(value: Variant, count: int) -> PackedFloat32Array:
	var text: String = str(value) if typeof(value) == TYPE_STRING else ""
	# Checked first: Marshalls reports malformed base64 as an engine error.
	if text.length() != (count * 4 + 2) / 3 * 4 or not _base64_shape().search(text):
		return PackedFloat32Array()
	var raw: PackedByteArray = Marshalls.base64_to_raw(text)
	return raw.to_float32_array() if raw.size() == count * 4 else PackedFloat32Array()


static func _base64_shape() -> RegEx:
	return RegEx.create_from_string("^[A-Za-z0-9+/]*={0,2}$")


## `count` finite numbers from a JSON list; empty when it is not exactly that.
static func _numbers(value: Variant, count: int) -> PackedFloat32Array:
	if typeof(value) != TYPE_ARRAY or (value as Array).size() != count:
		return PackedFloat32Array()
	var out: PackedFloat32Array = PackedFloat32Array()
	for item: Variant in value as Array:
		if not Codec.is_number(item) or not is_finite(Codec.as_float(item)):
			return PackedFloat32Array()
		out.append(Codec.as_float(item))
	return out


static func _is_string(value: Variant) -> bool:
	return typeof(value) == TYPE_STRING
