extends RefCounted
## Serves one TCP client on 127.0.0.1 with length-prefixed frames (protocol v1).
##
## Every frame is a u32 little-endian body length followed by the body. Reads block inside the
## socket's poll(), so an idle server costs ~0 % CPU while the client thinks. With spin_usec > 0
## a read first busy-polls for that long: on a VM, waking a blocked process on another core
## costs 30-60 us, more than a whole step of a small scene; a process with a core of its own
## (pinned, one core left for Python) answers sooner by spinning briefly, then blocks as before.

enum ReadStatus { OK, CLOSED, TOO_LARGE }

const Protocol := preload("res://addons/rlgodot/net/protocol.gd")

const HOST: String = "127.0.0.1"
const ACCEPT_POLL_MSEC: int = 5

var max_frame_bytes: int = Protocol.DEFAULT_MAX_FRAME_BYTES
## Microseconds read_frame() busy-polls for the next header before blocking (0 = block at once).
var spin_usec: int = 0
## Status of the last read_frame() call.
var read_status: ReadStatus = ReadStatus.OK
## Body length announced by the last frame header (useful for frame_too_large messages).
var last_frame_length: int = 0

var _server: TCPServer = TCPServer.new()
var _peer: StreamPeerTCP = null


## Starts listening on 127.0.0.1:port (0 lets the OS pick a free port).
func listen(port: int) -> Error:
	return _server.listen(port, HOST)


func get_local_port() -> int:
	return _server.get_local_port()


## Waits up to timeout_sec for one client, sleeping a few ms between polls. Stops listening
## afterwards either way: exactly one connection is served.
func wait_for_client(timeout_sec: float) -> bool:
	var deadline_msec: int = Time.get_ticks_msec() + int(timeout_sec * 1000.0)
	while not _server.is_connection_available():
		if Time.get_ticks_msec() >= deadline_msec:
			_server.stop()
			return false
		OS.delay_msec(ACCEPT_POLL_MSEC)
	_peer = _server.take_connection()
	_server.stop()
	_peer.set_no_delay(true)
	return true


func is_open() -> bool:
	return _peer != null and _peer.get_status() == StreamPeerTCP.STATUS_CONNECTED


## Blocks until one whole frame arrives and returns its body. Check read_status: CLOSED when
## the peer went away, TOO_LARGE when the header announced more than max_frame_bytes (the body
## is not read; the stream cannot be resynchronised).
func read_frame() -> PackedByteArray:
	last_frame_length = 0
	if not is_open():
		read_status = ReadStatus.CLOSED
		return PackedByteArray()
	if spin_usec > 0:
		_spin_until_readable()
	var head: Array = _peer.get_data(4)
	if head[0] != OK:
		read_status = ReadStatus.CLOSED
		return PackedByteArray()
	var head_bytes: PackedByteArray = head[1]
	var length: int = head_bytes.decode_u32(0)
	last_frame_length = length
	if length > max_frame_bytes:
		read_status = ReadStatus.TOO_LARGE
		return PackedByteArray()
	if length == 0:
		read_status = ReadStatus.OK
		return PackedByteArray()
	var body: Array = _peer.get_data(length)
	if body[0] != OK:
		read_status = ReadStatus.CLOSED
		return PackedByteArray()
	read_status = ReadStatus.OK
	return body[1]


func _spin_until_readable() -> void:
	var until_usec: int = Time.get_ticks_usec() + spin_usec
	while _peer.get_available_bytes() < 4 and Time.get_ticks_usec() < until_usec:
		pass


## Sends bytes that already carry their 4-byte length prefix (see codec.gd). Returns false when
## the peer is gone.
func send_raw(frame: PackedByteArray) -> bool:
	if not is_open():
		return false
	return _peer.put_data(frame) == OK


func close() -> void:
	if _peer != null:
		_peer.disconnect_from_host()
	_server.stop()
