extends Node3D
## Sky, sun and air of the world every watched instance shares: a procedural sky, a low
## late-afternoon sun with shadows, ambient light from the sky and a light haze that hides
## the other instances' car parks in the distance. Add it once (instance 0): a second sun or
## WorldEnvironment in the same World3D would double the light or be ignored.
##
## Everything here runs on the gl_compatibility renderer (Mesa llvmpipe under Xvfb):
## directional shadows, sky, fog and tonemapping are part of it; no SSAO, SDFGI or glow.

const SUN_ELEVATION_DEG: float = 38.0
const SUN_AZIMUTH_DEG: float = -35.0


func _ready() -> void:
	var sky_material: ProceduralSkyMaterial = ProceduralSkyMaterial.new()
	sky_material.sky_top_color = Color(0.3, 0.48, 0.78)
	sky_material.sky_horizon_color = Color(0.78, 0.8, 0.84)
	sky_material.ground_horizon_color = Color(0.66, 0.7, 0.66)
	sky_material.ground_bottom_color = Color(0.4, 0.46, 0.34)
	sky_material.sun_angle_max = 20.0
	var sky: Sky = Sky.new()
	sky.sky_material = sky_material
	var environment: Environment = Environment.new()
	environment.background_mode = Environment.BG_SKY
	environment.sky = sky
	environment.ambient_light_source = Environment.AMBIENT_SOURCE_SKY
	environment.ambient_light_energy = 0.55
	environment.reflected_light_source = Environment.REFLECTION_SOURCE_SKY
	environment.tonemap_mode = Environment.TONE_MAPPER_FILMIC
	environment.tonemap_exposure = 1.0
	environment.fog_enabled = true
	environment.fog_light_color = Color(0.74, 0.78, 0.8)
	environment.fog_density = 0.006
	environment.fog_sky_affect = 0.0
	var world: WorldEnvironment = WorldEnvironment.new()
	world.environment = environment
	add_child(world)
	var sun: DirectionalLight3D = DirectionalLight3D.new()
	sun.light_color = Color(1.0, 0.93, 0.82)
	sun.light_energy = 1.05
	sun.shadow_enabled = true
	sun.shadow_blur = 1.5
	sun.directional_shadow_mode = DirectionalLight3D.SHADOW_PARALLEL_2_SPLITS
	sun.directional_shadow_max_distance = 45.0
	sun.rotation = Vector3(deg_to_rad(-SUN_ELEVATION_DEG), deg_to_rad(SUN_AZIMUTH_DEG), 0.0)
	add_child(sun)
