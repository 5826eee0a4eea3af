extends RefCounted
## The course of one episode as the look sees it: the ground heights, the oil patches and the
## finish line, in metres (y up), with conversions to the World node's pixels (y down).
##
## A copy made at reset for the look only; the simulation never reads it.

## Ground height (m) of point i, at x = i * dx - start_back.
var heights: PackedFloat32Array = PackedFloat32Array()
## Course x (m) of the first point.
var start_back: float = 0.0
## Metres between points.
var dx: float = 0.5
## Start and end x (m) of each oil patch.
var oil_start: PackedFloat32Array = PackedFloat32Array()
var oil_end: PackedFloat32Array = PackedFloat32Array()
## Finish line x (m).
var finish: float = 0.0
## Pixels per metre.
var ppm: float = 100.0


## Course x (m) of the first and the last point.
func first_x() -> float:
	return -start_back


func last_x() -> float:
	return float(heights.size() - 1) * dx - start_back


## Ground height (m) at x (m), linear between the points, flat beyond both ends.
func height_at(x: float) -> float:
	if heights.size() < 2:
		return 0.0
	var f: float = clampf((x + start_back) / dx, 0.0, float(heights.size() - 1))
	var i: int = mini(int(f), heights.size() - 2)
	return lerpf(heights[i], heights[i + 1], f - float(i))


## Rise over run of the ground at x (m).
func slope_at(x: float) -> float:
	return (height_at(x + 0.25) - height_at(x - 0.25)) / 0.5


## True when x (m) lies on an oil patch.
func on_oil(x: float) -> bool:
	for p: int in oil_start.size():
		if x >= oil_start[p] and x <= oil_end[p]:
			return true
	return false


## The ground point at x (m) in pixels.
func ground_px(x: float) -> Vector2:
	return Vector2(x * ppm, -height_at(x) * ppm)


## Metres (y up) -> pixels (y down).
func to_px(m: Vector2) -> Vector2:
	return Vector2(m.x * ppm, -m.y * ppm)


## Pixels (y down) -> metres (y up).
func to_m(px: Vector2) -> Vector2:
	return Vector2(px.x / ppm, -px.y / ppm)
