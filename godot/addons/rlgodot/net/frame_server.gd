extends RefCounted
## Serves TCP clients on 127.0.0.1 with length-prefixed frames (protocol v1), one at a time.
##
## Every frame is a u32 little-endian body length followed by the body. Waiting for the first
## byte of a request may block without limit inside the socket's poll() (a trainer may pause;
## an idle server costs ~0 % CPU), unless the caller passes a deadline (before hello). Once a
## frame has started, the rest of it must arrive within FRAME_TIMEOUT_MSEC, else read_status is
## TIMEOUT: a client that sends half a frame and goes silent never hangs the server.
## With spin_usec > 0 a read first busy-polls for that long: on a VM, waking a blocked process
## on another core costs 30-60 us, more than a whole step of a small scene; a process with a
## core of its own answers sooner by spinning briefly, then blocks as before.

enum ReadStatus { OK, CLOSED, TOO_LARGE, TIMEOUT }

const Protocol := preload("res://addons/rlgodot/net/protocol.gd")

const HOST: String = "127.0.0.1"
const ACCEPT_POLL_MSEC: int = 5
## Deadline for the rest of a frame once its first byte arrived.
const FRAME_TIMEOUT_MSEC: int = Protocol.FRAME_TIMEOUT_SEC * 1000
## Sleep between checks while a deadline runs: starts short, doubles up to the maximum.
const MIN_WAIT_USEC: int = 20
const MAX_WAIT_USEC: int = 2000
## Deadline value meaning "wait for the first byte without limit".
const NO_DEADLINE: int = -1
## Sleep between checks of wait_for_request(): short, so a reply is not delayed much.
const REQUEST_POLL_USEC: int = 50

var max_frame_bytes: int = Protocol.DEFAULT_MAX_FRAME_BYTES
## Microseconds read_frame() busy-polls for the next header before blocking (0 = block at once).
var spin_usec: int = 0
## Status of the last read_frame() call.
var read_status: ReadStatus = ReadStatus.OK
## Body length announced by the last frame header (useful for frame_too_large messages).
var last_frame_length: int = 0
## Why the last read timed out (for the log line).
var timeout_reason: String = ""

var _server: TCPServer = TCPServer.new()
var _peer: StreamPeerTCP = null
## Bytes known to be readable without blocking (only this object consumes them).
var _available: int = 0


## Starts listening on 127.0.0.1:port (0 lets the OS pick a free port).
func listen(port: int) -> Error:
	return _server.listen(port, HOST)


func get_local_port() -> int:
	return _server.get_local_port()


## Waits up to timeout_sec for the next client, sleeping a few ms between polls. Keeps listening
## (a client refused before its hello is followed by the next one); stop_listening() ends that.
func wait_for_client(timeout_sec: float) -> bool:
	var deadline_msec: int = Time.get_ticks_msec() + int(timeout_sec * 1000.0)
	while not _server.is_connection_available():
		if Time.get_ticks_msec() >= deadline_msec or not _server.is_listening():
			_server.stop()
			return false
		OS.delay_msec(ACCEPT_POLL_MSEC)
	_peer = _server.take_connection()
	_peer.set_no_delay(true)
	_available = 0
	return true


## Takes the next waiting client without blocking; false when none is waiting (an attached
## game calls it once a frame, so the window never freezes while it waits for a trainer).
func accept_client() -> bool:
	if not _server.is_listening() or not _server.is_connection_available():
		return false
	_peer = _server.take_connection()
	_peer.set_no_delay(true)
	_available = 0
	return true


func is_listening() -> bool:
	return _server.is_listening()


## No further clients: called once a client completed its hello (one session at a time).
func stop_listening() -> void:
	_server.stop()


## Closes the current client's connection (the server may then wait for the next one).
func drop_client() -> void:
	if _peer != null:
		_peer.disconnect_from_host()
	_peer = null
	_available = 0


func is_open() -> bool:
	return _peer != null and _peer.get_status() == StreamPeerTCP.STATUS_CONNECTED


## True when the client has closed its side or the connection broke (a cheap non-blocking check
## for long work such as a bench; it does not consume data).
func client_gone() -> bool:
	if _peer == null:
		return true
	_peer.poll()
	return _peer.get_status() != StreamPeerTCP.STATUS_CONNECTED


## True when the first bytes of a request have arrived or the client has gone, so the next
## read_frame() returns at once (a frame, or CLOSED). Never blocks.
func request_waiting() -> bool:
	if _available > 0 or _peer == null:
		return true
	_available = _peer.get_available_bytes()
	if _available > 0:
		return true
	_peer.poll()
	return _peer.get_status() != StreamPeerTCP.STATUS_CONNECTED


## request_waiting(), checked every poll_usec for up to timeout_usec (0: once). Sleeps
## between checks: an attached game shares the machine with its trainer.
func wait_for_request(timeout_usec: int, poll_usec: int = REQUEST_POLL_USEC) -> bool:
	var deadline: int = Time.get_ticks_usec() + timeout_usec
	while not request_waiting():
		if Time.get_ticks_usec() >= deadline:
			return false
		OS.delay_usec(poll_usec)
	return true


## Reads one whole frame and returns its body. Check read_status: CLOSED when the peer went
## away, TOO_LARGE when the header announced more than max_frame_bytes (the body is not read;
## the stream cannot be resynchronised), TIMEOUT when a deadline passed (timeout_reason says
## which). first_byte_deadline_msec (a Time.get_ticks_msec() value) bounds the whole frame;
## NO_DEADLINE blocks until the first byte comes, then allows FRAME_TIMEOUT_MSEC for the rest.
func read_frame(first_byte_deadline_msec: int) -> PackedByteArray:
	last_frame_length = 0
	if not is_open():
		read_status = ReadStatus.CLOSED
		return PackedByteArray()
	if spin_usec > 0:
		_spin_until_readable()
	var length: int = 0
	if _available < 4 and first_byte_deadline_msec == NO_DEADLINE:
		# Idle between requests is allowed: block for the first byte, then the frame has started.
		var first: Array = _peer.get_data(1)
		if first[0] != OK:
			read_status = ReadStatus.CLOSED
			return PackedByteArray()
		var first_bytes: PackedByteArray = first[1]
		_available = _peer.get_available_bytes()
		var rest: PackedByteArray = _read_exact(3, Time.get_ticks_msec() + FRAME_TIMEOUT_MSEC,
				"the rest of a frame header")
		if read_status != ReadStatus.OK:
			return PackedByteArray()
		length = first_bytes[0] | (rest[0] << 8) | (rest[1] << 16) | (rest[2] << 24)
	else:
		var deadline: int = first_byte_deadline_msec
		if deadline == NO_DEADLINE:
			deadline = Time.get_ticks_msec() + FRAME_TIMEOUT_MSEC
		var head: PackedByteArray = _read_exact(4, deadline, "a request")
		if read_status != ReadStatus.OK:
			return PackedByteArray()
		length = head.decode_u32(0)
	last_frame_length = length
	if length > max_frame_bytes:
		read_status = ReadStatus.TOO_LARGE
		return PackedByteArray()
	if length == 0:
		return PackedByteArray()
	var body_deadline: int = Time.get_ticks_msec() + FRAME_TIMEOUT_MSEC
	if first_byte_deadline_msec != NO_DEADLINE:
		body_deadline = mini(body_deadline, first_byte_deadline_msec)
	return _read_exact(length, body_deadline, "the %d-byte body of a frame" % length)


## Reads exactly n bytes, waiting (without blocking past deadline_msec) for them to arrive.
## Sets read_status; returns an empty array unless OK. The usual case (all n bytes already
## there) is one get_data(); otherwise what arrives is taken as it comes, so that a client that
## closes after part of a frame is noticed at once (Godot sees the close only once nothing is
## left unread).
func _read_exact(n: int, deadline_msec: int, what: String) -> PackedByteArray:
	if _available < n:
		_available = _peer.get_available_bytes()
	if _available < n:
		return _read_slowly(n, deadline_msec, what)
	var got: Array = _peer.get_data(n)
	if got[0] != OK:
		read_status = ReadStatus.CLOSED
		return PackedByteArray()
	_available -= n
	read_status = ReadStatus.OK
	return got[1]


func _read_slowly(n: int, deadline_msec: int, what: String) -> PackedByteArray:
	var data: PackedByteArray = PackedByteArray()
	var wait_usec: int = MIN_WAIT_USEC
	while data.size() < n:
		var ready: int = mini(_peer.get_available_bytes(), n - data.size())
		if ready > 0:
			var got: Array = _peer.get_data(ready)
			if got[0] != OK:
				read_status = ReadStatus.CLOSED
				return PackedByteArray()
			var chunk: PackedByteArray = got[1]
			data.append_array(chunk)
			wait_usec = MIN_WAIT_USEC
			continue
		_peer.poll()
		if _peer.get_status() != StreamPeerTCP.STATUS_CONNECTED:
			read_status = ReadStatus.CLOSED
			return PackedByteArray()
		if Time.get_ticks_msec() >= deadline_msec:
			read_status = ReadStatus.TIMEOUT
			timeout_reason = "%s did not arrive in time (%d of %d bytes came)" % [what, data.size(), n]
			return PackedByteArray()
		OS.delay_usec(wait_usec)
		wait_usec = mini(wait_usec * 2, MAX_WAIT_USEC)
	_available = 0
	read_status = ReadStatus.OK
	return data


func _spin_until_readable() -> void:
	var until_usec: int = Time.get_ticks_usec() + spin_usec
	_available = _peer.get_available_bytes()
	while _available < 4 and Time.get_ticks_usec() < until_usec:
		_available = _peer.get_available_bytes()


## Sends bytes that already carry their 4-byte length prefix (see codec.gd). Returns false when
## the peer is gone.
func send_raw(frame: PackedByteArray) -> bool:
	if not is_open():
		return false
	return _peer.put_data(frame) == OK


func close() -> void:
	drop_client()
	_server.stop()
