extends RefCounted
## Collects the script errors Godot reports while a request is handled (filled by
## script_error_logger.gd from any thread; read by the protocol server on its own thread).
## `count` is read without the lock on the hot path: a stale 0 only delays the report to the
## check at the end of the request, which happens after the work that raised it.

## Most errors kept per request (the rest are only counted).
const MAX_KEPT: int = 8

var count: int = 0
var _kept: PackedStringArray = PackedStringArray()
var _mutex: Mutex = Mutex.new()


func add(text: String) -> void:
	_mutex.lock()
	count += 1
	if _kept.size() < MAX_KEPT:
		_kept.append(text)
	_mutex.unlock()


## Returns the kept errors (plus a line counting the dropped ones) and forgets them all.
func take() -> PackedStringArray:
	_mutex.lock()
	var out: PackedStringArray = _kept
	if count > _kept.size():
		out.append("... and %d more" % (count - _kept.size()))
	_kept = PackedStringArray()
	count = 0
	_mutex.unlock()
	return out
