extends SceneTree
## Runs an RLPolicy over recorded raw states, for parity tests against Python:
##
##   godot --headless --path PROJECT --script res://addons/rlgodot/policy/policy_check.gd -- \
##       --policy=policy.json --states=IN.f32 --out=OUT.f32 [--bench=N]
##
## IN.f32: rows of len(state_names) little-endian float32 (raw states). OUT.f32: one row per
## state of observation_size + action_size little-endian float32: the observation (observe()),
## then the wire action (act() of that observation). --bench=N also times N decide() calls on
## the first state and prints `rlgodot policy_check: decide_usec U`. Exit code 0, or 2 with a
## message on stderr.

const EXIT_BAD_ARGS: int = 2


func _initialize() -> void:
	var args: Dictionary = {}
	for arg: String in OS.get_cmdline_user_args():
		var eq: int = arg.find("=")
		if arg.begins_with("--") and eq > 0:
			args[arg.substr(2, eq - 2)] = arg.substr(eq + 1)
	if not args.has("policy") or not args.has("states") or not args.has("out"):
		_fail("pass -- --policy=policy.json --states=IN.f32 --out=OUT.f32 [--bench=N]")
		return
	var policy: RLPolicy = RLPolicy.open(str(args["policy"]))
	if policy.error != "":
		_fail(policy.error)
		return
	var states: PackedFloat32Array = FileAccess.get_file_as_bytes(str(args["states"])).to_float32_array()
	var width: int = policy.state_names.size()
	if states.is_empty() or states.size() % width != 0:
		_fail("'%s' must hold rows of %d float32 (the policy's state_names), got %d floats" % [
			args["states"], width, states.size()])
		return
	var rows: int = states.size() / width
	var out: PackedFloat32Array = PackedFloat32Array()
	for r: int in rows:
		var observation: PackedFloat32Array = policy.observe(states.slice(r * width, (r + 1) * width))
		out.append_array(observation)
		out.append_array(policy.act(observation))
	var file: FileAccess = FileAccess.open(str(args["out"]), FileAccess.WRITE)
	if file == null:
		_fail("cannot write '%s': %s" % [args["out"], error_string(FileAccess.get_open_error())])
		return
	file.store_buffer(out.to_byte_array())
	file.close()
	print("rlgodot policy_check: %d rows, observation %d, action %d" % [rows, policy.observation_size, policy.action_size])
	var calls: int = str(args.get("bench", "0")).to_int()
	if calls > 0:
		var state: PackedFloat32Array = states.slice(0, width)
		var start: int = Time.get_ticks_usec()
		for i: int in calls:
			policy.decide(state)
		print("rlgodot policy_check: decide_usec %.2f" % (float(Time.get_ticks_usec() - start) / calls))
	quit(0)


func _fail(message: String) -> void:
	printerr("rlgodot policy_check: " + message)
	quit(EXIT_BAD_ARGS)
