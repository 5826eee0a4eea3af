extends RefCounted
## Decodes request bodies and encodes replies of protocol v1, in JSON or binary (0xB1) form.
##
## The binary path never loops over floats: payloads go through PackedFloat32Array
## to_byte_array() / PackedByteArray.to_float32_array(), and replies are written into one reused
## StreamPeerBuffer together with their 4-byte frame prefix.

enum Decoded { ERROR, JSON_MESSAGE, BINARY_STEP }

const Protocol := preload("res://addons/rlgodot/net/protocol.gd")

const HEADER_FLOATS: int = 4
const MAX_EXACT_JSON_INT: float = 9007199254740992.0
const MAX_INT64_FLOAT: float = 9223372036854775808.0

## Reply payloads use the binary form when true (set at hello).
var binary: bool = false

## Results of the last decode().
var message: Dictionary = {}
var message_text: String = ""
var actions: PackedFloat32Array = PackedFloat32Array()
## Index of the first action float in `actions` (4 for a binary body: the header floats).
var action_offset: int = 0
var rows: int = 0
var width: int = 0
var error_code: String = ""
var error_message: String = ""

var _json: JSON = JSON.new()
var _out: StreamPeerBuffer = StreamPeerBuffer.new()
var _control_chars: RegEx = RegEx.create_from_string("[\\x00-\\x1f\\x7f]")
var _seeds_regex: RegEx = RegEx.create_from_string("\"seeds\"\\s*:\\s*\\[([0-9,\\s]*)\\]")


static func is_number(value: Variant) -> bool:
	var t: int = typeof(value)
	return t == TYPE_INT or t == TYPE_FLOAT


## True for an int, or a float holding an exact integer (JSON numbers arrive as floats).
static func is_integer(value: Variant) -> bool:
	if typeof(value) == TYPE_INT:
		return true
	if typeof(value) != TYPE_FLOAT:
		return false
	var f: float = value
	return is_finite(f) and f == floorf(f)


## A JSON number as float (0.0 for anything else).
static func as_float(value: Variant) -> float:
	if typeof(value) == TYPE_INT:
		var i: int = value
		return float(i)
	if typeof(value) == TYPE_FLOAT:
		var f: float = value
		return f
	return 0.0


## A JSON number as int (JSON integers arrive as floats).
static func as_int(value: Variant) -> int:
	if typeof(value) == TYPE_INT:
		var i: int = value
		return i
	return int(as_float(value))


## A short text for a JSON value in error messages (whole floats print as ints).
static func describe(value: Variant) -> String:
	if typeof(value) == TYPE_FLOAT and is_integer(value) and absf(as_float(value)) < MAX_EXACT_JSON_INT:
		return str(as_int(value))
	if typeof(value) == TYPE_STRING:
		return "'%s'" % str(value)
	return JSON.stringify(value)


## Decodes one frame body; on ERROR, error_code and error_message say why.
func decode(body: PackedByteArray) -> Decoded:
	if body.is_empty():
		return _fail(Protocol.ERROR_BAD_FRAME, "empty frame body")
	var first: int = body[0]
	if first == Protocol.BINARY_MAGIC:
		return _decode_binary(body)
	if first != Protocol.JSON_FIRST_BYTE:
		return _fail(Protocol.ERROR_BAD_FRAME, "body starts with byte 0x%02X: expected '{' (JSON) or 0xB1 (binary)" % first)
	message_text = body.get_string_from_utf8()
	if _json.parse(message_text) != OK:
		return _fail(Protocol.ERROR_BAD_FRAME, "JSON did not parse (line %d): %s" % [
			_json.get_error_line() + 1, _json.get_error_message()])
	var data: Variant = _json.data
	if typeof(data) != TYPE_DICTIONARY:
		return _fail(Protocol.ERROR_BAD_FRAME, "JSON body is not an object")
	message = data
	if typeof(message.get("type")) != TYPE_STRING:
		return _fail(Protocol.ERROR_BAD_MESSAGE, "JSON message has no string field 'type'")
	return Decoded.JSON_MESSAGE


## Flattens a JSON `actions` value (n rows of a numbers) into `actions`; false on a bad shape
## (error_code bad_action) or type (bad_message).
func flatten_json_actions(value: Variant, n: int, a: int) -> bool:
	if typeof(value) != TYPE_ARRAY:
		_fail(Protocol.ERROR_BAD_MESSAGE, "'actions' must be a list of %d lists of %d numbers" % [n, a])
		return false
	var batch: Array = value
	if batch.size() != n:
		_fail(Protocol.ERROR_BAD_ACTION, "expected %d actions of %d floats, got %d rows" % [n, a, batch.size()])
		return false
	var flat: PackedFloat32Array = PackedFloat32Array()
	for i: int in n:
		var row_value: Variant = batch[i]
		if typeof(row_value) != TYPE_ARRAY:
			_fail(Protocol.ERROR_BAD_MESSAGE, "action %d is not a list" % i)
			return false
		var row: Array = row_value
		if row.size() != a:
			_fail(Protocol.ERROR_BAD_ACTION, "expected %d actions of %d floats, action %d has %d" % [n, a, i, row.size()])
			return false
		for x: Variant in row:
			if not is_number(x):
				_fail(Protocol.ERROR_BAD_MESSAGE, "action %d holds a non-number: %s" % [i, describe(x)])
				return false
		flat.append_array(PackedFloat32Array(row))
	actions = flat
	action_offset = 0
	rows = n
	width = a
	return true


## Returns the reset seeds (validated non-negative integers < 2^63, as floats) as exact ints.
## JSON numbers parse as doubles in Godot, which loses integers >= 2^53, so large seeds are
## re-read from the message text. Returns an empty array when a seed is not below 2^63.
func exact_seeds(parsed: Array) -> Array[int]:
	var result: Array[int] = []
	var needs_text: bool = false
	var beyond_int64: bool = false
	for value: Variant in parsed:
		var f: float = as_float(value)
		if f >= MAX_INT64_FLOAT:
			beyond_int64 = true
			result.append(0)
		else:
			result.append(int(f))
		if f >= MAX_EXACT_JSON_INT:
			needs_text = true
	if not needs_text:
		return result
	for match_: RegExMatch in _seeds_regex.search_all(message_text):
		var parts: PackedStringArray = match_.get_string(1).split(",", false)
		if parts.size() != parsed.size():
			continue
		var exact: Array[int] = []
		for k: int in parts.size():
			var text: String = parts[k].strip_edges().lstrip("0")
			if text.length() > 19 or (text.length() == 19 and text > "9223372036854775807"):
				break
			var v: int = text.to_int()
			if float(v) != as_float(parsed[k]):
				break
			exact.append(v)
		if exact.size() == parts.size():
			return exact
	if beyond_int64:
		return [] as Array[int]
	return result


func encode_message(msg: Dictionary) -> PackedByteArray:
	var body: PackedByteArray = JSON.stringify(msg, "", false, true).to_utf8_buffer()
	var frame: PackedByteArray = PackedByteArray()
	frame.resize(4)
	frame.encode_u32(0, body.size())
	frame.append_array(body)
	return frame


## Error messages quote client input; JSON.stringify leaves most control characters raw
## (invalid JSON), so they become '?'.
func encode_error(code: String, text: String) -> PackedByteArray:
	return encode_message({"type": Protocol.TYPE_ERROR, "code": code,
			"message": _control_chars.sub(text, "?", true)})


## Encodes a reset_result or step_result (kind KIND_*_RESULT) as one frame with its prefix.
## states: n x w floats; status: n bytes; terminal_index / terminal_states: the terminal list;
## images / terminal_images: the camera observations of the n rows and of the terminal list
## (binary only: a session with cameras uses the binary codec; empty without cameras).
func encode_result(kind: int, states: PackedFloat32Array, status: PackedByteArray, n: int, w: int,
		terminal_index: PackedInt32Array, terminal_states: PackedFloat32Array,
		images: PackedByteArray = PackedByteArray(),
		terminal_images: PackedByteArray = PackedByteArray()) -> PackedByteArray:
	if binary:
		return _encode_binary_result(kind, states, status, n, w, terminal_index, terminal_states,
				images, terminal_images)
	var msg: Dictionary = {
		"type": Protocol.TYPE_STEP_RESULT if kind == Protocol.KIND_STEP_RESULT else Protocol.TYPE_RESET_RESULT,
		"states": _json_rows(states, n, w),
		"status": Array(status),
	}
	if kind == Protocol.KIND_STEP_RESULT:
		var terminal: Array = []
		for k: int in terminal_index.size():
			terminal.append([terminal_index[k], Array(terminal_states.slice(k * w, (k + 1) * w))])
		msg["terminal"] = terminal
	return encode_message(msg)


func _encode_binary_result(kind: int, states: PackedFloat32Array, status: PackedByteArray, n: int,
		w: int, terminal_index: PackedInt32Array, terminal_states: PackedFloat32Array,
		images: PackedByteArray, terminal_images: PackedByteArray) -> PackedByteArray:
	var n_terminal: int = terminal_index.size()
	var pad: int = (4 - n % 4) % 4
	var body_len: int = (Protocol.BINARY_HEADER_BYTES + n * w * 4 + n + pad + n_terminal * 4
			+ n_terminal * w * 4 + images.size() + terminal_images.size())
	# resize() keeps the allocation while the size stays in the same power-of-two bucket.
	_out.resize(4 + body_len)
	_out.seek(0)
	_out.put_u32(body_len)
	_out.put_u8(Protocol.BINARY_MAGIC)
	_out.put_u8(kind)
	_out.put_u16(0)
	_out.put_u32(n)
	_out.put_u32(w)
	_out.put_u32(n_terminal)
	_out.put_data(states.to_byte_array())
	_out.put_data(status)
	for k: int in pad:
		_out.put_u8(0)
	if n_terminal > 0:
		_out.put_data(terminal_index.to_byte_array())
		_out.put_data(terminal_states.to_byte_array())
	if not images.is_empty():
		_out.put_data(images)
		_out.put_data(terminal_images)
	return _out.data_array


## A `render` reply (always binary): the header (magic, KIND_FRAMES, 0, n, width, height), then
## `pixels`, n frames of height rows of width RGB8 pixels.
func encode_frames(pixels: PackedByteArray, n: int, frame_width: int, frame_height: int) -> PackedByteArray:
	var header: PackedByteArray = PackedByteArray()
	header.resize(4 + Protocol.BINARY_HEADER_BYTES)
	header.encode_u32(0, Protocol.BINARY_HEADER_BYTES + pixels.size())
	header.encode_u8(4, Protocol.BINARY_MAGIC)
	header.encode_u8(5, Protocol.KIND_FRAMES)
	header.encode_u16(6, 0)
	header.encode_u32(8, n)
	header.encode_u32(12, frame_width)
	header.encode_u32(16, frame_height)
	header.append_array(pixels)
	return header


func _decode_binary(body: PackedByteArray) -> Decoded:
	if body.size() < Protocol.BINARY_HEADER_BYTES:
		return _fail(Protocol.ERROR_BAD_FRAME, "binary message of %d bytes is shorter than its 16-byte header" % body.size())
	var kind: int = body[1]
	if kind != Protocol.KIND_STEP:
		return _fail(Protocol.ERROR_BAD_MESSAGE, "binary kind %d is not a request (the client sends kind 1 = step)" % kind)
	rows = body.decode_u32(4)
	width = body.decode_u32(8)
	var payload: int = body.size() - Protocol.BINARY_HEADER_BYTES
	# Bound both factors first so the product cannot overflow (each is a u32).
	if (width > 0 and (rows > payload or width > payload)) or rows * width * 4 != payload:
		return _fail(Protocol.ERROR_BAD_MESSAGE, "binary step header says %d x %d floats but the payload has %d bytes" % [
			rows, width, payload])
	actions = body.to_float32_array()
	action_offset = HEADER_FLOATS
	return Decoded.BINARY_STEP


func _json_rows(flat: PackedFloat32Array, n: int, w: int) -> Array:
	var result: Array = []
	result.resize(n)
	for i: int in n:
		result[i] = Array(flat.slice(i * w, (i + 1) * w))
	return result


func _fail(code: String, text: String) -> Decoded:
	error_code = code
	error_message = text
	return Decoded.ERROR
