extends Node3D
## What a watched parking instance shows, built once by build() when the instance is watched
## and never when it is headless: the car park's dressing, the player's hatchback following
## the VehicleBody3D (wheels from its VehicleWheel3D transforms: steering, spin, suspension),
## a car model on each parked-car body (style, colour and direction drawn per episode from
## the episode seed, sized to the body's collision box), the chase camera and, for the first
## instance, the shared sky and sun.
##
## The simulation never reads anything here, and nothing here consumes the agent's `rng`: the
## look of an episode comes from its own generator seeded with the episode seed.

const CarModel := preload("res://envs/parking3d/look/car_model.gd")
const CarParkDressing := preload("res://envs/parking3d/look/car_park_dressing.gd")
const ChaseCamera := preload("res://envs/parking3d/look/chase_camera.gd")
const Daylight := preload("res://envs/parking3d/look/daylight.gd")

const PLAYER_COLOR: Color = Color(0.93, 0.36, 0.08)
## Parked cars' paints: everyday colours, none of them the player's orange.
const PARKED_COLORS: PackedColorArray = [
	Color(0.92, 0.92, 0.9), Color(0.7, 0.72, 0.74), Color(0.12, 0.12, 0.13),
	Color(0.1, 0.2, 0.45), Color(0.45, 0.07, 0.08), Color(0.15, 0.32, 0.22),
	Color(0.35, 0.55, 0.75), Color(0.72, 0.66, 0.52), Color(0.32, 0.33, 0.35)]
## Parked-car styles by weight: hatchbacks, saloons, vans / SUVs.
const STYLE_WEIGHTS: PackedFloat32Array = [0.4, 0.35, 0.25]
## Per style (CarModel.Style order): wheelbase, wheel radius (m), roof height (m).
const PARKED_WHEELBASE: PackedFloat32Array = [2.6, 2.65, 2.7]
const PARKED_WHEEL_RADIUS: PackedFloat32Array = [0.33, 0.33, 0.35]
const PARKED_WHEEL_WIDTH: float = 0.21
## Mixed into the episode seed so the look's stream differs from the agent's.
const LOOK_SEED_SALT: int = 0x5EED1007

var _dressing: CarParkDressing = null
var _camera: ChaseCamera = null
var _player: CarModel = CarModel.new()
var _parked: Array[StaticBody3D] = []
var _parked_models: Array[CarModel] = []
var _paints: Array[StandardMaterial3D] = []
var _look_rng: RandomNumberGenerator = RandomNumberGenerator.new()
var _wheels: Array[VehicleWheel3D] = []
var _wheels_of: int = 0
## The body size the player's hatchback was last built for.
var _player_size: Vector3 = Vector3.ZERO


## Builds the look of one instance, in the lot's frame (this node is a child of the lot):
## `lot_half` the walls' centre lines (x, z), `walls` the wall bodies, the bays' centres and
## size (width, depth), `parked` the parked-car bodies (one per bay, visible when occupied),
## `car` the player's car, `cell` the ground square each instance owns; `with_daylight` for
## the one instance that adds the shared sky and sun.
func build(lot_half: Vector2, walls: StaticBody3D, bay_centers: PackedVector3Array,
		bay_size: Vector2, parked: Array[StaticBody3D], car: VehicleBody3D, cell: float,
		with_daylight: bool) -> void:
	if with_daylight:
		add_child(Daylight.new())
	_dressing = CarParkDressing.new()
	add_child(_dressing)
	_dressing.build(lot_half, _boxes_of(walls), bay_centers, bay_size, cell)
	_player.name = "PlayerCar"
	add_child(_player)
	_configure_player(car)
	_player.set_paint(CarModel.paint_material(PLAYER_COLOR))
	for color: Color in PARKED_COLORS:
		_paints.append(CarModel.paint_material(color))
	_parked = parked
	for body: StaticBody3D in parked:
		var model: CarModel = CarModel.new()
		body.add_child(model)
		_parked_models.append(model)
	_camera = ChaseCamera.new()
	add_child(_camera)
	_camera.fixed_obstacles = _dressing.obstacles()
	_camera.current = true


## A new episode: target bay highlighted; each occupied bay's car gets a style, a colour and
## a direction from the episode seed.
func show_episode(target_bay: int, seed_value: int) -> void:
	_dressing.highlight_bay(target_bay)
	_look_rng.seed = seed_value ^ LOOK_SEED_SALT
	var boxes: Array[AABB] = []
	for i: int in _parked.size():
		var body: StaticBody3D = _parked[i]
		# Drawn for every bay, occupied or not: a bay's look depends on the seed and the bay only.
		var style: CarModel.Style = _pick_style(_look_rng.randf())
		var paint: StandardMaterial3D = _paints[_look_rng.randi_range(0, _paints.size() - 1)]
		var reversed: bool = _look_rng.randf() < 0.5
		if not body.visible:
			continue
		var size: Vector3 = _box_size(body)
		var model: CarModel = _parked_models[i]
		model.configure(style, size.z, size.x, PARKED_WHEELBASE[style], size.x - PARKED_WHEEL_WIDTH,
				PARKED_WHEEL_RADIUS[style], PARKED_WHEEL_WIDTH, -size.y * 0.5)
		model.set_paint(paint)
		model.rotation = Vector3(0.0, PI if reversed else 0.0, 0.0)
		var ground: Vector3 = body.position - Vector3(size.x, size.y, size.z) * 0.5
		boxes.append(AABB(ground, Vector3(size.x, CarModel.roof_height(style), size.z)))
	_camera.episode_obstacles = boxes


## Brings the player's car model and the camera up to `car`; `delta` simulated seconds since
## the last call (0 = snap).
func sync(car: VehicleBody3D, delta: float) -> void:
	if car.get_instance_id() != _wheels_of:
		# The agent renews its car body every episode (options may have resized it).
		_wheels_of = car.get_instance_id()
		if _box_size(car) != _player_size:
			_configure_player(car)
		_wheels.clear()
		for child: Node in car.get_children():
			var wheel: VehicleWheel3D = child as VehicleWheel3D
			if wheel != null:
				_wheels.append(wheel)
	_player.transform = car.transform
	for i: int in mini(_wheels.size(), 4):
		_player.set_wheel_transform(i, _wheels[i].transform)
	_player.set_braking(car.brake > 0.0)
	_camera.follow(car.transform, delta)


## Sizes the player's hatchback from the car's physics: its box shape's length and width, the
## wheels' positions, radius and suspension rest length (the ground below them).
func _configure_player(car: VehicleBody3D) -> void:
	var size: Vector3 = _box_size(car)
	_player_size = size
	var wheels: Array[VehicleWheel3D] = []
	for child: Node in car.get_children():
		var wheel: VehicleWheel3D = child as VehicleWheel3D
		if wheel != null:
			wheels.append(wheel)
	var first: VehicleWheel3D = wheels[0]
	var track: float = 2.0 * absf(first.position.x)
	var front: float = -INF
	var rear: float = INF
	for wheel: VehicleWheel3D in wheels:
		front = maxf(front, wheel.position.z)
		rear = minf(rear, wheel.position.z)
	var ground: float = first.position.y - first.wheel_rest_length - first.wheel_radius
	_player.configure(CarModel.Style.HATCHBACK, size.z, size.x, front - rear, track,
			first.wheel_radius, size.x - track, ground)


func _pick_style(draw: float) -> CarModel.Style:
	var total: float = 0.0
	for style: int in STYLE_WEIGHTS.size():
		total += STYLE_WEIGHTS[style]
		if draw < total:
			return style as CarModel.Style
	return CarModel.Style.VAN


## The size of the first box shape of `body`.
static func _box_size(body: CollisionObject3D) -> Vector3:
	for child: Node in body.get_children():
		var shape_node: CollisionShape3D = child as CollisionShape3D
		if shape_node != null and shape_node.shape is BoxShape3D:
			return (shape_node.shape as BoxShape3D).size
	return Vector3.ONE


## The box shapes of `body` as boxes in its parent's frame.
static func _boxes_of(body: CollisionObject3D) -> Array[AABB]:
	var boxes: Array[AABB] = []
	for child: Node in body.get_children():
		var shape_node: CollisionShape3D = child as CollisionShape3D
		if shape_node != null and shape_node.shape is BoxShape3D:
			var size: Vector3 = (shape_node.shape as BoxShape3D).size
			boxes.append(body.transform * (shape_node.transform * AABB(-size * 0.5, size)))
	return boxes
