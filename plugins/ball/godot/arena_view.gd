extends Node2D
## Draws one ball arena: floor, walls, target and ball (pixels; 50 px per metre).
##
## Hidden and never drawn when unwatched; a watched agent's sync_view() asks for each redraw.
## With sensor_look (ball_pixels.tscn) it is drawn for a camera sensor riding on the ball: a
## black floor without grid lines, the walls and what lies beyond them dark grey, the target a
## filled mid-grey disc and the ball white, so that in a small grayscale frame the shapes differ
## by brightness alone.

const FLOOR_COLOR: Color = Color(0.13, 0.15, 0.18)
const GRID_COLOR: Color = Color(0.19, 0.21, 0.25)
const WALL_COLOR: Color = Color(0.55, 0.58, 0.64)
const TARGET_COLOR: Color = Color(0.25, 0.8, 0.45, 0.35)
const TARGET_RING_COLOR: Color = Color(0.35, 0.95, 0.55)
const BALL_COLOR: Color = Color(0.95, 0.55, 0.2)
const HALF_SIZE_PX: float = 250.0
const WALL_PX: float = 25.0
const GRID_STEP_PX: float = 50.0
const BALL_RADIUS_PX: float = 12.5
const SENSOR_FLOOR_COLOR: Color = Color.BLACK
const SENSOR_SURROUND_COLOR: Color = Color(0.25, 0.25, 0.25)
## How far the dark grey reaches past the floor's edges: farther than the ball's camera sees
## (450 px from the ball), short of the next watched arena (1800 px between centres).
const SENSOR_SURROUND_PX: float = 500.0
const SENSOR_TARGET_COLOR: Color = Color(0.5, 0.5, 0.5)
const SENSOR_BALL_COLOR: Color = Color.WHITE

## Drawn for a camera sensor's eyes (see above) instead of for people.
@export var sensor_look: bool = false

var target_position: Vector2 = Vector2.ZERO
var target_radius: float = 25.0

@onready var _ball: Node2D = $Ball as Node2D


func _draw() -> void:
	var inner: Rect2 = Rect2(-HALF_SIZE_PX, -HALF_SIZE_PX, 2.0 * HALF_SIZE_PX, 2.0 * HALF_SIZE_PX)
	if sensor_look:
		draw_rect(inner.grow(SENSOR_SURROUND_PX), SENSOR_SURROUND_COLOR)
		draw_rect(inner, SENSOR_FLOOR_COLOR)
		draw_circle(target_position, target_radius, SENSOR_TARGET_COLOR)
		draw_circle(_ball.position, BALL_RADIUS_PX, SENSOR_BALL_COLOR)
		return
	draw_rect(inner.grow(WALL_PX), WALL_COLOR)
	draw_rect(inner, FLOOR_COLOR)
	var x: float = -HALF_SIZE_PX + GRID_STEP_PX
	while x < HALF_SIZE_PX:
		draw_line(Vector2(x, -HALF_SIZE_PX), Vector2(x, HALF_SIZE_PX), GRID_COLOR)
		draw_line(Vector2(-HALF_SIZE_PX, x), Vector2(HALF_SIZE_PX, x), GRID_COLOR)
		x += GRID_STEP_PX
	draw_circle(target_position, target_radius, TARGET_COLOR)
	draw_arc(target_position, target_radius, 0.0, TAU, 48, TARGET_RING_COLOR, 2.0, true)
	draw_circle(_ball.position, BALL_RADIUS_PX, BALL_COLOR)
	draw_circle(_ball.position + Vector2(-3.5, -3.5), BALL_RADIUS_PX * 0.35, BALL_COLOR.lightened(0.4))
