extends Camera2D
## Follows the bike smoothly and looks ahead: the bike sits left of centre, more so the faster
## it rides forward, and the view leans towards the ground ahead (down a descent, up a climb),
## so the course ahead stays in view.
##
## Moved by follow() from the look's sync (simulated time), never by the engine's own smoothing
## (which runs on frames, not on simulated time: offscreen captures would jump).

## Metres of course across the view, whatever its size in pixels.
const VIEW_WIDTH_M: float = 16.0
## The bike's place at rest: metres behind and below the view's centre.
const BASE_LEAD: Vector2 = Vector2(3.0, 1.0)
## Metres ahead of the bike where the ground pulls the view, how strongly (0..1), and the
## height above that ground the view then aims at (m).
const AHEAD: float = 6.0
const AHEAD_SHARE: float = 0.4
const AHEAD_LIFT: float = 2.0
## Seconds of forward speed added to the lead, and its bounds (m).
const LEAD_SECONDS: float = 0.35
const LEAD_MIN: float = -2.0
const LEAD_MAX: float = 3.5
## How fast the view catches up, 1/s (x, y): larger is stiffer.
const CATCH_UP: Vector2 = Vector2(3.0, 2.2)
## The bike never comes closer than this to the view's edges (share of the view's size).
const EDGE_MARGIN: float = 0.12

## Pixels per metre of the World node.
var ppm: float = 100.0

var _lead: float = 0.0


func _init() -> void:
	position_smoothing_enabled = false
	ignore_rotation = true


## Metres across the view.
func view_width_m() -> float:
	return VIEW_WIDTH_M


## The view's size in metres for a viewport `view_size` pixels large.
func view_size_m(view_size: Vector2) -> Vector2:
	return Vector2(VIEW_WIDTH_M, VIEW_WIDTH_M * view_size.y / maxf(view_size.x, 1.0))


## Moves towards the view of `bike` (pixels) riding at `velocity` (pixels/s) with the ground
## AHEAD metres in front at `ahead_ground` (pixels); `delta` simulated seconds since the last
## call (0: snap to it).
func follow(delta: float, bike: Vector2, velocity: Vector2, ahead_ground: Vector2,
		view_size: Vector2) -> void:
	zoom = Vector2.ONE * view_size.x / (VIEW_WIDTH_M * ppm)
	var target_lead: float = clampf(velocity.x / ppm * LEAD_SECONDS, LEAD_MIN, LEAD_MAX)
	_lead = target_lead if delta <= 0.0 else lerpf(_lead, target_lead, 1.0 - exp(-1.5 * delta))
	var wanted: Vector2 = bike + Vector2(BASE_LEAD.x + _lead, -BASE_LEAD.y) * ppm
	wanted.y = lerpf(wanted.y, ahead_ground.y - AHEAD_LIFT * ppm, AHEAD_SHARE)
	if delta <= 0.0:
		position = wanted
		return
	var next: Vector2 = Vector2(
			lerpf(position.x, wanted.x, 1.0 - exp(-CATCH_UP.x * delta)),
			lerpf(position.y, wanted.y, 1.0 - exp(-CATCH_UP.y * delta)))
	# Keep the bike well inside the view however fast it goes.
	var half: Vector2 = view_size_m(view_size) * ppm * (0.5 - EDGE_MARGIN)
	next.x = clampf(next.x, bike.x - half.x, bike.x + half.x)
	next.y = clampf(next.y, bike.y - half.y, bike.y + half.y)
	position = next
