extends Node
## Shows the instances of a batch: each in its own SubViewport, with its own camera and HUD
## (AgentHud). All the SubViewports share one World2D and one World3D, so the instances still
## share one physics space, as in headless training.
##
## In a window (`offscreen` false) the views fill a grid and are drawn every frame. Offscreen
## the main render loop is off and nothing is drawn until a capture (prepare(), one paused frame,
## read()) draws the views it is asked for: watching costs nothing between captures.
##
## Call configure(), add the node to the tree, then host() each instance (before it enters the
## tree: its _enter_tree() and _ready() then see `watched`).

const AgentHud := preload("res://addons/rlgodot/sim/agent_hud.gd")
const Protocol := preload("res://addons/rlgodot/net/protocol.gd")

const OFFSCREEN_WINDOW_SIDE: int = 16
## Window, while lagging: the share of wall time frames may spend drawing.
const LAGGING_DRAW_SHARE: float = 0.25
## Weight of the newest frame in the running means of frame times.
const FRAME_SMOOTHING: float = 0.2
## Window, idle: the least time between drawn frames, usec.
const IDLE_DRAW_PERIOD_USEC: int = 500000

var offscreen: bool = false
## Size of each view (offscreen frames have exactly this size; in a window the grid decides).
var view_size: Vector2i = Vector2i(Protocol.DEFAULT_VIEW_WIDTH, Protocol.DEFAULT_VIEW_HEIGHT)
var show_hud: bool = true
## Window: true while the simulation runs behind its target speed (the driver sets it; flat
## out it stays true). Frames then spend at most LAGGING_DRAW_SHARE of the time drawing, so a
## slow renderer (Mesa in software) leaves the rest to the physics ticks to catch up.
var lagging: bool = false
## Window: true while nothing moves (the driver waits for a busy trainer with the tree paused):
## frames are then drawn at most every IDLE_DRAW_PERIOD_USEC, for the HUD and status text.
var idle: bool = false

var _world_2d: World2D = World2D.new()
var _world_3d: World3D = World3D.new()
var _grid: GridContainer = GridContainer.new()
var _viewports: Array[SubViewport] = []
var _agents: Array[RLAgent] = []
var _huds: Array[AgentHud] = []
var _skip_draws: bool = true
## When the last drawn frame began, and whether the previous frame drew.
var _drawn_usec: int = 0
var _previous_drew: bool = false
var _process_usec: int = 0
## Mean wall time from one frame's _process to the next after a drawn frame (its draw, then
## the next frame's physics) and after an undrawn one (physics only): their difference is
## the cost of a draw, swap included.
var _after_draw_usec: float = 0.0
var _after_skip_usec: float = 0.0
## Window: the frame time since the last drawn frame.
var _undrawn_delta: float = 0.0


func _init() -> void:
	name = "Viewer"
	process_mode = Node.PROCESS_MODE_ALWAYS


func configure(is_offscreen: bool, size: Vector2i, hud: bool) -> void:
	offscreen = is_offscreen
	view_size = size
	show_hud = hud


func _ready() -> void:
	if offscreen:
		RenderingServer.render_loop_enabled = false
		# force_draw() also draws the (empty) window: keep it tiny (1280x720 cost 60 % of an
		# 84x84 capture on Mesa's software renderer).
		get_window().size = Vector2i(OFFSCREEN_WINDOW_SIDE, OFFSCREEN_WINDOW_SIDE)
		set_process(false)
		return
	# Movie Maker (--write-movie) records every frame: skipping draws would repeat images.
	_skip_draws = not OS.has_feature("movie")
	_grid.set_anchors_preset(Control.PRESET_FULL_RECT)
	_grid.add_theme_constant_override("h_separation", 2)
	_grid.add_theme_constant_override("v_separation", 2)
	add_child(_grid)


func _exit_tree() -> void:
	# A skipped frame may have left the main render loop off; the game goes on drawing.
	RenderingServer.render_loop_enabled = true


func _process(delta: float) -> void:
	_undrawn_delta += delta
	var now: int = Time.get_ticks_usec()
	if _process_usec > 0:
		var span: float = float(now - _process_usec)
		if _previous_drew:
			_after_draw_usec = span if _after_draw_usec <= 0.0 else lerpf(_after_draw_usec, span, FRAME_SMOOTHING)
		else:
			_after_skip_usec = span if _after_skip_usec <= 0.0 else lerpf(_after_skip_usec, span, FRAME_SMOOTHING)
	_process_usec = now
	var draw_cost: float = maxf(_after_draw_usec - _after_skip_usec, 0.0)
	var wait: float = draw_cost * (1.0 - LAGGING_DRAW_SHARE) / LAGGING_DRAW_SHARE
	if idle:
		wait = maxf(wait, float(IDLE_DRAW_PERIOD_USEC))
	var draw: bool = not (_skip_draws and (lagging or idle)) or now - _drawn_usec >= wait
	RenderingServer.render_loop_enabled = draw
	_previous_drew = draw
	if not draw:
		return
	_drawn_usec = now
	for i: int in _agents.size():
		_agents[i].update_view_for_frame(_undrawn_delta)
		_huds[i].refresh()
	_undrawn_delta = 0.0


## Puts `agent` (not yet in the tree) into a view of its own and marks it watched.
func host(agent: RLAgent) -> void:
	agent.watched = true
	var viewport: SubViewport = SubViewport.new()
	viewport.world_2d = _world_2d
	viewport.world_3d = _world_3d
	viewport.size = view_size
	viewport.render_target_update_mode = (
			SubViewport.UPDATE_DISABLED if offscreen else SubViewport.UPDATE_ALWAYS)
	# The viewer runs while the tree is paused for a capture; the instances must not.
	viewport.process_mode = Node.PROCESS_MODE_PAUSABLE
	viewport.add_child(agent)
	var hud: AgentHud = AgentHud.new()
	hud.agent = agent
	hud.visible = show_hud
	hud.fit(view_size.y)
	viewport.add_child(hud)
	var index: int = _agents.size()
	agent.episode_ended.connect(_on_episode_ended.bind(index))
	_viewports.append(viewport)
	_agents.append(agent)
	_huds.append(hud)
	if offscreen:
		add_child(viewport)
		return
	var container: SubViewportContainer = SubViewportContainer.new()
	container.stretch = true
	container.size_flags_horizontal = Control.SIZE_EXPAND_FILL
	container.size_flags_vertical = Control.SIZE_EXPAND_FILL
	container.add_child(viewport)
	_grid.columns = ceili(sqrt(float(agent.n_instances)))
	_grid.add_child(container)


## Sets the caption line of instance i's HUD.
func set_caption(i: int, text: String) -> void:
	_huds[i].caption = text


## Flashes `text` on instance i's HUD.
func flash(i: int, text: String) -> void:
	_huds[i].flash(text)


## First half of a capture, at a decision point: brings the views of `indices` up to the current
## state (sync_view(), HUD) and, offscreen, marks them to be drawn once. The caller then lets
## one frame pass with the tree paused (nothing is simulated; deferred redraws and transform
## updates are flushed) and calls read().
func prepare(indices: PackedInt32Array) -> void:
	for i: int in indices:
		_agents[i].update_view()
		_huds[i].refresh()
		if offscreen:
			_viewports[i].render_target_update_mode = SubViewport.UPDATE_ONCE


## Second half of a capture, one frame after prepare(): draws (offscreen) and returns the pixels
## of `indices`, one RGB8 frame after the other, each frame_size() (rows top to bottom).
func read(indices: PackedInt32Array) -> PackedByteArray:
	if offscreen:
		RenderingServer.force_draw(false)
	var pixels: PackedByteArray = PackedByteArray()
	for i: int in indices:
		var image: Image = _viewports[i].get_texture().get_image()
		if image.get_format() != Image.FORMAT_RGB8:
			image.convert(Image.FORMAT_RGB8)
		pixels.append_array(image.get_data())
	return pixels


## The size of a captured frame (all views have the same size).
func frame_size() -> Vector2i:
	return _viewports[0].size if not _viewports.is_empty() else view_size


func _on_episode_ended(status: int, i: int) -> void:
	if status == Protocol.STATUS_TRUNCATED:
		_huds[i].flash("time limit")
		return
	var outcome: String = _agents[i].episode_outcome()
	_huds[i].flash(outcome if outcome != "" else "episode ended")
