extends SceneTree
## Where a ray's time goes (benchmarks/ray_sensors.py runs this headless in the bench project):
## PhysicsDirectSpaceState3D.intersect_ray() alone against RaySensor3D.sense(), with every ray
## hitting a floor (the engine fills a Dictionary per hit) or every ray missing (it returns an
## empty one). Prints one line: microseconds per ray of each, over CALLS calls of RAYS rays.

const CALLS: int = 5000
const RAYS: int = 32


func _init() -> void:
	_run.call_deferred()


func _run() -> void:
	var holder: Node3D = Node3D.new()
	root.add_child(holder)
	var floor_body: StaticBody3D = StaticBody3D.new()
	var shape: CollisionShape3D = CollisionShape3D.new()
	var box: BoxShape3D = BoxShape3D.new()
	box.size = Vector3(1000.0, 2.0, 1000.0)
	shape.shape = box
	shape.position = Vector3(0.0, -1.5, 0.0)  # its top 0.5 m below the sensor
	floor_body.add_child(shape)
	holder.add_child(floor_body)
	var sensor: RaySensor3D = RaySensor3D.new()
	sensor.ray_count = RAYS
	sensor.spread_degrees = 10.0
	sensor.length = 6.0
	holder.add_child(sensor)
	await physics_frame
	await physics_frame
	var space: PhysicsDirectSpaceState3D = sensor.get_world_3d().direct_space_state
	var query: PhysicsRayQueryParameters3D = PhysicsRayQueryParameters3D.new()
	var results: Array[float] = []
	for target: Vector3 in [Vector3(0.0, -6.0, 0.0), Vector3(0.0, 6.0, 0.0)]:  # hit, miss
		var start: int = Time.get_ticks_usec()
		for k: int in CALLS:
			for i: int in RAYS:
				query.to = target
				var _hit: Dictionary = space.intersect_ray(query)
		results.append(float(Time.get_ticks_usec() - start) / (CALLS * RAYS))
	for pitch: float in [-PI / 2.0, PI / 2.0]:  # forward axis down (all hit), up (all miss)
		sensor.rotation = Vector3(pitch, 0.0, 0.0)
		var start: int = Time.get_ticks_usec()
		for k: int in CALLS:
			sensor.sense()
		results.append(float(Time.get_ticks_usec() - start) / (CALLS * RAYS))
	print("rlgodot ray_cost_split: intersect_ray_hit_us %.3f intersect_ray_miss_us %.3f sense_hit_us %.3f sense_miss_us %.3f" % results)
	quit()
